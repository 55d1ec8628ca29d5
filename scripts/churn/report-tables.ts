/**
 * The churn benchmark's tables (printed, and part of the `## Churn` section): (a) against (b) under
 * churn, and the Cloud Map calls per minute at steady state; and the digest of failed requests.
 */
import { count, fmtS, fmtSummary, mdRow, secs } from "../bench/format.ts"
import { summarize, type Summary } from "../bench/stats.ts"
import { started } from "./context.ts"
import type { FailureEvent } from "./load.ts"
import { BASELINE_POLL_MS, STALE_MS } from "./params.ts"
import { type CallsResult, type ChangeKind, type ChurnResult, kindsOrder } from "./results.ts"

/** Convergence of the changes of these kinds. */
export const convergence = (r: ChurnResult, kinds: ReadonlyArray<ChangeKind>): Summary =>
  summarize(r.changes.filter((c) => kinds.includes(c.kind)).map((c) => c.convergedMs))

export const reloadDelta = (r: ChurnResult) =>
  r.reloadsBefore === undefined || r.reloadsAfter === undefined ? undefined : r.reloadsAfter - r.reloadsBefore

const metricDelta = (r: ChurnResult, prefix: string) => {
  const out: Array<string> = []
  for (const [k, v] of Object.entries(r.details)) {
    if (!k.startsWith(prefix)) continue
    const d = v - (r.detailsBefore[k] ?? 0)
    if (d > 0) out.push(`${k.slice(prefix.length).trim()}: ${d}`)
  }
  return out.join(", ") || "0"
}

const failures = (r: ChurnResult) => {
  const f = r.requests.failures
  const parts = Object.entries(f).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`)
  const src = Object.entries(r.requests.bySource).map(([k, v]) => `${k} ${v.failed}/${count(v.total)}`).join(", ")
  return `**${r.requests.failed}** of ${count(r.requests.total)} (${src})${parts.length > 0 ? `; ${parts.join(", ")}` : ""}`
}

export const instanceChanges = (r: ChurnResult) => r.changes.filter((c) => c.kind !== "new service").length
export const newServiceChanges = (r: ChurnResult) => r.changes.filter((c) => c.kind === "new service").length

/** Moves whose old port still got requests more than STALE_MS after the new port's first one. */
export const staleMoves = (r: ChurnResult) =>
  r.changes.filter((c) => c.kind === "move" && c.convergedMs !== undefined && c.oldStoppedMs !== undefined && c.oldStoppedMs - c.convergedMs > STALE_MS)

const staleMovesCell = (r: ChurnResult) => {
  const moves = r.changes.filter((c) => c.kind === "move").length
  const stale = staleMoves(r)
  return `${stale.length} of ${moves}${stale.length === 0 ? "" : ` (up to ${secs(Math.max(...stale.map((c) => c.oldStoppedMs! - c.convergedMs!)))} longer)`}`
}

const churnTable = (a: ChurnResult, b: ChurnResult): Array<string> => {
  const lines: Array<string> = []
  const row = (cells: ReadonlyArray<string>) => lines.push(mdRow(cells))
  const both = (label: string, f: (r: ChurnResult) => string) => row([label, f(a), f(b)])
  const kinds = (label: string, k: ReadonlyArray<ChangeKind>) => both(label, (r) => fmtSummary(convergence(r, k)))
  row(["", `(a) agent, default settings`, `(b) reload-every-change baseline (poll ${fmtS(BASELINE_POLL_MS / 1000)})`])
  row(["---", "---", "---"])
  both("changes driven", (r) => `${instanceChanges(r)} instance changes + ${newServiceChanges(r)} new services`)
  both("churn phase duration", (r) => `${(r.durationMs / 1000).toFixed(0)} s`)
  both("failed requests under load", failures)
  both("HAProxy reloads (`show proc`)", (r) => `**${reloadDelta(r) ?? "?"}**`)
  row(["reloads by reason (agent metrics)", metricDelta(a, "reloads"), "every poll round with a change"])
  row(["runtime updates (agent metrics)", metricDelta(a, "runtime_updates"), "–"])
  row(["change feed misses / unavailable (agent metrics)", `${a.details["change feed misses"] ?? "not reported"} / ${metricDelta(a, "change feed unavailable")}`, "–"])
  both("old workers still alive at the end", (r) => String(r.oldWorkersAtEnd ?? "?"))
  both("client connections opened (12 load conns)", (r) => String(r.loadConnects))
  row(["**convergence p50 / p95 / max**", "", ""])
  kinds("add / move / remove (revision visible)", ["add", "move", "remove"])
  for (const k of kindsOrder) kinds(`– ${k}`, [k])
  both("– move: old port stops receiving", (r) => fmtSummary(summarize(r.changes.filter((c) => c.kind === "move").map((c) => c.oldStoppedMs))))
  both(`– moves whose OLD port still got requests > ${STALE_MS / 1000} s after the new port's first one`, staleMovesCell)
  kinds("all instance changes", ["add", "move", "remove", "unhealthy", "healthy"])
  return lines
}

