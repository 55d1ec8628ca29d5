/**
 * The scale bench's tables (printed, and part of the `## Scale` section): one row per size with
 * every measure and its verdicts against the mode's targets, the calls per minute by operation,
 * and the mode's targets (scripts/scale/targets.ts).
 */
import { count, mb, mdRow, ms, secs } from "../bench/format.ts"
import { summarize, type Summary } from "../bench/stats.ts"
import type { ScaleMode, SizeResult } from "./results.ts"
import { TARGETS, verdicts } from "./targets.ts"

/** Registration → serving over the registrations of one size (a miss counts as `timeouts`). */
export const servingSummary = (r: SizeResult): Summary => summarize(r.registrations.map((x) => x.servedMs))

const servingCell = (s: Summary) =>
  s.n === 0
    ? "–"
    : `${secs(s.p50)} / ${secs(s.p95)} / ${secs(s.max)} (n=${s.n}${s.timeouts > 0 ? `, **${s.timeouts} not served in 60 s**` : ""})`

const targetsCell = (mode: ScaleMode, r: SizeResult): string => {
  const s = servingSummary(r)
  return verdicts(mode, r, s.p95, s.timeouts)
    .map((v) => `${v.measure} ${v.limit}: ${v.met ? "met" : "**not met**"}`)
    .join("; ")
}

const pct = (x: number) => `${x.toFixed(2)} %`
/** `292 ms` under a second, `9.53 s` from there on. */
const duration = (x: number) => (x < 1000 ? ms(x) : secs(x))

export const sizeTable = (mode: ScaleMode, sizes: ReadonlyArray<SizeResult>): string => {
  const lines = [
    mdRow([
      "services × 2",
      "start → ready",
      "agent CPU",
      "Cloud Map calls/min",
      "CPU per call",
      "agent RSS end (max)",
      "HAProxy RSS end (max)",
      "registration → serving p50 / p95 / max",
      "targets"
    ]),
    mdRow(Array(9).fill("---"))
  ]
  for (const r of sizes) {
    const w = r.window
    lines.push(mdRow([
      count(r.services),
      duration(r.readyMs),
      `${pct(w.agentCpuPercent)} (${w.agentCpuSeconds.toFixed(2)} s in ${w.seconds.toFixed(0)} s)`,
      count(Math.round(w.callsPerMinuteTotal)),
      w.cpuMsPerCall === undefined ? "–" : `${w.cpuMsPerCall.toFixed(2)} ms`,
      `${mb(r.agentRss.endBytes)} (${mb(r.agentRss.maxBytes)})`,
      `${mb(r.haproxyRss.endBytes)} (${mb(r.haproxyRss.maxBytes)})`,
      servingCell(servingSummary(r)),
      targetsCell(mode, r)
    ]))
  }
  return lines.join("\n")
}

/** Calls per minute by operation, one column per size, with the total and the calls per service. */
export const callsTable = (sizes: ReadonlyArray<SizeResult>): string => {
  const ops = [...new Set(sizes.flatMap((r) => Object.keys(r.window.callsPerMinute)))].sort()
  const perMin = (x: number | undefined) => (x === undefined ? "0" : count(Math.round(x)))
  const lines = [
    mdRow(["Cloud Map calls / min (agent)", ...sizes.map((r) => `${count(r.services)} services`)]),
    mdRow(["---", ...sizes.map(() => "---")]),
    ...ops.map((op) => mdRow([op, ...sizes.map((r) => perMin(r.window.callsPerMinute[op]))])),
    mdRow(["**total**", ...sizes.map((r) => `**${perMin(r.window.callsPerMinuteTotal)}**`)]),
    mdRow(["per service per minute", ...sizes.map((r) => (r.window.callsPerMinuteTotal / r.services).toFixed(1))]),
    mdRow(["calls in the window (s)", ...sizes.map((r) => `${count(r.window.callsTotal)} (${r.window.callsSeconds.toFixed(1)} s)`)])
  ]
  return lines.join("\n")
}

/** The targets of this mode, and what it says about CPU per call. */
export const targetsTable = (mode: ScaleMode): string => {
  const set = TARGETS[mode]
  const lines = [
    mdRow(["services", "ready", "agent CPU", "calls/min", "agent RSS", "registration → serving p95"]),
    mdRow(Array(6).fill("---"))
  ]
  for (const [n, t] of set.sizes) {
    lines.push(mdRow([
      count(n),
      `≤ ${t.readyMs / 1000} s`,
      `≤ ${t.cpuPercent} %`,
      t.callsPerMinute === undefined ? "—" : `≤ ${count(t.callsPerMinute)}`,
      `≤ ${t.agentRssBytes / 1024 / 1024} MiB`,
      `≤ ${t.servingP95Ms / 1000} s`
    ]))
  }
  lines.push(
    "",
    set.cpuMsPerCall !== undefined
      ? `And at every size: agent CPU per Cloud Map call in the steady window ≤ ${set.cpuMsPerCall} ms.`
      : "No target for agent CPU per Cloud Map call here (it is reported): the calls are few, so the fixed costs of each round " +
        "(timers, the feed's walk, the bookkeeping of what is due) dominate that ratio; the total agent CPU is the measure."
  )
  return lines.join("\n")
}

/** Registrations one by one, for the printed report. */
export const registrationLines = (r: SizeResult): Array<string> =>
  r.registrations.map((x) =>
    `  ${x.instance} on ${x.service} at +${(x.atMs / 1000).toFixed(1)} s: ` +
    (x.error !== undefined ? `RegisterInstance failed: ${x.error}` : x.servedMs === undefined ? "NOT served" : secs(x.servedMs)) +
    ` (${x.requests} requests; answers ${Object.entries(x.answers).map(([k, v]) => `${k}×${v}`).join(", ") || "none"})`
  )
