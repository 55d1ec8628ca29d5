/**
 * Footprint of the compiled agent (`dist/cloudmap-haproxy run`) against the in-process mock
 * Cloud Map and the installed HAProxy. Measures, for the agent process alone (HAProxy excluded):
 *
 *   1. binary size;
 *   2. time from process start to the first applied configuration (`/readyz` 200), next to the
 *      Cloud Map time of that first refresh (from /status), median of several runs;
 *   3. RSS (VmRSS, MiB) and CPU after an idle period (demo fixture, default settings);
 *   4. CPU per full round (REFRESH_RATE=1 and REVISION_POLL_RATE=1: every round reads every service);
 *   5. the same with 1,000 services × 2 instances: start to ready, RSS, CPU per refresh, and
 *      steady-state CPU at default settings.
 *
 * Everything binds 127.0.0.1. Every process it starts is stopped by PID at the end, including
 * HAProxy (found by its config directory). All waits are bounded.
 *
 *   npm run bench:footprint                          # the full run (300 s idle window)
 *   npm run bench:footprint -- --idle-seconds 20     # quick run
 *
 * Flags: --idle-seconds N (300), --start-runs N (5), --refreshes N (30), --services N (1000),
 * --big-refreshes N (3), --settle-seconds N (60), --phases start,idle,refresh,big (all),
 * --rebuild (build even if dist/cloudmap-haproxy exists), --json FILE (results as JSON),
 * --binary PATH (measure another build of the agent instead of dist/cloudmap-haproxy; never built).
 *
 * Where the parts are (scripts/footprint/): params.ts (flags), agent.ts (running and reading the
 * agent), runtime-floor.ts, phases.ts (start, idle, refresh), big.ts (1,000 services);
 * scripts/bench/ holds what the benches share.
 */
// First: a bad flag fails before anything is created.
import {
  BIG_REFRESHES,
  BINARY,
  IDLE_SECONDS,
  JSON_OUT,
  PHASES,
  REBUILD,
  REFRESHES,
  SERVICES,
  SETTLE_SECONDS,
  START_RUNS
} from "./footprint/params.ts"
import { existsSync, statSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { cpus, loadavg, release, totalmem } from "node:os"
import process from "node:process"
import { demoFixture, pointAt, startMock } from "./bench/adapters/mock-cloudmap.ts"
import { AGENT_BINARY, ensureAgentBinary, ROOT } from "./bench/agent-binary.ts"
import { mb } from "./bench/format.ts"
import { haproxyVersion } from "./bench/haproxy.ts"
import { gitDescribe, loadAverageText } from "./bench/machine.ts"
import { bigPhase } from "./footprint/big.ts"
import { cleanups, log } from "./footprint/context.ts"
import { idlePhase, type PhaseOutput, refreshPhase, startPhase } from "./footprint/phases.ts"
import { runtimeFloor } from "./footprint/runtime-floor.ts"

cleanups.onSignals()

const main = async () => {
  if (BINARY !== AGENT_BINARY && !existsSync(BINARY)) throw new Error(`--binary ${BINARY}: no such file`)
  if (BINARY === AGENT_BINARY) ensureAgentBinary(REBUILD, log)
  const haproxy = haproxyVersion("haproxy")?.version ?? "not found"
  const commit = gitDescribe(ROOT)
  const results: Record<string, unknown> = {
    date: new Date().toISOString(),
    commit,
    loadAverageAtStart: loadavg(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryBytes: totalmem(), kernel: release(), haproxy },
    settings: { phases: [...PHASES], idleSeconds: IDLE_SECONDS, startRuns: START_RUNS, refreshes: REFRESHES, services: SERVICES, bigRefreshes: BIG_REFRESHES, settleSeconds: SETTLE_SECONDS }
  }
  const out: PhaseOutput = { rows: [], results }

  // A TCP listener every instance points at: HAProxy's L4 checks succeed, no DOWN/UP log storms.
  const sink = createServer((socket) => socket.destroy())
  await new Promise<void>((r) => sink.listen(0, "127.0.0.1", () => r()))
  cleanups.add(() => new Promise<void>((r) => sink.close(() => r())))
  const sinkPort = (sink.address() as { port: number }).port

  const demo = await startMock(pointAt(demoFixture, sinkPort))
  cleanups.add(() => demo.close())

  // 1. binary size, and the runtime's own floor
  const size = statSync(BINARY).size
  results["binaryBytes"] = size
  log(`binary: ${(size / 1024 / 1024).toFixed(1)} MiB (${size} bytes)`)
  out.rows.push(`| binary size | ${(size / 1024 / 1024).toFixed(1)} MiB | |`)
  if (PHASES.has("idle")) {
    const floor = await runtimeFloor()
    results["runtimeBaseline"] = floor
    log(`runtime floor (compiled hello-world HTTP server, idle 15 s): RSS ${mb(floor.rssBytes)} (anon ${mb(floor.anonBytes)}, file ${mb(floor.fileBytes)})`)
    out.rows.push(`| runtime floor: compiled hello-world HTTP server, idle | ${mb(floor.rssBytes)} (anon ${mb(floor.anonBytes)}, file ${mb(floor.fileBytes)}) | |`)
  }
  // 2.–4. the demo fixture: 1 namespace, 3 services, 5 instances
  if (PHASES.has("start")) await startPhase(out, demo.url)
  if (PHASES.has("idle")) await idlePhase(out, demo.url)
  if (PHASES.has("refresh")) await refreshPhase(out, demo.url)
  // 5. 1,000 services × 2 instances
  if (PHASES.has("big")) await bigPhase(out, sinkPort)

  // ---- report
  results["loadAverageAtEnd"] = loadavg()
  const lines = [
    "",
    `cloudmap-haproxy footprint (${results["date"]}, ${commit}, ${cpus().length} CPUs, HAProxy ${haproxy}, load average at end ${loadAverageText()})`,
    "",
    "| measure | result | target |",
    "|---|---|---|",
    ...out.rows,
    ""
  ]
  process.stdout.write(lines.join("\n"))
  if (JSON_OUT !== undefined) writeFileSync(JSON_OUT, JSON.stringify(results, null, 2) + "\n")
}

main()
  .then(() => cleanups.run())
  .catch(async (e) => {
    log(`bench failed: ${e instanceof Error ? e.message : String(e)}`)
    await cleanups.run()
    process.exit(1)
  })
