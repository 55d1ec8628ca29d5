/**
 * Churn benchmark: `npm run bench:churn` (= `bun scripts/bench-churn.ts`), `--quick` for a smoke
 * run, `--write` / `--no-write` to force or skip updating the `## Churn` section of BENCHMARKS.md
 * (a full run writes it, a quick run does not), `--out=<file>` to write that section elsewhere,
 * `--render-from=<results.json>` to rebuild the section from the raw results of an earlier full run,
 * `--rebuild` to build dist/cloudmap-haproxy even if it exists, `--options` to set the bench option set
 * (scripts/bench/service-options.ts) on every service and instance, initial and created, and to
 * fail unless the agent applied it; that run writes `## Churn (options on every service)` (after
 * `## Churn`, which it leaves alone).
 *
 * Two systems under test, run one after the other in the same invocation, against the same
 * scenario on a fresh mock Cloud Map (src/mock/server.ts) each:
 *   (a) the agent as shipped (`dist/cloudmap-haproxy run`, built when missing or with --rebuild) at its default settings (read back with its own config
 *       reader for the report). Only addresses, ports, directories, the mock endpoint, passwords
 *       and DRAIN_SECONDS=1 (shutdown only) are set;
 *   (b) the reload-every-change baseline of scripts/churn/baseline.ts: a poller that
 *       renders with the project's own plan + render and reloads HAProxy on every change.
 *
 * Scenario (full run): 15 "churn" services (3 instances each) get 12 changes each — add, move
 * (re-register the same instance id with a new port) and remove, in turn — and 10 "health"
 * services (3 instances each) get 2 health flips each (UNHEALTHY, then HEALTHY again, so
 * HEALTHY_OR_ELSE_ALL drops the instance while its siblings are healthy); that is 200 instance
 * changes. Meanwhile 20 new services are created (one every 4 s, one instance each). Changes are
 * scheduled at random times independent of the pollers (see CHURN_FIRST_MS below); services churn
 * in parallel.
 *
 * While that runs, a keep-alive load (12 raw keep-alive connections, scripts/churn/load.ts)
 * goes through HAProxy to every churn and health host (and to each new host once it answers),
 * and one probe per affected host sends a request every 50 ms. Every non-2xx answer, reset,
 * closed connection or timeout is a failed request (new hosts: only after their first 2xx).
 *
 * Convergence is measured on the backends: each instance is its own tiny HTTP server that
 * records when it served requests. From the moment the Cloud Map SDK call returned:
 *   add / move / healthy / new service → the new instance (or new port) serves its first request;
 *   remove / unhealthy → the instance's last request (confirmed by 1.5 s of silence while the
 *   probe keeps hitting the host every 50 ms).
 *
 * Reloads: `show proc` on the master socket (src/haproxy/master-cli.ts) before and after.
 * Cloud Map calls per minute: the mock's `GET /_mock/calls`, zeroed once the system is ready,
 * read after a window of 2 × REFRESH_RATE (at least 60 s), for 100 and 1,000 services (syntheticFixture, one
 * instance each, ports nobody listens on).
 *
 * Everything listens on 127.0.0.1; every loop has a deadline; every process started here (the
 * agent, the HAProxy it started, the baseline's HAProxy) is killed by PID at the end.
 *
 * Where the parts are (scripts/churn/): params.ts (flags, sizes, timing), sut.ts (the two systems),
 * phase.ts (one churn phase: setup, load, result), scenario.ts (the changes), convergence.ts,
 * echo-backend.ts / keepalive-client.ts / load.ts (HTTP), calls.ts (calls per minute),
 * report-tables.ts and report-section.ts (the report); scripts/bench/ holds what the benches share.
 */import { readFileSync, writeFileSync } from "node:fs"
import { cpus, loadavg } from "node:os"
import { join } from "node:path"
import process from "node:process"
import { ensureAgentBinary, ROOT } from "./bench/agent-binary.ts"
import { haproxyVersion } from "./bench/haproxy.ts"
import { bunVersion, gitDescribe, loadAverageText } from "./bench/machine.ts"
import { writeSection } from "./bench/report.ts"
import { OPTIONS_TEXT, OPTIONS_TITLE_SUFFIX } from "./bench/service-options.ts"
import { measureCalls } from "./churn/calls.ts"
import { cleanups, say, WORK } from "./churn/context.ts"
import { HAPROXY, OPTIONS, OUT, P, QUICK, REBUILD, RENDER_FROM, RUN_DEADLINE, WRITE } from "./churn/params.ts"
import { runChurn } from "./churn/phase.ts"
import { failureDigest, report } from "./churn/report-tables.ts"
import { renderSection } from "./churn/report-section.ts"
import type { CallsResult, ChurnResult } from "./churn/results.ts"
import { startAgentSut, startBaselineSut } from "./churn/sut.ts"

