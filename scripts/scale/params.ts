/** The scale bench's flags and fixed settings (see scripts/bench-scale.ts). */
import { AGENT_BINARY } from "../bench/agent-binary.ts"
import { processArgs } from "../bench/args.ts"
import { BENCHMARKS_MD } from "../bench/report.ts"
import type { ScaleMode } from "./results.ts"

const args = processArgs()

/** `--quick`: 100 services only and a 15 s window; never writes BENCHMARKS.md. */
export const QUICK = args.has("quick")
const sizesFlag = args.string("sizes")
/** `--sizes 100,1000`: the fleet sizes, in services (default 100,1000,3000; `--quick`: 100). */
export const SIZES: ReadonlyArray<number> = (sizesFlag ?? (QUICK ? "100" : "100,1000,3000")).split(",").map((raw) => {
  const n = Number(raw.trim())
  if (!Number.isInteger(n) || n < 1 || n > 10_000) throw new Error(`--sizes: ${raw} is not a service count in 1..10000`)
  return n
})
/** `--window-seconds N`: the steady window after ready (default 60; `--quick`: 15). */
export const WINDOW_SECONDS = args.number("window-seconds", QUICK ? 15 : 60)
if (WINDOW_SECONDS < 5) throw new Error("--window-seconds needs at least 5")
export const REBUILD = args.has("rebuild")
/**
 * `--options`: every service carries the bench option set (scripts/bench/service-options.ts) as
 * service attributes, every instance (fixture and registrations) its weight; the run fails unless
 * the agent's `/status` shows them applied, and its section is `## Scale (options on every service)`.
 */
export const OPTIONS = args.has("options")
/**
 * `--feed-denied`: before the agent starts, the mock denies ListOperations and GetOperation for
 * good (FEED_DENIED_FAULT), so the agent falls back to revision polling; after ready the run waits
 * until `/status` shows `changeFeed` unavailable and denied (it fails otherwise). Its section is
 * `## Scale (change feed denied)`, with the targets of issue 11.
 */
export const FEED_DENIED = args.has("feed-denied")
if (FEED_DENIED && OPTIONS) {
  throw new Error("--feed-denied and --options cannot be combined: each has a section of its own; run them one after the other")
}
/**
 * `--reading NAME`: the mock reads the feed's unpublished details another way (src/mock/feed-readings.ts):
 * `instance` (GetOperation's Targets carry INSTANCE only), `not-found` (GetOperation answers
 * OperationNotFound: operations kept briefly), `milliseconds` (UPDATE_DATE read in milliseconds; before
 * the window the run registers one instance and waits until `/status` shows the unit learnt), or
 * `foreign-churn` (FOREIGN_CHURN_PER_SECOND operations a second in an unmapped namespace all along).
 * Its section is `## Scale (change feed reading: NAME)`.
 */
export const READINGS = ["instance", "not-found", "milliseconds", "foreign-churn"] as const
export type Reading = typeof READINGS[number]
const readingFlag = args.string("reading")
if (readingFlag !== undefined && !(READINGS as ReadonlyArray<string>).includes(readingFlag)) {
  throw new Error(`--reading: ${readingFlag} is not one of ${READINGS.join(", ")}`)
}
export const READING = readingFlag as Reading | undefined
if (READING !== undefined && (FEED_DENIED || OPTIONS)) throw new Error("--reading cannot be combined with --feed-denied or --options")
export const FOREIGN_CHURN_PER_SECOND = 10
/**
 * `--reading foreign-churn` with the `retained` scan: the account's history of foreign operations
 * made before the agent starts (a burst of churn), more than CHANGE_FEED_MAX_PAGES pages hold, so
 * the window measures the feed after it resumed its listing and caught up.
 */
export const FOREIGN_HISTORY_OPERATIONS = 1_000
/** Longest wait for `/status` to show the resumed listing caught up before the window. */
export const RESUMED_TIMEOUT_MS = 120_000
/**
 * `--operation-scan retained|updateDate`: what the mock's ListOperations pages through before it
 * filters (src/mock/feed-readings.ts; default retained, every operation it keeps). Recorded in the results.
 */
