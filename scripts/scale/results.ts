/** What one scale run records (also the shape of results.json, which `--render-from` reads back). */

/**
 * What a run measures: `change-feed`, the agent at its defaults (changes found through Cloud Map's
 * operations); `feed-denied` (`--feed-denied`), the same agent with ListOperations and GetOperation
 * denied by the mock, so it falls back to revision polling.
 */
export type ScaleMode =
  | "change-feed"
  | "feed-denied"
  /** `--reading NAME`: the change feed with the mock reading its unpublished details another way. */
  | "reading-instance"
  | "reading-not-found"
  | "reading-milliseconds"
  | "reading-foreign-churn"

export interface Registration {
  readonly service: string
  readonly instance: string
  /** The echo server's name (`<instance id>:<port>`), which its answers carry. */
  readonly backend: string
  /** ms from the window's start to the SDK call's return. */
  readonly atMs: number
  /** ms from the SDK call's return to the first answer through HAProxy from the new instance; undefined = miss. */
  readonly servedMs: number | undefined
  /** Probe requests sent, and their answers by status (`none`: no answer within the request timeout). */
  readonly requests: number
  readonly answers: Record<string, number>
  /** Set when the SDK call itself failed (then nothing was measured). */
  readonly error?: string
}

export interface SizeResult {
  readonly services: number
  readonly instances: number
  /** Spawn → `/readyz` 200. */
  readonly readyMs: number
  readonly window: {
    /** Wall time between the two CPU readings, and between the call-counter reset and read. */
    readonly seconds: number
    readonly callsSeconds: number
    /** utime + stime of the agent process (not its children) over the window. */
    readonly agentCpuSeconds: number
    readonly agentCpuPercent: number
    /** The agent's Cloud Map calls in the window by operation (the bench's own RegisterInstance calls left out). */
    readonly calls: Record<string, number>
    readonly callsTotal: number
    readonly callsPerMinute: Record<string, number>
    readonly callsPerMinuteTotal: number
    /** The bench's own calls the mock also counted (RegisterInstance). */
    readonly benchCalls: Record<string, number>
    /** Agent CPU ms per Cloud Map call in the window (undefined without calls). */
    readonly cpuMsPerCall: number | undefined
  }
  readonly agentRss: { readonly atReadyBytes: number | undefined; readonly endBytes: number | undefined; readonly maxBytes: number | undefined }
  /** Master + workers (the processes whose command line names the config directory, without `haproxy -c` validations). */
  readonly haproxyRss: { readonly endBytes: number | undefined; readonly maxBytes: number | undefined; readonly processesAtEnd: number }
  readonly rssSamples: ReadonlyArray<{ readonly seconds: number; readonly agentBytes: number; readonly haproxyBytes: number }>
  readonly registrations: ReadonlyArray<Registration>
  /** Warning and error lines of the agent's log (first ones), and where the whole log is. */
  readonly logProblems: ReadonlyArray<string>
  readonly logPath: string
  /**
   * The change feed as `/status` showed it (`active`, `unavailable (denied)`, `off`, `not in /status`):
   * before the window (`--feed-denied` only, where it is checked) and after the registrations.
   * Absent in results of runs that did not read it.
   */
  readonly changeFeed?: {
    readonly beforeWindow?: string
    readonly afterWindow?: string
    /** `/status` changeFeed.misses and updateDateUnit after the registrations (absent in older results). */
    readonly misses?: number
    readonly unit?: string
    /** `--reading milliseconds`: ready → `/status` showed the unit learnt (one throwaway registration). */
    readonly unitLearntMs?: number
    /** `--reading foreign-churn` (retained scan): ready → `/status` showed the resumed listing caught up. */
    readonly resumedMs?: number
  }
}

export interface RunMeta {
  readonly date: string
  readonly commit: string
  readonly command: string
  readonly windowSeconds: number
  readonly cpus: number
  readonly cpuModel: string
  readonly haproxy: string
  readonly bun: string
  readonly loadAtStart: string
  readonly loadAtEnd: string
  /** Other benches or test runs seen on the machine at the start. */
  readonly otherWork: ReadonlyArray<string>
  /** The defaults of the binary under test (`run --help`). */
  readonly agentDefaults: Record<string, string>
  readonly binary: string
  /** `--options`: the option set on every service and instance, as the report names it. Absent: none. */
  readonly options?: string
  /** `--operation-scan`: what the mock's ListOperations paged through (absent: retained). */
  readonly operationScan?: string
  /** What the run measured; absent (results written before the flag existed): `change-feed`. */
  readonly mode?: ScaleMode
}

/** The mode of a run, also of results written before it was recorded. */
export const modeOf = (meta: RunMeta): ScaleMode => meta.mode ?? "change-feed"

export interface ScaleRun {
  readonly meta: RunMeta
  readonly sizes: ReadonlyArray<SizeResult>
}
