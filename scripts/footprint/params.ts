/** The footprint bench's flags (see scripts/bench-footprint.ts). */
import { processArgs } from "../bench/args.ts"
import { AGENT_BINARY } from "../bench/agent-binary.ts"

const args = processArgs()
export const IDLE_SECONDS = args.number("idle-seconds", 300)
export const START_RUNS = Math.max(1, Math.round(args.number("start-runs", 5)))
export const REFRESHES = Math.max(2, Math.round(args.number("refreshes", 30)))
export const SERVICES = Math.max(1, Math.round(args.number("services", 1000)))
export const BIG_REFRESHES = Math.max(1, Math.round(args.number("big-refreshes", 3)))
export const SETTLE_SECONDS = args.number("settle-seconds", 60)
export const REBUILD = args.has("rebuild")
export const BINARY = args.string("binary") ?? AGENT_BINARY
if (BINARY !== AGENT_BINARY && REBUILD) throw new Error("--rebuild builds dist/cloudmap-haproxy only; drop it with --binary")
export const JSON_OUT = args.string("json")
export const ALL_PHASES = ["start", "idle", "refresh", "big"] as const
export const PHASES: ReadonlySet<string> = new Set((args.string("phases") ?? ALL_PHASES.join(",")).split(",").map((p) => p.trim()))
for (const p of PHASES) {
  if (!(ALL_PHASES as ReadonlyArray<string>).includes(p)) throw new Error(`--phases: unknown phase ${p} (known: ${ALL_PHASES.join(", ")})`)
}
