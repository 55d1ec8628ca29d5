/**
 * Throttling storm: `npm run bench:storm` (= `bun scripts/bench-storm.ts`). The compiled agent at
 * its defaults against the in-process mock Cloud Map (1,000 services × 2 instances, one HTTP sink),
 * in both modes (the change feed, and CHANGE_FEED=false), each with 60 % and 100 % of every Cloud
 * Map call throttled (the mock's fault rule: RequestLimitExceeded, HTTP 429) for 150 s. Per run:
 *
 *   - /healthz and /readyz every 500 ms from the storm's start until 30 s after it: answers
 *     other than 200 (required: none);
 *   - `degraded` in /status: seconds from the storm's start until it is true with a reason that
 *     says throttling (required: within one round);
 *   - routes: one request a second through HAProxy to an existing service (required: all 200);
 *   - Cloud Map calls a second during the storm by bucket, from the mock's counters, against the
 *     agent's limits (CLOUDMAP_RATE_LIMIT 400, CLOUDMAP_CONTROL_RATE_LIMIT 50, CLOUDMAP_FEED_RATE_LIMIT 20);
 *   - a registration right after the storm (RegisterInstance with the real SDK, on a fresh echo
 *     server): seconds until HAProxy serves it (required: within 10 s).
 *
 * Flags: --services N (1000), --storm-seconds N (150), --rates 60,100, --modes feed,polling,
 * --quick (300 services, 40 s storm, 100 % only), --write (the `## Throttling storm` section of
 * BENCHMARKS.md; a full run writes it), --no-write, --rebuild, --binary PATH.
 * Everything listens on 127.0.0.1; every process started here is stopped by PID at the end.
 */
import { RegisterInstanceCommand } from "@aws-sdk/client-servicediscovery"
import { mkdtempSync, rmSync } from "node:fs"
import { cpus, loadavg } from "node:os"
import { join } from "node:path"
import process from "node:process"
import { addMockFaults, mockCalls, resetMockCalls } from "./bench/adapters/mock-cloudmap.ts"
import { agentLog } from "./bench/agent-log.ts"
import { BENCH_DOMAIN, benchAgentEnv, spawnAgent, waitAgentReady } from "./bench/agent.ts"
import { AGENT_BINARY, ensureAgentBinary } from "./bench/agent-binary.ts"
import { processArgs } from "./bench/args.ts"
import { cloudMapClient, instanceAttributes } from "./bench/cloudmap-sdk.ts"
import { haproxyBinary, haproxyVersion } from "./bench/haproxy.ts"
import { bunVersion, gitDescribe, loadAverageText } from "./bench/machine.ts"
import { freePort, getByHost } from "./bench/net.ts"
import { BENCHMARKS_MD, writeSection } from "./bench/report.ts"
import { sleep } from "./bench/wait.ts"
import { RUN_TOKEN, startEchoBackend } from "./churn/echo-backend.ts"
import { cleanups, say, WORK } from "./scale/context.ts"
import { startFleet } from "./scale/fleet.ts"

const args = processArgs()
const QUICK = args.has("quick")
const SERVICES = args.number("services", QUICK ? 300 : 1000)
const STORM_SECONDS = args.number("storm-seconds", QUICK ? 40 : 150)
const RATES = (args.string("rates") ?? (QUICK ? "100" : "60,100")).split(",").map(Number)
const MODES = (args.string("modes") ?? "feed,polling").split(",") as Array<"feed" | "polling">
const WRITE = args.has("write") || (!QUICK && !args.has("no-write"))
const BINARY = args.string("binary") ?? AGENT_BINARY
const AFTER_SECONDS = 30
const SERVE_LIMIT_MS = 10_000
const LIMITS = { data: 400, control: 50, feed: 20 }
const CONTROL = new Set(["ListNamespaces", "ListServices", "GetServiceAttributes"])
const FEED = new Set(["ListOperations", "GetOperation"])

interface StormRun {
  readonly mode: "feed" | "polling"
  readonly rate: number
  readonly healthzFailures: number
  readonly readyzFailures: number
  readonly samples: number
  readonly healthzFirstFailure: string | undefined
  readonly degradedAfterS: number | undefined
  readonly degradedReason: string | undefined
  readonly routeRequests: number
  readonly routeFailures: number
  readonly callsPerSecond: { readonly data: number; readonly control: number; readonly feed: number }
  readonly registrationServedMs: number | undefined
  readonly changeFeedAfter: string
}

const statusOf = async (get: (p: string) => Promise<{ status: number; body: string } | undefined>) => {
  const r = await get("/status")
  return r?.status === 200 ? JSON.parse(r.body) as { degraded: boolean; degradedReasons: Array<string>; changeFeed: { state: string; problem?: string } } : undefined
}

