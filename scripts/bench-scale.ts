/**
 * Fleet-scale cost: `npm run bench:scale` (= `bun scripts/bench-scale.ts`) runs the compiled
 * agent (`dist/cloudmap-haproxy run`, built when missing or with `--rebuild`) at its default
 * settings against the in-process mock Cloud Map at 100, 1,000 and 3,000 services × 2 instances,
 * one size after the other. By default it measures the change feed (registrations found through
 * ListOperations/GetOperation; the targets of issue 14, change feed); with `--feed-denied`, the
 * fallback when those are denied (revision polling; the targets of issue 11, "Fleet-scale cost").
 * It reports per size:
 *
 *   start → ready (spawn until /readyz 200), the agent's CPU over a steady window after ready
 *   (its own PID, not HAProxy), Cloud Map calls per minute by operation (the mock's counters),
 *   agent CPU per call (a verdict with `--feed-denied` only), agent and HAProxy RSS (end and max),
 *   registration → serving: 10 new instances registered with the AWS SDK during the window, each
 *   timed from the SDK call's return to the first answer through HAProxy from the new instance,
 *   and the change feed's state in `/status` after them.
 *
 * Flags: --sizes 100,1000 (default 100,1000,3000), --window-seconds N (60), --quick (100 services,
 * 15 s window, no BENCHMARKS.md), --json FILE (raw results), --rebuild, --binary PATH (another
 * build, never built), --render-from=<results.json> (rewrite the section from a saved run),
 * --out=<file> / --write / --no-write (where and whether the `## Scale` section is written; a full
 * run, i.e. the default sizes and window, writes it into BENCHMARKS.md after `## Churn`), --options
 * (the bench option set of scripts/bench/service-options.ts on every service and instance; the run
 * fails unless the agent's /status shows it applied; the section is `## Scale (options on every
 * service)`, written after `## Scale`, which it leaves alone), --feed-denied (before the agent
 * starts, the mock denies ListOperations and GetOperation for good; after ready the run waits until
 * /status shows changeFeed unavailable (denied) and fails otherwise; the section is `## Scale
 * (change feed denied)`, written after the options section, else after `## Scale`; not with
 * --options). The results record the mode, so --render-from writes the right section.
 *
 * Where the parts are (scripts/scale/): params.ts (flags, fixed settings), fleet.ts (mock + sink),
 * agent.ts (the agent at defaults), window.ts (CPU, RSS, calls), registrations.ts, feed-status.ts
 * (the change feed in /status), size.ts (one size end to end), targets.ts (per mode),
 * report-tables.ts, report-section.ts; scripts/bench/ holds what the benches share.
 */
// First: a bad flag fails before anything is created.
import { BINARY, FEED_DENIED, JSON_OUT, MODE, OPERATION_SCAN, OPTIONS, OUT, QUICK, REBUILD, RENDER_FROM, SIZES, WINDOW_SECONDS, WRITE } from "./scale/params.ts"
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { cpus, loadavg } from "node:os"
import { join } from "node:path"
import process from "node:process"
import { agentDefaults } from "./bench/agent-defaults.ts"
import { AGENT_BINARY, ensureAgentBinary, ROOT } from "./bench/agent-binary.ts"
import { haproxyBinary, haproxyVersion } from "./bench/haproxy.ts"
import { bunVersion, gitDescribe, loadAverageText, otherBenchmarkRuns } from "./bench/machine.ts"
import { writeSection } from "./bench/report.ts"
import { OPTIONS_TEXT } from "./bench/service-options.ts"
import { cleanups, say, WORK } from "./scale/context.ts"
import { callsTable, registrationLines, sizeTable } from "./scale/report-tables.ts"
import { renderSection, sectionAfter, sectionTitle } from "./scale/report-section.ts"
import { modeOf, type RunMeta, type ScaleRun, type SizeResult } from "./scale/results.ts"
import { runSize } from "./scale/size.ts"