const callsTable = (calls: ReadonlyArray<CallsResult>): Array<string> => {
  const lines: Array<string> = []
  const row = (cells: ReadonlyArray<string>) => lines.push(mdRow(cells))
  const scales = [...new Set(calls.map((c) => c.services))].sort((x, y) => x - y)
  const ops = [...new Set(calls.flatMap((c) => Object.keys(c.perMinute)))].sort()
  /** One cell per scale and system, in the header's order. */
  const perSystem = (first: string, cell: (c: CallsResult) => string) => {
    const cells = [first]
    for (const n of scales) {
      for (const l of ["agent", "baseline"]) {
        const c = calls.find((x) => x.services === n && x.label === l)
        cells.push(c === undefined ? "–" : cell(c))
      }
    }
    row(cells)
  }
  const header = ["Cloud Map calls / min (steady state)"]
  for (const n of scales) for (const l of ["(a) agent", "(b) baseline"]) header.push(`${l}, ${count(n)} services`)
  row(header)
  row(header.map(() => "---"))
  for (const op of ops) perSystem(op, (c) => count(Math.round(c.perMinute[op] ?? 0)))
  perSystem("total", (c) => `**${count(Math.round(c.totalPerMinute))}**`)
  perSystem("first configuration served after", (c) => `${c.readyAfterS.toFixed(0)} s`)
  perSystem("measured window", (c) => `${c.windowS.toFixed(0)} s`)
  return lines
}

/** Both tables, as Markdown. */
export const report = (a: ChurnResult, b: ChurnResult, calls: ReadonlyArray<CallsResult>) =>
  [...churnTable(a, b), "", ...callsTable(calls)].join("\n")

/** The failed requests of one run, grouped by kind, status, connection reuse and detail. */
export const failureDigest = (r: ChurnResult): string => {
  const foreign = r.foreignHits > 0 ? ` (${r.foreignHits} requests from other processes' proxies hit recycled backend ports and were ignored)` : ""
  if (r.requests.events.length === 0) return `${r.label}: no failed request${foreign}.`
  const byKey = new Map<string, { n: number; first: FailureEvent }>()
  for (const e of r.requests.events) {
    const key = `${e.kind}${e.status === undefined ? "" : ` ${e.status}`} (${e.reused ? "reused connection" : "fresh connection"}): ${e.detail}`
    const cur = byKey.get(key)
    if (cur === undefined) byKey.set(key, { n: 1, first: e })
    else cur.n++
  }
  return `${r.label}: ` + [...byKey].map(([k, v]) => `${v.n}× ${k} (first on ${v.first.host}, +${((v.first.at - started) / 1000).toFixed(1)} s)`).join("; ") + foreign
}