const runOne = async (mode: "feed" | "polling", rate: number): Promise<StormRun> => {
  const label = `storm-${mode}-${rate}`
  const fleet = await startFleet(SERVICES)
  const forgetFleet = cleanups.add(fleet.close)
  const configDir = mkdtempSync(join(WORK, `${label}-config-`))
  const listenPort = await freePort()
  const healthPort = await freePort()
  const log = agentLog(join(WORK, `${label}.log`))
  const agent = spawnAgent({
    binary: BINARY,
    configDir,
    listenPort,
    healthPort,
    mockUrl: fleet.mock.url,
    env: {
      ...benchAgentEnv({ mockUrl: fleet.mock.url, configDir, listenPort, healthPort }),
      HAPROXY_BIN: haproxyBinary(),
      DRAIN_SECONDS: "0",
      ...(mode === "polling" ? { CHANGE_FEED: "false" } : {})
    },
    stdout: true,
    onOutput: log.write
  })
  const forgetAgent = cleanups.add(() => agent.stop())
  const sdk = cloudMapClient(fleet.mock.url, 3)
  const echo = await startEchoBackend("storm-new-1")
  try {
    const readyMs = await waitAgentReady(agent, { timeoutMs: 600_000, intervalMs: 50, context: log.lastLines })
    say(`${label}: ${SERVICES} services, ready after ${(readyMs / 1000).toFixed(1)} s; settling 15 s`)
    await sleep(15_000)
    await resetMockCalls(fleet.mock)
    const stormStart = performance.now()
    await addMockFaults(fleet.mock, [{ kind: "throttle", ...(rate < 100 ? { probability: rate / 100 } : {}) }])
    say(`${label}: storm: ${rate} % of calls throttled for ${STORM_SECONDS} s`)
    let healthzFailures = 0
    let readyzFailures = 0
    let samples = 0
    let healthzFirstFailure: string | undefined
    let degradedAfterS: number | undefined
    let degradedReason: string | undefined
    let routeRequests = 0
    let routeFailures = 0
    let callsAtEnd: Awaited<ReturnType<typeof mockCalls>> | undefined
    let stormEnded = false
    const end = stormStart + (STORM_SECONDS + AFTER_SECONDS) * 1000
    let nextRoute = stormStart
    while (performance.now() < end) {
      const t = performance.now()
      if (!stormEnded && t - stormStart >= STORM_SECONDS * 1000) {
        callsAtEnd = await mockCalls(fleet.mock)
        await fetch(`${fleet.mock.url}/_mock/faults`, { method: "DELETE" })
        stormEnded = true
        say(`${label}: storm over`)
        break
      }
      const [h, r] = await Promise.all([agent.get("/healthz"), agent.get("/readyz")])
      samples++
      if (h?.status !== 200) {
        healthzFailures++
        healthzFirstFailure ??= `${((t - stormStart) / 1000).toFixed(1)} s: ${h?.status ?? "no answer"} ${h?.body.trim() ?? ""}`
      }
      if (r?.status !== 200) readyzFailures++
      if (degradedAfterS === undefined) {
        const s = await statusOf(agent.get)
        const reason = s?.degradedReasons.find((x) => /throttl/i.test(x))
        if (s?.degraded === true && reason !== undefined) {
          degradedAfterS = (performance.now() - stormStart) / 1000
          degradedReason = reason
          say(`${label}: degraded after ${degradedAfterS.toFixed(1)} s: ${reason}`)
        }
      }
      if (t >= nextRoute) {
        nextRoute += 1000
        routeRequests++
        const svc = fleet.services[routeRequests % fleet.services.length]!
        const a = await getByHost(listenPort, `${svc.name}.${BENCH_DOMAIN}`, {}, 2000)
        if (a?.status !== 200) routeFailures++
      }
      await sleep(Math.max(0, 500 - (performance.now() - t)))
    }
    // Right after the storm: a registration, timed until HAProxy serves it.
    const target = fleet.services[7 % fleet.services.length]!
    await sdk.send(new RegisterInstanceCommand({ ServiceId: target.id, InstanceId: "storm-new-1", Attributes: instanceAttributes(echo.port) }))
    const t0 = performance.now()
    let registrationServedMs: number | undefined
    let nextCheck = t0
    while (performance.now() - t0 < AFTER_SECONDS * 1000) {
      const t = performance.now()
      const a = await getByHost(listenPort, `${target.name}.${BENCH_DOMAIN}`, { "x-bench-run": RUN_TOKEN }, 2000)
      if (a?.status === 200 && a.body.trim() === echo.name) {
        registrationServedMs = performance.now() - t0
        break
      }
      // Liveness keeps being watched after the storm too.
      if (t >= nextCheck) {
        nextCheck += 500
        const h = await agent.get("/healthz")
        samples++
        if (h?.status !== 200) {
          healthzFailures++
          healthzFirstFailure ??= `${((t - stormStart) / 1000).toFixed(1)} s: ${h?.status ?? "no answer"} ${h?.body.trim() ?? ""}`
        }
      }
      await sleep(Math.max(0, 50 - (performance.now() - t)))
    }
    say(`${label}: registration after the storm ${registrationServedMs === undefined ? "NOT served" : `served after ${(registrationServedMs / 1000).toFixed(2)} s`}`)
    const perSecond = { data: 0, control: 0, feed: 0 }
    for (const [op, c] of Object.entries(callsAtEnd?.operations ?? {})) {
      const bucket = CONTROL.has(op) ? "control" : FEED.has(op) ? "feed" : "data"
      perSecond[bucket] += c.total / STORM_SECONDS
    }
    const s = await statusOf(agent.get)
    const changeFeedAfter = s === undefined ? "?" : `${s.changeFeed.state}${s.changeFeed.problem === undefined ? "" : ` (${s.changeFeed.problem})`}`
    const run: StormRun = {
      mode,
      rate,
      healthzFailures,
      readyzFailures,
      samples,
      healthzFirstFailure,
      degradedAfterS,
      degradedReason,
      routeRequests,
      routeFailures,
      callsPerSecond: perSecond,
      registrationServedMs,
      changeFeedAfter
    }
    say(`${label}: ${JSON.stringify(run)}`)
    return run
  } finally {
    await agent.stop()
    forgetAgent()
    await log.close()
    rmSync(configDir, { recursive: true, force: true })
    await echo.close()
    sdk.destroy()
    await fleet.close()
    forgetFleet()
  }
}

