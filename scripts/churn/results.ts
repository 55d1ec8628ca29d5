/** What one churn run records (also the shape of results.json, which `--render-from` reads back). */
import type { RequestStats } from "./load.ts"

export type ChangeKind = "add" | "move" | "remove" | "unhealthy" | "healthy" | "new service"

/** The order of the kinds in the report. */
export const kindsOrder: ReadonlyArray<ChangeKind> = ["add", "move", "remove", "unhealthy", "healthy", "new service"]

export interface ChangeResult {
  readonly kind: ChangeKind
  readonly service: string
  readonly instance: string
  readonly at: number
  /** ms from the SDK call's return to convergence; undefined = timed out. */
  readonly convergedMs: number | undefined
  /** move only: ms until the OLD port stopped receiving requests. */
  readonly oldStoppedMs?: number | undefined
}

export interface ChurnResult {
  readonly label: string
  readonly changes: ReadonlyArray<ChangeResult>
  readonly requests: RequestStats
  readonly loadConnects: number
  readonly reloadsBefore: number | undefined
  readonly reloadsAfter: number | undefined
  readonly oldWorkersAtEnd: number | undefined
  readonly details: Record<string, number>
  readonly detailsBefore: Record<string, number>
  readonly durationMs: number
  readonly logProblems: ReadonlyArray<string>
  readonly sdkErrors: number
  /** Requests our backends refused because they lacked this run's token (other proxies on the machine). */
  readonly foreignHits: number
  /** HTTP health checks the backends answered (`--options`; TCP checks are not seen). Absent in older results. */
  readonly healthChecks?: number
}

export interface CallsResult {
  readonly label: string
  readonly services: number
  readonly windowS: number
  readonly perMinute: Record<string, number>
  readonly totalPerMinute: number
  readonly readyAfterS: number
}
