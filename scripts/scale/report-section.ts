/**
 * The `## Scale` section of BENCHMARKS.md for one run: the command, the commit, the machine, the
 * agent's defaults in force, how each measure is taken, the targets and the results. A run with
 * `--options` (meta.options set) is `## Scale (options on every service)` and names the set.
 */
import { fmtS } from "../bench/format.ts"
import { OPTIONS_TITLE_SUFFIX } from "../bench/service-options.ts"
import { AGENT_NON_DEFAULTS } from "./agent.ts"
import {
  INSTANCES_PER_SERVICE,
  PROBE_INTERVAL_MS,
  READY_POLL_MS,
  REGISTRATIONS,
  REQUEST_TIMEOUT_MS,
  RSS_SAMPLE_MS,
  SERVE_TIMEOUT_MS
} from "./params.ts"
import { callsTable, servingSummary, sizeTable, targetsTable } from "./report-tables.ts"
import type { ScaleRun } from "./results.ts"

/** The defaults worth naming for this bench: polling, Cloud Map pacing, reloads, HAProxy threads, health. */
const RELEVANT = /RATE|POLL|INTERVAL|^CLOUDMAP_|NBTHREAD|HEALTH_FILTER|LOG_LEVEL/

export const defaultsText = (defaults: Record<string, string>): string => {
  const named = Object.entries(defaults).filter(([name]) => RELEVANT.test(name))
  return named.length === 0 ? "(the binary did not list its defaults)" : named.map(([k, v]) => `${k} ${v}`).join("; ")
}

export const renderSection = (run: ScaleRun): string => {
  const m = run.meta
  const w = fmtS(m.windowSeconds)
  const notes: Array<string> = []
  for (const r of run.sizes) {
    const s = servingSummary(r)
    if (s.timeouts > 0) {
      const missed = r.registrations.filter((x) => x.servedMs === undefined).map((x) => `${x.instance} on ${x.service}`)
      notes.push(`* ${r.services} services: ${s.timeouts} of ${s.n} registrations not served within ${fmtS(SERVE_TIMEOUT_MS / 1000)} (${missed.join(", ")}).`)
    }
    if (r.logProblems.length > 0) notes.push(`* ${r.services} services: the agent logged ${r.logProblems.length} warning/error lines; the first: \`${r.logProblems[0]!.slice(0, 200)}\``)
  }
  const options = m.options
  return [
    options === undefined ? "## Scale" : `## Scale${OPTIONS_TITLE_SUFFIX}`,
    "",
    ...(options === undefined ? [] : [
      "The same measurement as `## Scale`, with routing options set on every service (`--options`; default agent settings otherwise).",
      "",
      `**Options on every service** (service attributes in the fixture): ${options} (fixture instances and the window's registrations). ` +
      "Checked after each size was ready, before its window: `/status` listed every route with exactly these options " +
      "(`options.check._tag` \"Http\") and every instance at this weight, no `ignoredOptions` (the run fails otherwise). The sink and the " +
      "registrations' echo servers answer the HTTP checks (`GET /`) with 200. No `haproxy.cookie` (a sticky service reloads on added " +
      "instances by design) and no zone affinity (it would keep new other-zone instances idle).",
      ""
    ]),
    "What the agent costs as the fleet grows (issue 11, \"Fleet-scale cost\"): start → ready, steady CPU, Cloud Map calls, memory, and how long a",
    `new instance takes to serve, at ${run.sizes.map((r) => r.services.toLocaleString("en-US")).join(", ")} services × ${INSTANCES_PER_SERVICE} instances.`,
    "",
    "Command: `npm run bench:scale` (= `bun scripts/bench-scale.ts`; `--sizes 100,1000`, `--window-seconds N`, `--json FILE`, " +
    "`--binary PATH`, `--rebuild`, `--options` (the section `## Scale (options on every service)`); `--quick` = 100 services and a 15 s " +
    "window, a smoke run that does not write this file; " +
    "`--render-from=<results.json>` rewrites this section from a saved run).",
    `Run: \`${m.command}\`. Commit: \`${m.commit}\`. Date: ${m.date}.`,
    `Machine: ${m.cpus} vCPU (${m.cpuModel}), HAProxy ${m.haproxy}, bun ${m.bun}; load average ${m.loadAtStart} at start, ${m.loadAtEnd} at the end` +
    (m.otherWork.length > 0 ? `; other benchmark, test or agent processes were running at the start (${m.otherWork.length}).` : "."),
    "",
    "How it is measured (one size at a time, each with a fresh mock and a fresh agent; everything on 127.0.0.1, every loop bounded, " +
    "every process of a size stopped by PID before the next size):",
    "",
    `* Fleet: the mock Cloud Map in the bench's process (\`src/mock/server.ts\`, \`syntheticFixture\`): one namespace \`apps\`, mapped to ` +
    `\`<service>.bench.test\` (host mode), N services × ${INSTANCES_PER_SERVICE} instances, every instance pointed at one local HTTP sink so HAProxy's checks pass.`,
    `* Agent: the compiled \`${m.binary} run\` at its default settings, as that binary lists them (\`run --help\`): ${defaultsText(m.agentDefaults)}. ` +
    `Non-defaults: ${AGENT_NON_DEFAULTS}.`,
    `* **start → ready**: from \`spawn()\` until \`/readyz\` answers 200, polled every ${READY_POLL_MS} ms (the binary is in the page cache).`,
    `* **Steady window**: ${w}, starting right after ready. **Agent CPU**: \`utime + stime\` of the agent's own PID from \`/proc/<pid>/stat\` ` +
    "(its children, HAProxy and `haproxy -c`, are not counted), read at the window's start and end; one core = 100 %.",
    `* **RSS**: \`VmRSS\` of the agent every ${fmtS(RSS_SAMPLE_MS / 1000)} and at the window's end (end and max shown); HAProxy: the sum over ` +
    "its master and workers (the processes whose command line names the agent's config directory, `haproxy -c` validations left out), same samples.",
    "* **Cloud Map calls**: the mock's call statistics (`GET /_mock/calls`), zeroed at the window's start and read at its end, per minute; " +
    "the bench's own `RegisterInstance` calls are left out. **CPU per call** = agent CPU seconds in the window ÷ the agent's calls in the window.",
    `* **Registration → serving**: ${REGISTRATIONS} new instances, one every window ÷ ${REGISTRATIONS + 1}, each on its own new echo HTTP server, ` +
    "registered with the AWS SDK (`RegisterInstance`) on an existing service picked by a seeded random draw (the same services every run). " +
    `From the moment the SDK call returns, \`GET /\` with the service's Host header goes to HAProxy every ${PROBE_INTERVAL_MS} ms on a fresh ` +
    `connection (\`Connection: close\`, ${fmtS(REQUEST_TIMEOUT_MS / 1000)} timeout each) until an answer comes from the new server (its body names it); ` +
    `not served within ${fmtS(SERVE_TIMEOUT_MS / 1000)} is a miss, shown apart and failing the target. Nearest-rank percentiles: with ` +
    `${REGISTRATIONS} values, p95 is the slowest one. A registration may be served after the window has ended; the CPU, RSS and call readings cover the window only.`,
    "",
    `Targets (issue 11; agent process only, default settings${options === undefined ? "" : " (the options above on every service)"}, 2 instances per service):`,
    "",
    targetsTable(),
    "",
    "Results:",
    "",
    sizeTable(run.sizes),
    "",
    callsTable(run.sizes),
    ...(notes.length > 0 ? ["", ...notes] : []),
    ""
  ].join("\n")
}