const verdict = (r: StormRun) => {
  const problems: Array<string> = []
  if (r.healthzFailures > 0) problems.push(`/healthz failed ${r.healthzFailures}×`)
  if (r.degradedAfterS === undefined) problems.push("never degraded (throttling)")
  if (r.routeFailures > 0) problems.push(`${r.routeFailures} route failures`)
  if (r.callsPerSecond.data > LIMITS.data || r.callsPerSecond.control > LIMITS.control || r.callsPerSecond.feed > LIMITS.feed) problems.push("over a rate limit")
  if (r.registrationServedMs === undefined || r.registrationServedMs > SERVE_LIMIT_MS) problems.push("registration not served within 10 s")
  return problems.length === 0 ? "holds" : `FAILS: ${problems.join(", ")}`
}

const section = (runs: ReadonlyArray<StormRun>, commit: string, load: string) => {
  const rows = runs.map((r) =>
    `| ${r.mode === "feed" ? "change feed" : "CHANGE_FEED=false"} | ${r.rate} % | ${r.healthzFailures} of ${r.samples} | ${r.readyzFailures} | ` +
    `${r.degradedAfterS === undefined ? "never" : `${r.degradedAfterS.toFixed(1)} s`} | ${r.routeFailures} of ${r.routeRequests} | ` +
    `${r.callsPerSecond.data.toFixed(1)} / ${r.callsPerSecond.control.toFixed(1)} / ${r.callsPerSecond.feed.toFixed(1)} | ` +
    `${r.registrationServedMs === undefined ? "not served" : `${(r.registrationServedMs / 1000).toFixed(2)} s`} | ${r.changeFeedAfter} | ${verdict(r)} |`
  )
  const reason = runs.find((r) => r.degradedReason !== undefined)?.degradedReason
  return [
    "## Throttling storm",
    "",
    `Commit ${commit}, \`npm run bench:storm\`${QUICK ? " --quick" : ""}: ${SERVICES} services × 2 instances on the mock Cloud Map, the agent at its defaults ` +
    `(CHANGE_FEED=false where said); every Cloud Map call throttled (RequestLimitExceeded, HTTP 429) with the given probability for ${STORM_SECONDS} s; ` +
    `/healthz and /readyz sampled every 500 ms from the storm's start until the registration after it served; one request a second through HAProxy. ` +
    `${cpus().length} vCPU shared with other work (load average ${load} at the start).`,
    "",
    "| mode | throttled | /healthz not 200 | /readyz not 200 | degraded (throttling) after | route failures | calls/s data / control / feed (limits 400 / 50 / 20) | registration after the storm served in | change feed after | verdict |",
    "|---|---|---|---|---|---|---|---|---|---|",
    ...rows,
    "",
    reason === undefined ? "" : `The reason /status gives: “${reason}”`
  ].join("\n")
}

const main = async () => {
  const load = loadAverageText(loadavg())
  say(`bench:storm: ${SERVICES} services, storm ${STORM_SECONDS} s, rates ${RATES.join(", ")} %, modes ${MODES.join(", ")}; ${cpus().length} vCPU, HAProxy ${haproxyVersion(haproxyBinary())?.line ?? "?"}, bun ${bunVersion()}, load average ${load}`)
  say(`work directory ${WORK}`)
  // The commit the binary is built from (work may go on while the bench runs).
  const commit = gitDescribe(process.cwd())
  if (BINARY === AGENT_BINARY) ensureAgentBinary(args.has("rebuild"), say)
  const runs: Array<StormRun> = []
  for (const mode of MODES) for (const rate of RATES) runs.push(await runOne(mode, rate))
  const text = section(runs, commit, load)
  process.stdout.write(`\n${text}\n`)
  if (WRITE) {
    writeSection(BENCHMARKS_MD, "Throttling storm", text)
    say(`wrote the ## Throttling storm section of ${BENCHMARKS_MD}`)
  }
}

await cleanups.runMain(main, say)
