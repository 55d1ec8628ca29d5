/** How numbers are written in the bench reports (the formats BENCHMARKS.md uses). */
import type { Summary } from "./stats.ts"

/** Milliseconds as seconds with two decimals: `1.84 s`; `–` when there is no value. */
export const secs = (ms: number | undefined) => (ms === undefined ? "–" : `${(ms / 1000).toFixed(2)} s`)

/** A setting in seconds: `2 s`, `0.5 s`. */
export const fmtS = (seconds: number) => `${Number.isInteger(seconds) ? seconds : seconds.toFixed(1)} s`

/** `p50 / p95 / max (n=…, k timed out)`. */
export const fmtSummary = (s: Summary) =>
  s.n === 0
    ? "–"
    : `${secs(s.p50)} / ${secs(s.p95)} / ${secs(s.max)} (n=${s.n}${s.timeouts > 0 ? `, ${s.timeouts} timed out` : ""})`

/** Bytes as MiB with one decimal; `n/a` when unknown. */
export const mb = (bytes: number | undefined) => (bytes === undefined ? "n/a" : `${(bytes / 1024 / 1024).toFixed(1)} MiB`)

/** Milliseconds, rounded: `163 ms`. */
export const ms = (x: number) => `${Math.round(x)} ms`

/** A count with thousands separators: `12,345`. */
export const count = (n: number) => n.toLocaleString("en-US")

/** One Markdown table row: `| a | b | c |`. */
export const mdRow = (cells: ReadonlyArray<string>) => `| ${cells.join(" | ")} |`