/** The run's section (`## Scale`, with options or with the feed denied), in its place (sectionAfter). */
const writeScaleSection = (run: ScaleRun) => {
  const title = sectionTitle(run.meta)
  writeSection(OUT, title, renderSection(run), sectionAfter(run.meta))
  say(`wrote the ## ${title} section of ${OUT}`)
}

const main = async () => {
  if (RENDER_FROM !== undefined) {
    const saved = JSON.parse(readFileSync(RENDER_FROM, "utf8")) as ScaleRun
    process.stdout.write(`${renderSection(saved)}\n`)
    return writeScaleSection(saved)
  }
  const load0 = loadavg()
  const others = otherBenchmarkRuns()
  const haproxy = haproxyVersion(haproxyBinary())?.line ?? "not found"
  say(`bench:scale: sizes ${SIZES.join(", ")}, window ${WINDOW_SECONDS} s; ${cpus().length} vCPU, HAProxy ${haproxy}, bun ${bunVersion()}, load average ${loadAverageText(load0)}`)
  if (others.length > 0) say(`WARNING: other benchmark, test or agent processes are running; the numbers will be disturbed:\n  ${others.join("\n  ")}`)
  say(`work directory ${WORK}`)
  if (OPTIONS) say(`options on every service: ${OPTIONS_TEXT.replaceAll("`", "")}`)
  if (FEED_DENIED) say("change feed denied: the mock refuses ListOperations and GetOperation; the agent falls back to revision polling")
  if (BINARY !== AGENT_BINARY && !existsSync(BINARY)) throw new Error(`--binary ${BINARY}: no such file`)
  if (BINARY === AGENT_BINARY) ensureAgentBinary(REBUILD, say)
  const defaults = agentDefaults(BINARY)
  const commit = gitDescribe(ROOT)

  const sizes: Array<SizeResult> = []
  for (const n of SIZES) sizes.push(await runSize(n))

  const meta: RunMeta = {
    date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    commit,
    command: `npm run bench:scale${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`,
    windowSeconds: WINDOW_SECONDS,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? "?",
    haproxy,
    bun: bunVersion(),
    loadAtStart: loadAverageText(load0),
    loadAtEnd: loadAverageText(),
    otherWork: others,
    agentDefaults: defaults,
    binary: BINARY === AGENT_BINARY ? "dist/cloudmap-haproxy" : BINARY,
    ...(OPTIONS ? { options: OPTIONS_TEXT } : {}),
    mode: MODE,
    ...(OPERATION_SCAN === "retained" ? {} : { operationScan: OPERATION_SCAN })
  }
  const run: ScaleRun = { meta, sizes }
  const lines = [
    "",
    `cloudmap-haproxy ${sectionTitle(meta).toLowerCase()} (${meta.date}, ${commit}, ${meta.cpus} vCPU, HAProxy ${haproxy}, load average ${meta.loadAtStart} → ${meta.loadAtEnd})`,
    "",
    sizeTable(modeOf(meta), sizes),
    "",
    callsTable(sizes),
    ""
  ]
  for (const r of sizes) {
    lines.push(`registrations, ${r.services} services:`, ...registrationLines(r))
    if (r.logProblems.length > 0) lines.push(`agent warnings/errors, ${r.services} services: ${r.logProblems.length}, first: ${r.logProblems[0]}`)
  }
  process.stdout.write(`${lines.join("\n")}\n`)
  const json = `${JSON.stringify(run, null, 2)}\n`
  writeFileSync(join(WORK, "results.json"), json)
  say(`raw results: ${join(WORK, "results.json")}`)
  if (JSON_OUT !== undefined) writeFileSync(JSON_OUT, json)
  if (WRITE) writeScaleSection(run)
  else if (!QUICK) say("BENCHMARKS.md not written (not a full run; --write forces it)")
}

await cleanups.runMain(main, say)
