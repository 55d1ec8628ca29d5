/** The scale bench's flags and fixed settings (see scripts/bench-scale.ts). */
import { AGENT_BINARY } from "../bench/agent-binary.ts"
import { processArgs } from "../bench/args.ts"
import { BENCHMARKS_MD } from "../bench/report.ts"

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
/** `--binary PATH`: measure another build of the agent (never built). */
export const BINARY = args.string("binary") ?? AGENT_BINARY
if (BINARY !== AGENT_BINARY && REBUILD) throw new Error("--rebuild builds dist/cloudmap-haproxy only; drop it with --binary")
/** `--json FILE`: the raw results (also written to the run's work directory). */
export const JSON_OUT = args.string("json")
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
/** RSS of the agent and of HAProxy is sampled this often during the window (and at its end). */
export const RSS_SAMPLE_MS = 2_000
