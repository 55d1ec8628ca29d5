/**
 * What the churn benchmark runs: its flags, the scenario's size (full or `--quick`), its timing,
 * and the agent's defaults as the agent itself reads them. See scripts/bench-churn.ts.
 */
import { BENCH_NAMESPACE_MAP } from "../bench/agent.ts"
import { agentConfigFrom } from "../bench/adapters/agent-config.ts"
import { processArgs } from "../bench/args.ts"
import { BENCHMARKS_MD } from "../bench/report.ts"
import { haproxyBinary } from "../bench/haproxy.ts"

const ARGS = processArgs()
export const QUICK = ARGS.has("quick")
/** `--out=<file>`: where the `## Churn` section goes (default BENCHMARKS.md). */
export const OUT = ARGS.string("out") ?? BENCHMARKS_MD
/** A full run writes the section, a quick run does not; `--write` / `--no-write` / `--out=` decide otherwise. */
export const WRITE = ARGS.has("write") || ARGS.string("out") !== undefined || (!QUICK && !ARGS.has("no-write"))
/** `--render-from=<results.json>`: rebuild the section from a saved run, measure nothing. */
export const RENDER_FROM = ARGS.string("render-from")
export const REBUILD = ARGS.has("rebuild")
/**
 * `--options`: every service carries the bench option set (scripts/bench/service-options.ts) as
 * service attributes, every registered instance its weight; the section is `## Churn (options on every service)`.
 */
export const OPTIONS = ARGS.has("options")

export const HAPROXY = haproxyBinary()

export const P = QUICK
  ? {
    churnServices: 4,
    changesPerChurnService: 6,
    healthServices: 2,
    flipsPerHealthService: 2,
    newServices: 4,
    newServiceSpacingMs: 4_000,
    callsWindowS: 20,
    callsScales: [100, 1000]
  }
  : {
    churnServices: 15,
    changesPerChurnService: 12,
    healthServices: 10,
    flipsPerHealthService: 2,
    newServices: 20,
    newServiceSpacingMs: 4_000,
    callsWindowS: 0,
    callsScales: [100, 1000]
  }
/**
 * When changes happen. Each churn service's first change comes U(0, 10 s) after the load starts and
 * every next one U(4, 16) s after the previous one STARTED (not after it converged), so changes hit
 * the pollers' cycles (polling round / baseline poll, service listing, REFRESH_RATE reads) at a uniformly random
 * phase; measuring from convergence would phase-lock every change to the poll that converged the
 * previous one and bias the numbers. Changes of one service may overlap; each instance has its own
 * backend, so each is still measured on its own. A health flip needs the previous flip of the same
 * instance to have converged: the first comes U(0, 30 s) in, the second U(40, 50) s after the first
 * started (or right after the first converged, if that is later).
 */
export const CHURN_FIRST_MS = 10_000
export const CHURN_GAP_MIN_MS = 4_000
export const CHURN_GAP_SPAN_MS = 12_000
export const HEALTH_FIRST_MS = 30_000
export const HEALTH_GAP_MIN_MS = 40_000
export const HEALTH_GAP_SPAN_MS = 10_000
export const INITIAL_INSTANCES = 3
export const LOAD_CONNECTIONS = 12
export const LOAD_GAP_MS = 20
export const REQUEST_TIMEOUT_MS = 5_000
export const PROBE_INTERVAL_MS = 50
export const QUIET_MS = 1_500
/** A move is "stale" when its old port keeps receiving requests this long after the new port's first one. */
export const STALE_MS = 1_000
/** Per change: revision-visible changes, health flips and new services. */
export const TIMEOUT_REVISION_MS = 45_000
export const TIMEOUT_SLOW_MS = 80_000
/** No new change starts after this long in a churn phase; the phase itself ends by then + timeouts. */
export const PHASE_CHANGE_WINDOW_MS = 6 * 60_000
/**
 * The agent's defaults as its own config reader sees them (the benchmark never sets them), so the
 * report names the settings that were actually in force.
 */
export const DEFAULTS = agentConfigFrom(
  { AWS_REGION: "us-east-1", NAMESPACE_MAP: BENCH_NAMESPACE_MAP, STATS_PASSWD: "x", PROM_PASSWD: "x" },
  "cannot read the agent's defaults"
)
/** The baseline polls as often as the agent checks revisions, so the apply path is what differs. */
export const BASELINE_POLL_MS = DEFAULTS.revisionPollSeconds * 1000
/** Hard stop for the whole run. */
export const RUN_DEADLINE = Date.now() + 25 * 60_000