const haproxyText = () => haproxyVersion(HAPROXY)?.line ?? "unknown"

/** `## Churn`, or with options `## Churn (options on every service)` right after it. */
const writeChurnSection = (section: string, meta: Record<string, string>) => {
  const title = meta["options"] === undefined ? "Churn" : `Churn${OPTIONS_TITLE_SUFFIX}`
  writeSection(OUT, title, section, title === "Churn" ? undefined : "Churn")
  say(`wrote the ## ${title} section of ${OUT}`)
}

/** `--render-from=<results.json>`: rebuild the section from a saved full run (no measurement). */
const renderFrom = (path: string) => {
  const saved = JSON.parse(readFileSync(path, "utf8")) as {
    meta: Record<string, string>
    a: ChurnResult
    b: ChurnResult
    calls: Array<CallsResult>
  }
  const table = report(saved.a, saved.b, saved.calls)
  const section = renderSection(table, saved.meta, saved.a, saved.b, saved.calls, failureDigest(saved.a), failureDigest(saved.b))
  process.stdout.write(`${section}\n`)
  writeChurnSection(section, saved.meta)
}

const main = async () => {
  if (RENDER_FROM !== undefined) return renderFrom(RENDER_FROM)
  const load0 = loadavg()
  say(`bench:churn${QUICK ? " --quick" : ""}${OPTIONS ? " --options" : ""}: ${cpus().length} vCPU, HAProxy ${haproxyText()}, bun ${bunVersion()}, load average ${loadAverageText(load0)}`)
  say(`work directory ${WORK}`)
  if (OPTIONS) say(`options on every service: ${OPTIONS_TEXT.replaceAll("`", "")}`)
  ensureAgentBinary(REBUILD, say)

  const a = await runChurn("agent", startAgentSut, 0xa11ce)
  const b = await runChurn("baseline", startBaselineSut, 0xa11ce)

  const calls: Array<CallsResult> = []
  for (const n of P.callsScales) {
    if (Date.now() > RUN_DEADLINE - 2 * 60_000) {
      say(`skipping the ${n}-service calls measurement: run deadline`)
      continue
    }
    calls.push(await measureCalls("agent", n, startAgentSut))
    calls.push(await measureCalls("baseline", n, startBaselineSut))
  }

  const load1 = loadavg()
  const date = new Date().toISOString().replace(/\.\d+Z$/, "Z")
  const table = report(a, b, calls)
  const digestA = failureDigest(a)
  const digestB = failureDigest(b)
  process.stdout.write(`\n${table}\n\n${digestA}\n${digestB}\n`)
  for (const r of [a, b]) {
    if (r.logProblems.length > 0) {
      process.stdout.write(`\n${r.label}: ${r.logProblems.length} warning/error log lines, first ones:\n${r.logProblems.slice(0, 8).join("\n")}\n`)
    }
    if (r.sdkErrors > 0) process.stdout.write(`${r.label}: ${r.sdkErrors} Cloud Map SDK calls failed\n`)
  }
  const meta = {
    date,
    commit: gitDescribe(ROOT),
    machine: `${cpus().length} vCPU, HAProxy ${haproxyText()}, bun ${bunVersion()}`,
    load: `load average ${loadAverageText(load0)} at start, ${loadAverageText(load1)} at the end`,
    ...(OPTIONS ? { options: OPTIONS_TEXT } : {})
  }
  // RequestStats' `failed` is a getter: spelled out so results.json has it.
  const results = { meta, table, digestA, digestB, a: { ...a, requests: { ...a.requests, failed: a.requests.failed } }, b: { ...b, requests: { ...b.requests, failed: b.requests.failed } }, calls }
  const jsonPath = join(WORK, "results.json")
  writeFileSync(jsonPath, JSON.stringify(results, null, 2))
  say(`raw results: ${jsonPath}`)
  if (WRITE) writeChurnSection(renderSection(table, meta, a, b, calls, digestA, digestB), meta)
}

const hardStop = setTimeout(() => {
  say("run deadline reached: stopping everything")
  void cleanups.run().then(() => process.exit(2))
}, RUN_DEADLINE - Date.now() + 60_000)
hardStop.unref()
await cleanups.runMain(main, say)