export const OPERATION_SCAN = args.string("operation-scan") ?? "retained"
if (OPERATION_SCAN !== "retained" && OPERATION_SCAN !== "updateDate") throw new Error(`--operation-scan: ${OPERATION_SCAN} is not retained or updateDate`)
/** `--reading milliseconds`: longest wait for the agent to learn the unit before the window (one sweep and the grace). */
export const UNIT_LEARNT_TIMEOUT_MS = 120_000
/** What this run measures (recorded in the results, so `--render-from` picks the title and targets). */
export const MODE: ScaleMode = FEED_DENIED ? "feed-denied" : READING !== undefined ? `reading-${READING}` : "change-feed"
/** `--binary PATH`: measure another build of the agent (never built). */
export const BINARY = args.string("binary") ?? AGENT_BINARY
if (BINARY !== AGENT_BINARY && REBUILD) throw new Error("--rebuild builds dist/cloudmap-haproxy only; drop it with --binary")
/** `--json FILE`: the raw results (also written to the run's work directory). */
export const JSON_OUT = args.string("json")
/** `--feed-rate S`: the agent runs with CHANGE_FEED_RATE=S (named with the other non-defaults); default: its default. */
export const FEED_RATE = args.string("feed-rate")
if (FEED_RATE !== undefined && !(Number(FEED_RATE) >= 0.5 && Number(FEED_RATE) <= 60)) throw new Error(`--feed-rate: ${FEED_RATE} is not a number of seconds from 0.5 to 60`)
/** `--render-from=<results.json>`: rebuild the section from a saved run, measure nothing. */
export const RENDER_FROM = args.string("render-from")
/** `--out=<file>`: where the `## Scale` section goes (default BENCHMARKS.md). */
export const OUT = args.string("out") ?? BENCHMARKS_MD
/**
 * The section is written by a full run: all three default sizes at the default window, not
 * `--quick`; `--write` forces it, `--no-write` skips it, `--out` implies `--write`.
 */
export const WRITE = args.has("write") || args.string("out") !== undefined ||
  (!QUICK && !args.has("no-write") && sizesFlag === undefined && WINDOW_SECONDS === 60)

/** The fleet: one namespace, this many instances per service, every base instance at the sink. */
export const INSTANCES_PER_SERVICE = 2
/** New instances registered during the window, evenly spread (one every window / (n + 1)). */
export const REGISTRATIONS = 10
/** Which existing services get them (a seeded choice, the same every run). */
export const REGISTRATION_SEED = 0x5ca1e
/** A registration's probe: one request every PROBE_INTERVAL_MS, each with REQUEST_TIMEOUT_MS. */
export const PROBE_INTERVAL_MS = 20
export const REQUEST_TIMEOUT_MS = 2_000
/** A registration not served this long after its SDK call returned is a miss. */
export const SERVE_TIMEOUT_MS = 60_000
/** /readyz is polled this often from the spawn on. */
export const READY_POLL_MS = 10
/** Longest wait for /readyz per size (the first round alone takes services ÷ CLOUDMAP_RATE_LIMIT). */
export const READY_TIMEOUT_MS = 10 * 60_000
/**
 * `--feed-denied`: the mock's fault rule (POST /_mock/faults), without `times` or `probability`,
 * so every call of these operations gets AccessDeniedException. Zeroing the call counters at the
 * window's start leaves the rules alone; only POST /_mock/reset, which the bench never sends, clears them.
 */
export const FEED_DENIED_FAULT = { kind: "accessDenied", operation: ["ListOperations", "GetOperation"] } as const
/**
 * `--feed-denied`: after ready, `/status` is read every FEED_CHECK_INTERVAL_MS until the feed shows
 * unavailable and denied, at most FEED_CHECK_TIMEOUT_MS (its first round follows the first full read).
 */
export const FEED_CHECK_INTERVAL_MS = 250
export const FEED_CHECK_TIMEOUT_MS = 20_000
/** RSS of the agent and of HAProxy is sampled this often during the window (and at its end). */
export const RSS_SAMPLE_MS = 2_000
