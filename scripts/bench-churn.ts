/**
 * Churn benchmark: `npm run bench:churn` (= `bun scripts/bench-churn.ts`), `--quick` for a smoke
 * run, `--write` / `--no-write` to force or skip updating the `## Churn` section of BENCHMARKS.md
 * (a full run writes it, a quick run does not), `--out=<file>` to write that section elsewhere,
 * `--render-from=<results.json>` to rebuild the section from the raw results of an earlier full run,
 * `--rebuild` to build dist/cloudmap-haproxy even if it exists.
 *
 * Two systems under test, run one after the other in the same invocation, against the same
 * scenario on a fresh mock Cloud Map (src/mock/server.ts) each:
 *   (a) the agent as shipped (`dist/cloudmap-haproxy run`, built when missing or with --rebuild) at its default settings (read back with its own config
 *       reader for the report). Only addresses, ports, directories, the mock endpoint, passwords
 *       and DRAIN_SECONDS=1 (shutdown only) are set;
 *   (b) the reload-every-change baseline of scripts/bench-churn-baseline.ts: a poller that
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
 * While that runs, a keep-alive load (12 raw keep-alive connections, scripts/bench-churn-http.ts)
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
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { createWriteStream, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { cpus, loadavg, tmpdir } from "node:os"
import { join } from "node:path"
import process from "node:process"
import {
  CreateServiceCommand,
  DeregisterInstanceCommand,
  RegisterInstanceCommand,
  ServiceDiscoveryClient,
  UpdateInstanceCustomHealthStatusCommand
} from "@aws-sdk/client-servicediscovery"
import { Effect, Result } from "effect"
import { readAgentConfig } from "../src/config/agent-config.ts"
import { toRenderSettings } from "../src/config/render-settings.ts"
import { showProc, type ShowProc } from "../src/haproxy/master-cli.ts"
import { type Fixture, type FixtureService, syntheticFixture } from "../src/mock/fixture.ts"
import { type MockCloudMapHandle, startMockCloudMap } from "../src/mock/server.ts"
import { startBaseline, type BaselineHandle } from "./bench-churn-baseline.ts"
import {
  type EchoBackend,
  type FailureEvent,
  type LoadHandle,
  type ProbeHandle,
  RequestStats,
  runLoad,
  startEchoBackend,
  startProbe
} from "./bench-churn-http.ts"
import { makeRandom } from "../src/mock/random.ts"

// ---------------------------------------------------------------------------------------------
// Parameters

const ARGS = process.argv.slice(2)
const QUICK = ARGS.includes("--quick")
const WRITE = ARGS.includes("--write") || ARGS.some((a) => a.startsWith("--out=")) || (!QUICK && !ARGS.includes("--no-write"))
const ROOT = new URL("..", import.meta.url).pathname
const BUN = join(ROOT, "node_modules/.bin/bun")
/** The agent as shipped: the compiled binary (built by `npm run build` when missing or with --rebuild). */
const AGENT_BINARY = join(ROOT, "dist/cloudmap-haproxy")
const HAPROXY = process.env["HAPROXY_BIN"] ?? (existsSync("/usr/sbin/haproxy") ? "/usr/sbin/haproxy" : "haproxy")

const P = QUICK
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
const CHURN_FIRST_MS = 10_000
const CHURN_GAP_MIN_MS = 4_000
const CHURN_GAP_SPAN_MS = 12_000
const HEALTH_FIRST_MS = 30_000
const HEALTH_GAP_MIN_MS = 40_000
const HEALTH_GAP_SPAN_MS = 10_000
const INITIAL_INSTANCES = 3
const LOAD_CONNECTIONS = 12
const LOAD_GAP_MS = 20
const REQUEST_TIMEOUT_MS = 5_000
const PROBE_INTERVAL_MS = 50
const QUIET_MS = 1_500
/** A move is "stale" when its old port keeps receiving requests this long after the new port's first one. */
const STALE_MS = 1_000
/** Per change: revision-visible changes, health flips and new services. */
const TIMEOUT_REVISION_MS = 45_000
const TIMEOUT_SLOW_MS = 80_000
/** No new change starts after this long in a churn phase; the phase itself ends by then + timeouts. */
const PHASE_CHANGE_WINDOW_MS = 6 * 60_000
const DOMAIN = "bench.test"
const NAMESPACE = "apps"
const NAMESPACE_MAP = JSON.stringify([{ namespace: NAMESPACE, domainname: DOMAIN, mode: "host" }])
/**
 * The agent's defaults as its own config reader sees them (the benchmark never sets them), so the
 * report names the settings that were actually in force.
 */
const DEFAULTS = (() => {
  const r = readAgentConfig({ AWS_REGION: "us-east-1", NAMESPACE_MAP, STATS_PASSWD: "x", PROM_PASSWD: "x" })
  if (Result.isFailure(r)) throw new Error(`cannot read the agent's defaults: ${JSON.stringify(r.failure)}`)
  return r.success
})()
/** The baseline polls as often as the agent checks revisions, so the apply path is what differs. */
const BASELINE_POLL_MS = DEFAULTS.revisionPollSeconds * 1000
/** Hard stop for the whole run. */
const RUN_DEADLINE = Date.now() + 25 * 60_000

const started = Date.now()
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s`
const say = (line: string) => process.stdout.write(`[${elapsed()}] ${line}\n`)
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

const WORK = mkdtempSync(join(tmpdir(), "bench-churn-"))
const cleanups: Array<() => Promise<void> | void> = []


const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.on("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      if (address === null || typeof address === "string") return reject(new Error("no port"))
      server.close(() => resolve(address.port))
    })
  })

/** PIDs of HAProxy processes whose command line mentions `configDir` (read from /proc, no pattern tools). */
const haproxyPidsFor = (configDir: string): Array<number> => {
  const out: Array<number> = []
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0")
      if ((argv[0] ?? "").endsWith("haproxy") && argv.some((a) => a.includes(configDir))) out.push(Number(entry))
    } catch {
      // gone meanwhile
    }
  }
  return out
}

/** A function that runs at most once; later calls get the first call's promise. */
const once = (f: () => Promise<void>): (() => Promise<void>) => {
  let p: Promise<void> | undefined
  return () => (p ??= f())
}

const killPids = (pids: ReadonlyArray<number>) => {
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL")
    } catch {
      // already gone
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Statistics

const percentile = (sorted: ReadonlyArray<number>, p: number): number | undefined => {
  if (sorted.length === 0) return undefined
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[i]
}

interface Summary {
  readonly n: number
  readonly timeouts: number
  readonly p50: number | undefined
  readonly p95: number | undefined
  readonly max: number | undefined
}

const summarize = (values: ReadonlyArray<number | undefined>): Summary => {
  const done = values.filter((v): v is number => v !== undefined).sort((a, b) => a - b)
  return {
    n: values.length,
    timeouts: values.length - done.length,
    p50: percentile(done, 50),
    p95: percentile(done, 95),
    max: done[done.length - 1]
  }
}

const secs = (ms: number | undefined) => (ms === undefined ? "–" : `${(ms / 1000).toFixed(2)} s`)
const fmtSummary = (s: Summary) =>
  s.n === 0
    ? "–"
    : `${secs(s.p50)} / ${secs(s.p95)} / ${secs(s.max)} (n=${s.n}${s.timeouts > 0 ? `, ${s.timeouts} timed out` : ""})`

// ---------------------------------------------------------------------------------------------
// Cloud Map helpers

const sdkFor = (url: string) =>
  new ServiceDiscoveryClient({
    region: "us-east-1",
    endpoint: url,
    disableHostPrefix: true,
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
    maxAttempts: 3
  })

const instanceAttrs = (port: number) => ({ AWS_INSTANCE_IPV4: "127.0.0.1", AWS_INSTANCE_PORT: String(port) })

const fmtS = (seconds: number) => `${Number.isInteger(seconds) ? seconds : seconds.toFixed(1)} s`

const mockCalls = async (mock: MockCloudMapHandle) => {
  const r = await fetch(`${mock.url}/_mock/calls`)
  const body = (await r.json()) as { total: number; operations: Record<string, { total: number }> }
  return body
}

const resetMockCalls = async (mock: MockCloudMapHandle) => {
  await fetch(`${mock.url}/_mock/calls/reset`, { method: "POST" })
}

// ---------------------------------------------------------------------------------------------
// Systems under test

interface SystemUnderTest {
  readonly label: string
  readonly listenPort: number
  readonly masterSocket: string
  /** Resolves when HAProxy routes `expected` services with `instances` instances (or rejects at the deadline). */
  readonly waitRouted: (services: number, instances: number | undefined, timeoutMs: number) => Promise<void>
  readonly details: () => Promise<Record<string, number>>
  readonly logProblems: () => Array<string>
  readonly stop: () => Promise<void>
}

const agentEnv = (mock: MockCloudMapHandle, configDir: string, listenPort: number, healthPort: number): Record<string, string> => ({
  PATH: process.env.PATH ?? "/usr/bin:/bin",
  HOME: process.env.HOME ?? "/tmp",
  AWS_REGION: "us-east-1",
  AWS_ACCESS_KEY_ID: "test",
  AWS_SECRET_ACCESS_KEY: "test",
  AWS_EC2_METADATA_DISABLED: "true",
  AWS_ENDPOINT_URL_SERVICEDISCOVERY: mock.url,
  NAMESPACE_MAP,
  STATS_PASSWD: "bench-stats",
  PROM_PASSWD: "bench-prom",
  CONFIG_DIR: configDir,
  HAPROXY_BIN: HAPROXY,
  LISTEN_ADDRESS: "127.0.0.1",
  LISTEN_PORT: String(listenPort),
  HEALTH_PORT: String(healthPort),
  // Shutdown only: how long HAProxy may drain after SIGTERM. Irrelevant to every measurement.
  DRAIN_SECONDS: "1"
})

/** Settings the agent uses besides the defaults (documented in BENCHMARKS.md). */
const AGENT_NON_DEFAULTS = "LISTEN_ADDRESS=127.0.0.1, LISTEN_PORT/HEALTH_PORT=free ports, CONFIG_DIR=temp dir, " +
  "AWS_ENDPOINT_URL_SERVICEDISCOVERY=mock, STATS_PASSWD/PROM_PASSWD set, DRAIN_SECONDS=1 (shutdown only)"

const parseMetrics = (text: string): Record<string, number> => {
  const out: Record<string, number> = {}
  for (const line of text.split("\n")) {
    const m = /^(cloudmap_haproxy_(?:reloads_total|runtime_updates_total|refreshes_total))\{([^}]*)\}\s+([0-9.e+]+)/.exec(line)
    if (m === null) continue
    const labels = Object.fromEntries([...m[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1]!, x[2]!]))
    const name = m[1]!.replace("cloudmap_haproxy_", "").replace("_total", "")
    const key = name === "refreshes" ? `refreshes ${labels["kind"]} ${labels["outcome"]}` : `${name} ${labels["reason"]} ${labels["outcome"]}`
    out[key] = (out[key] ?? 0) + Number(m[3])
  }
  return out
}

const startAgentSut = async (mock: MockCloudMapHandle, label: string): Promise<SystemUnderTest> => {
  const configDir = mkdtempSync(join(WORK, "agent-"))
  const listenPort = await freePort()
  const healthPort = await freePort()
  const logPath = join(WORK, `${label}.log`)
  const logFile = createWriteStream(logPath)
  const problems: Array<string> = []
  const child: ChildProcess = spawn(AGENT_BINARY, ["run"], {
    env: agentEnv(mock, configDir, listenPort, healthPort),
    stdio: ["ignore", "pipe", "pipe"]
  })
  let buffer = ""
  const onData = (chunk: Buffer) => {
    logFile.write(chunk)
    buffer += chunk.toString()
    const lines = buffer.split("\n")
    buffer = lines.pop() ?? ""
    for (const line of lines) {
      if (/"level":"(WARN|ERROR|FATAL)"|"level":"(warn|error)"|could not be verified|rejected/i.test(line) && problems.length < 200) {
        problems.push(line.slice(0, 400))
      }
    }
  }
  child.stdout?.on("data", onData)
  child.stderr?.on("data", onData)
  const exited = new Promise<void>((r) => child.once("exit", () => r()))
  const get = async (path: string) => {
    const res = await fetch(`http://127.0.0.1:${healthPort}${path}`)
    return { status: res.status, body: await res.text() }
  }
  const stop = once(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM")
    const timer = setTimeout(() => child.kill("SIGKILL"), 15_000)
    await exited
    clearTimeout(timer)
    killPids(haproxyPidsFor(configDir))
    logFile.end()
    rmSync(configDir, { recursive: true, force: true })
  })
  cleanups.push(stop)
  say(`${label}: agent pid ${child.pid}, HAProxy on 127.0.0.1:${listenPort}, log ${logPath}`)
  return {
    label,
    listenPort,
    masterSocket: join(configDir, "master.sock"),
    waitRouted: async (services, instances, timeoutMs) => {
      const deadline = Date.now() + timeoutMs
      let last = ""
      while (Date.now() < deadline) {
        if (child.exitCode !== null) throw new Error(`${label}: the agent exited (code ${child.exitCode}); see ${logPath}`)
        try {
          const s = JSON.parse((await get("/status")).body) as {
            counts: { services: number; instances: number }
            haproxy: { running: boolean }
          }
          last = JSON.stringify(s.counts)
          if (
            s.haproxy.running && s.counts.services === services && (instances === undefined || s.counts.instances === instances)
          ) return
        } catch (e) {
          last = String(e)
        }
        await sleep(250)
      }
      throw new Error(`${label}: not routed within ${timeoutMs} ms (last counts ${last})`)
    },
    details: async () => parseMetrics((await get("/metrics")).body),
    logProblems: () => problems,
    stop
  }
}

const startBaselineSut = async (mock: MockCloudMapHandle, label: string): Promise<SystemUnderTest> => {
  const configDir = mkdtempSync(join(WORK, "baseline-"))
  const listenPort = await freePort()
  const config = readAgentConfig(agentEnv(mock, configDir, listenPort, await freePort()))
  if (Result.isFailure(config)) throw new Error(`baseline settings: ${JSON.stringify(config.failure)}`)
  const settings = toRenderSettings(config.success)
  const logPath = join(WORK, `${label}.log`)
  const logFile = createWriteStream(logPath)
  const problems: Array<string> = []
  let stopping = false
  const handle: BaselineHandle = startBaseline({
    endpoint: mock.url,
    mapping: { namespace: NAMESPACE, domain: DOMAIN, mode: "host" },
    settings,
    haproxyBin: HAPROXY,
    pollMs: BASELINE_POLL_MS,
    log: (line) => {
      logFile.write(`${new Date().toISOString()} ${line}\n`)
      if (line === "stopping") stopping = true
      if (!stopping && /fail|ALERT/i.test(line) && problems.length < 200) problems.push(line.slice(0, 400))
    }
  })
  const stop = once(async () => {
    await handle.stop()
    killPids(haproxyPidsFor(configDir))
    logFile.end()
    rmSync(configDir, { recursive: true, force: true })
  })
  cleanups.push(stop)
  say(`${label}: baseline poller (every ${fmtS(BASELINE_POLL_MS / 1000)}), HAProxy on 127.0.0.1:${listenPort}, log ${logPath}`)
  return {
    label,
    listenPort,
    masterSocket: handle.masterSocket,
    waitRouted: async (_services, _instances, timeoutMs) => {
      const timeout = sleep(timeoutMs).then(() => {
        throw new Error(`${label}: the baseline did not start HAProxy within ${timeoutMs} ms`)
      })
      await Promise.race([handle.ready, timeout])
    },
    details: async () => {
      const c = handle.counters()
      return { "poll rounds": c.polls, "failed poll rounds": c.pollFailures, "reloads ok": c.reloadsOk, "reloads failed": c.reloadsFailed }
    },
    logProblems: () => problems,
    stop
  }
}

const readShowProc = async (socket: string): Promise<ShowProc | undefined> => {
  const r = await Effect.runPromise(Effect.result(showProc(socket)))
  return r._tag === "Success" ? r.success : undefined
}

// ---------------------------------------------------------------------------------------------
// The churn phase

type ChangeKind = "add" | "move" | "remove" | "unhealthy" | "healthy" | "new service"

interface ChangeResult {
  readonly kind: ChangeKind
  readonly service: string
  readonly instance: string
  readonly at: number
  /** ms from the SDK call's return to convergence; undefined = timed out. */
  readonly convergedMs: number | undefined
  /** move only: ms until the OLD port stopped receiving requests. */
  readonly oldStoppedMs?: number | undefined
}

interface ChurnResult {
  readonly label: string
  readonly changes: ReadonlyArray<ChangeResult>
  readonly requests: RequestStats
  readonly loadConnects: number
  readonly reloadsBefore: number | undefined
  readonly reloadsAfter: number | undefined
  readonly oldWorkersAtEnd: number | undefined
  readonly details: Record<string, number>
  readonly detailsBefore: Record<string, number>
  readonly durationMs: number
  readonly logProblems: ReadonlyArray<string>
  readonly sdkErrors: number
  /** Requests our backends refused because they lacked this run's token (other proxies on the machine). */
  readonly foreignHits: number
}

/** Waits until `backend` got no request for QUIET_MS after `since`; the last request's offset, or undefined at the deadline. */
const waitQuiet = async (backend: EchoBackend, since: number, deadline: number): Promise<number | undefined> => {
  while (Date.now() < deadline) {
    const last = backend.lastHitAt() ?? 0
    if (Date.now() - Math.max(last, since) >= QUIET_MS) return Math.max(0, last - since)
    await sleep(100)
  }
  return undefined
}

const runChurn = async (
  label: string,
  startSut: (mock: MockCloudMapHandle, label: string) => Promise<SystemUnderTest>,
  seed: number
): Promise<ChurnResult> => {
  const backends: Array<EchoBackend> = []
  const newBackend = async (id: string) => {
    const b = await startEchoBackend(id)
    backends.push(b)
    return b
  }
  try {
    // Initial registrations, each instance backed by its own server.
    const churn: Array<{ name: string; id: string; live: Array<{ id: string; backend: EchoBackend }>; seq: number }> = []
    const health: Array<{ name: string; id: string; live: Array<{ id: string; backend: EchoBackend }> }> = []
    const services: Array<FixtureService> = []
    for (let c = 0; c < P.churnServices; c++) {
      const live = []
      for (let i = 1; i <= INITIAL_INSTANCES; i++) live.push({ id: `c${c}-${i}`, backend: await newBackend(`c${c}-${i}`) })
      churn.push({ name: `c${c}`, id: `srv-c${c}`, live, seq: INITIAL_INSTANCES })
    }
    for (let h = 0; h < P.healthServices; h++) {
      const live = []
      for (let i = 1; i <= INITIAL_INSTANCES; i++) live.push({ id: `h${h}-${i}`, backend: await newBackend(`h${h}-${i}`) })
      health.push({ name: `h${h}`, id: `srv-h${h}`, live })
    }
    for (const s of [...churn, ...health]) {
      services.push({ name: s.name, id: s.id, instances: s.live.map((l) => ({ id: l.id, attributes: instanceAttrs(l.backend.port) })) })
    }
    const fixture: Fixture = { namespaces: [{ name: NAMESPACE, id: "ns-bench", services }] }
    const mock = await startMockCloudMap({ fixture })
    cleanups.push(() => mock.close())
    const sdk = sdkFor(mock.url)
    cleanups.push(() => sdk.destroy())

    const sut = await startSut(mock, label)
    const initialServices = churn.length + health.length
    await sut.waitRouted(initialServices, initialServices * INITIAL_INSTANCES, 120_000)
    say(`${label}: ${initialServices} services routed; starting the load`)

    const phaseStart = Date.now()
    const changeDeadline = Math.min(RUN_DEADLINE - 3 * 60_000, phaseStart + PHASE_CHANGE_WINDOW_MS)
    const hardDeadline = changeDeadline + TIMEOUT_SLOW_MS + 30_000
    const requests = new RequestStats()
    const loadHosts: Array<string> = [...churn, ...health].map((s) => `${s.name}.${DOMAIN}`)
    const load: LoadHandle = runLoad({
      port: sut.listenPort,
      hosts: () => loadHosts,
      connections: LOAD_CONNECTIONS,
      gapMs: LOAD_GAP_MS,
      timeoutMs: REQUEST_TIMEOUT_MS,
      deadline: hardDeadline,
      maxRequests: 5_000_000,
      stats: requests
    })
    const probes: Array<ProbeHandle> = []
    const probe = (host: string, countFromStart: boolean) =>
      probes.push(startProbe(sut.listenPort, host, requests, {
        intervalMs: PROBE_INTERVAL_MS,
        timeoutMs: REQUEST_TIMEOUT_MS,
        deadline: hardDeadline,
        countFromStart
      }))
    for (const h of loadHosts) probe(h, true)
    await sleep(3_000)
    const cold = backends.filter((b) => b.hits() === 0).map((b) => b.name)
    if (cold.length > 0) say(`${label}: WARNING: initial instances without traffic after warm-up: ${cold.join(", ")}`)

    const before = await readShowProc(sut.masterSocket)
    const detailsBefore = await sut.details()
    const changes: Array<ChangeResult> = []
    let sdkErrors = 0
    const record = (r: ChangeResult) => {
      changes.push(r)
      if (r.convergedMs === undefined) say(`${label}: ${r.kind} ${r.service}/${r.instance} did not converge`)
    }
    const sdkCall = async <A>(f: () => Promise<A>): Promise<A | undefined> => {
      try {
        return await f()
      } catch (e) {
        sdkErrors++
        say(`${label}: Cloud Map call failed: ${(e as Error).message}`)
        return undefined
      }
    }

    // Churn services: add, move, remove in turn (offset per service so kinds interleave).
    const ops: ReadonlyArray<"add" | "move" | "remove"> = ["add", "move", "remove"]
    const churnWorkers = churn.map(async (svc, k) => {
      const random = makeRandom(seed + k)
      const measuring: Array<Promise<void>> = []
      let due = Date.now() + random() * CHURN_FIRST_MS
      for (let n = 0; n < P.changesPerChurnService; n++) {
        if (due > changeDeadline) break
        if (due > Date.now()) await sleep(due - Date.now())
        // The next change is scheduled from this one's start, not from its convergence.
        due += CHURN_GAP_MIN_MS + random() * CHURN_GAP_SPAN_MS
        const kind = ops[(n + k) % 3]!
        if (kind === "add" || (kind === "remove" && svc.live.length <= 2)) {
          const id = `c${k}-${++svc.seq}`
          const b = await newBackend(id)
          if ((await sdkCall(() => sdk.send(new RegisterInstanceCommand({ ServiceId: svc.id, InstanceId: id, Attributes: instanceAttrs(b.port) })))) === undefined) continue
          const t0 = Date.now()
          svc.live.push({ id, backend: b })
          measuring.push(b.firstHitAfter(0, t0 + TIMEOUT_REVISION_MS).then((hit) =>
            record({ kind: "add", service: svc.name, instance: id, at: t0, convergedMs: hit === undefined ? undefined : Math.max(0, hit - t0) })
          ))
        } else if (kind === "move") {
          const target = svc.live.shift()!
          const b = await newBackend(target.id)
          if ((await sdkCall(() => sdk.send(new RegisterInstanceCommand({ ServiceId: svc.id, InstanceId: target.id, Attributes: instanceAttrs(b.port) })))) === undefined) {
            svc.live.unshift(target)
            continue
          }
          const t0 = Date.now()
          svc.live.push({ id: target.id, backend: b })
          measuring.push(Promise.all([
            b.firstHitAfter(0, t0 + TIMEOUT_REVISION_MS),
            waitQuiet(target.backend, t0, t0 + TIMEOUT_REVISION_MS)
          ]).then(([hit, oldStop]) =>
            record({
              kind: "move",
              service: svc.name,
              instance: target.id,
              at: t0,
              convergedMs: hit === undefined ? undefined : Math.max(0, hit - t0),
              oldStoppedMs: oldStop
            })
          ))
        } else {
          const target = svc.live.shift()!
          if ((await sdkCall(() => sdk.send(new DeregisterInstanceCommand({ ServiceId: svc.id, InstanceId: target.id })))) === undefined) {
            svc.live.unshift(target)
            continue
          }
          const t0 = Date.now()
          measuring.push(waitQuiet(target.backend, t0, t0 + TIMEOUT_REVISION_MS).then((quiet) =>
            record({ kind: "remove", service: svc.name, instance: target.id, at: t0, convergedMs: quiet })
          ))
        }
      }
      await Promise.all(measuring)
    })

    // Health services: one instance goes UNHEALTHY, then HEALTHY again (after the first flip converged).
    const healthWorkers = health.map(async (svc, k) => {
      const random = makeRandom(seed + 1000 + k)
      let due = Date.now() + random() * HEALTH_FIRST_MS
      for (let f = 0; f < P.flipsPerHealthService; f++) {
        if (due > changeDeadline) break
        if (due > Date.now()) await sleep(due - Date.now())
        const target = svc.live[Math.floor(f / 2) % svc.live.length]!
        const status = f % 2 === 0 ? "UNHEALTHY" : "HEALTHY"
        if ((await sdkCall(() => sdk.send(new UpdateInstanceCustomHealthStatusCommand({ ServiceId: svc.id, InstanceId: target.id, Status: status })))) === undefined) continue
        const t0 = Date.now()
        due = t0 + HEALTH_GAP_MIN_MS + random() * HEALTH_GAP_SPAN_MS
        if (status === "UNHEALTHY") {
          const quiet = await waitQuiet(target.backend, t0, t0 + TIMEOUT_SLOW_MS)
          record({ kind: "unhealthy", service: svc.name, instance: target.id, at: t0, convergedMs: quiet })
        } else {
          const hit = await target.backend.firstHitAfter(t0, t0 + TIMEOUT_SLOW_MS)
          record({ kind: "healthy", service: svc.name, instance: target.id, at: t0, convergedMs: hit === undefined ? undefined : Math.max(0, hit - t0) })
        }
      }
    })

    // New services: one every newServiceSpacingMs, one instance each.
    const newServiceWork = (async () => {
      const waits: Array<Promise<void>> = []
      for (let j = 0; j < P.newServices && Date.now() < changeDeadline; j++) {
        const due = phaseStart + j * P.newServiceSpacingMs
        if (due > Date.now()) await sleep(due - Date.now())
        const name = `n${j}`
        const created = await sdkCall(() =>
          sdk.send(new CreateServiceCommand({ NamespaceId: "ns-bench", Name: name, HealthCheckCustomConfig: {} }))
        )
        const serviceId = created?.Service?.Id
        if (serviceId === undefined) continue
        const id = `${name}-1`
        const b = await newBackend(id)
        if ((await sdkCall(() => sdk.send(new RegisterInstanceCommand({ ServiceId: serviceId, InstanceId: id, Attributes: instanceAttrs(b.port) })))) === undefined) continue
        const t0 = Date.now()
        const host = `${name}.${DOMAIN}`
        probe(host, false)
        waits.push((async () => {
          const hit = await b.firstHitAfter(0, t0 + TIMEOUT_SLOW_MS)
          record({ kind: "new service", service: name, instance: id, at: t0, convergedMs: hit === undefined ? undefined : Math.max(0, hit - t0) })
          if (hit !== undefined) loadHosts.push(host)
        })())
      }
      await Promise.all(waits)
    })()

    const progress = setInterval(() => {
      const rps = requests.total / ((Date.now() - phaseStart) / 1000)
      say(`${label}: ${changes.length} changes done, ${requests.total} requests (${rps.toFixed(0)}/s), ${requests.failed} failed`)
    }, 20_000)
    await Promise.all([...churnWorkers, ...healthWorkers, newServiceWork]).finally(() => clearInterval(progress))
    // Let the last changes settle under load, then stop.
    await sleep(2_000)
    const after = await readShowProc(sut.masterSocket)
    const details = await sut.details()
    await Promise.all(probes.map((p) => p.stop()))
    await load.stop()
    const durationMs = Date.now() - phaseStart
    say(`${label}: churn done in ${(durationMs / 1000).toFixed(0)} s: ${changes.length} changes, ${requests.total} requests, ${requests.failed} failed`)
    const result: ChurnResult = {
      label,
      changes,
      requests,
      loadConnects: load.connects(),
      reloadsBefore: before?.master.reloads,
      reloadsAfter: after?.master.reloads,
      oldWorkersAtEnd: after?.oldWorkers.length,
      details,
      detailsBefore,
      durationMs,
      logProblems: sut.logProblems(),
      sdkErrors,
      foreignHits: backends.reduce((n, x) => n + x.foreignHits(), 0)
    }
    await sut.stop()
    await mock.close()
    sdk.destroy()
    return result
  } finally {
    await Promise.all(backends.map((b) => b.close()))
  }
}

// ---------------------------------------------------------------------------------------------
// Cloud Map calls at steady state

interface CallsResult {
  readonly label: string
  readonly services: number
  readonly windowS: number
  readonly perMinute: Record<string, number>
  readonly totalPerMinute: number
  readonly readyAfterS: number
}

const measureCalls = async (
  label: string,
  services: number,
  startSut: (mock: MockCloudMapHandle, label: string) => Promise<SystemUnderTest>
): Promise<CallsResult> => {
  const fixture = syntheticFixture({ namespaces: 1, servicesPerNamespace: services, instancesPerService: 1, basePort: 40_000 })
  const mock = await startMockCloudMap({ fixture })
  cleanups.push(() => mock.close())
  const t0 = Date.now()
  const sut = await startSut(mock, `${label}-${services}`)
  try {
    await sut.waitRouted(services, undefined, 180_000)
    const readyAfterS = (Date.now() - t0) / 1000
    // One more beat so the first round's reads of every service are behind us.
    await sleep(2_000)
    await resetMockCalls(mock)
    const windowStart = Date.now()
    const windowEnd = windowStart + (P.callsWindowS > 0 ? P.callsWindowS : Math.max(60, 2 * DEFAULTS.refreshSeconds)) * 1000
    while (Date.now() < windowEnd) await sleep(Math.min(1_000, windowEnd - Date.now()))
    const calls = await mockCalls(mock)
    const windowS = (Date.now() - windowStart) / 1000
    const perMinute: Record<string, number> = {}
    for (const [op, v] of Object.entries(calls.operations)) perMinute[op] = (v.total * 60) / windowS
    say(`${label}-${services}: ${Math.round((calls.total * 60) / windowS)} Cloud Map calls/min over ${windowS.toFixed(0)} s`)
    return { label, services, windowS, perMinute, totalPerMinute: (calls.total * 60) / windowS, readyAfterS }
  } finally {
    await sut.stop()
    await mock.close()
  }
}

// ---------------------------------------------------------------------------------------------
// Report

const haproxyVersion = () => {
  try {
    return execFileSync(HAPROXY, ["-v"], { encoding: "utf8" }).split("\n")[0]!.replace(/ - https?:.*$/, "").replace("HAProxy version ", "")
  } catch {
    return "unknown"
  }
}

const kindsOrder: ReadonlyArray<ChangeKind> = ["add", "move", "remove", "unhealthy", "healthy", "new service"]

const reloadDelta = (r: ChurnResult) =>
  r.reloadsBefore === undefined || r.reloadsAfter === undefined ? undefined : r.reloadsAfter - r.reloadsBefore

const metricDelta = (r: ChurnResult, prefix: string) => {
  const out: Array<string> = []
  for (const [k, v] of Object.entries(r.details)) {
    if (!k.startsWith(prefix)) continue
    const d = v - (r.detailsBefore[k] ?? 0)
    if (d > 0) out.push(`${k.slice(prefix.length).trim()}: ${d}`)
  }
  return out.join(", ") || "0"
}

const report = (a: ChurnResult, b: ChurnResult, calls: ReadonlyArray<CallsResult>, meta: Record<string, string>) => {
  const lines: Array<string> = []
  const row = (cells: ReadonlyArray<string>) => lines.push(`| ${cells.join(" | ")} |`)
  const instanceKinds = (r: ChurnResult, kinds: ReadonlyArray<ChangeKind>) =>
    summarize(r.changes.filter((c) => kinds.includes(c.kind)).map((c) => c.convergedMs))
  const failures = (r: ChurnResult) => {
    const f = r.requests.failures
    const parts = Object.entries(f).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`)
    const src = Object.entries(r.requests.bySource).map(([k, v]) => `${k} ${v.failed}/${v.total.toLocaleString("en-US")}`).join(", ")
    return `**${r.requests.failed}** of ${r.requests.total.toLocaleString("en-US")} (${src})${parts.length > 0 ? `; ${parts.join(", ")}` : ""}`
  }
  const instChanges = (r: ChurnResult) => r.changes.filter((c) => c.kind !== "new service").length
  const newSvc = (r: ChurnResult) => r.changes.filter((c) => c.kind === "new service").length

  row(["", `(a) agent, default settings`, `(b) reload-every-change baseline (poll ${fmtS(BASELINE_POLL_MS / 1000)})`])
  row(["---", "---", "---"])
  row(["changes driven", `${instChanges(a)} instance changes + ${newSvc(a)} new services`, `${instChanges(b)} instance changes + ${newSvc(b)} new services`])
  row(["churn phase duration", `${(a.durationMs / 1000).toFixed(0)} s`, `${(b.durationMs / 1000).toFixed(0)} s`])
  row(["failed requests under load", failures(a), failures(b)])
  row(["HAProxy reloads (`show proc`)", `**${reloadDelta(a) ?? "?"}**`, `**${reloadDelta(b) ?? "?"}**`])
  row(["reloads by reason (agent metrics)", metricDelta(a, "reloads"), "every poll round with a change"])
  row(["runtime updates (agent metrics)", metricDelta(a, "runtime_updates"), "–"])
  row(["old workers still alive at the end", String(a.oldWorkersAtEnd ?? "?"), String(b.oldWorkersAtEnd ?? "?")])
  row(["client connections opened (12 load conns)", String(a.loadConnects), String(b.loadConnects)])
  row(["**convergence p50 / p95 / max**", "", ""])
  row(["add / move / remove (revision visible)", fmtSummary(instanceKinds(a, ["add", "move", "remove"])), fmtSummary(instanceKinds(b, ["add", "move", "remove"]))])
  for (const k of kindsOrder) row([`– ${k}`, fmtSummary(instanceKinds(a, [k])), fmtSummary(instanceKinds(b, [k]))])
  row([
    "– move: old port stops receiving",
    fmtSummary(summarize(a.changes.filter((c) => c.kind === "move").map((c) => c.oldStoppedMs))),
    fmtSummary(summarize(b.changes.filter((c) => c.kind === "move").map((c) => c.oldStoppedMs)))
  ])
  const staleMoves = (r: ChurnResult) => {
    const moves = r.changes.filter((c) => c.kind === "move")
    const stale = moves.filter((c) => c.convergedMs !== undefined && c.oldStoppedMs !== undefined && c.oldStoppedMs - c.convergedMs > STALE_MS)
    return `${stale.length} of ${moves.length}${stale.length === 0 ? "" : ` (up to ${secs(Math.max(...stale.map((c) => c.oldStoppedMs! - c.convergedMs!)))} longer)`}`
  }
  row([`– moves whose OLD port still got requests > ${STALE_MS / 1000} s after the new port's first one`, staleMoves(a), staleMoves(b)])
  row(["all instance changes", fmtSummary(instanceKinds(a, ["add", "move", "remove", "unhealthy", "healthy"])), fmtSummary(instanceKinds(b, ["add", "move", "remove", "unhealthy", "healthy"]))])
  lines.push("")

  const scales = [...new Set(calls.map((c) => c.services))].sort((x, y) => x - y)
  const ops = [...new Set(calls.flatMap((c) => Object.keys(c.perMinute)))].sort()
  const header = ["Cloud Map calls / min (steady state)"]
  for (const n of scales) for (const l of ["(a) agent", "(b) baseline"]) header.push(`${l}, ${n.toLocaleString("en-US")} services`)
  row(header)
  row(header.map(() => "---"))
  const cell = (n: number, label: string, op: string | undefined) => {
    const c = calls.find((x) => x.services === n && x.label === label)
    if (c === undefined) return "–"
    const v = op === undefined ? c.totalPerMinute : c.perMinute[op] ?? 0
    return op === undefined ? `**${Math.round(v).toLocaleString("en-US")}**` : Math.round(v).toLocaleString("en-US")
  }
  for (const op of ops) {
    const cells = [op]
    for (const n of scales) for (const l of ["agent", "baseline"]) cells.push(cell(n, l, op))
    row(cells)
  }
  const totals = ["total"]
  for (const n of scales) for (const l of ["agent", "baseline"]) totals.push(cell(n, l, undefined))
  row(totals)
  const readyRow = ["first configuration served after"]
  for (const n of scales) {
    for (const l of ["agent", "baseline"]) {
      const c = calls.find((x) => x.services === n && x.label === l)
      readyRow.push(c === undefined ? "–" : `${c.readyAfterS.toFixed(0)} s`)
    }
  }
  row(readyRow)
  const windowRow = ["measured window"]
  for (const n of scales) {
    for (const l of ["agent", "baseline"]) {
      const c = calls.find((x) => x.services === n && x.label === l)
      windowRow.push(c === undefined ? "–" : `${c.windowS.toFixed(0)} s`)
    }
  }
  row(windowRow)
  void meta
  return lines.join("\n")
}

const failureDigest = (r: ChurnResult): string => {
  const foreign = r.foreignHits > 0 ? ` (${r.foreignHits} requests from other processes' proxies hit recycled backend ports and were ignored)` : ""
  if (r.requests.events.length === 0) return `${r.label}: no failed request${foreign}.`
  const byKey = new Map<string, { n: number; first: FailureEvent }>()
  for (const e of r.requests.events) {
    const key = `${e.kind}${e.status === undefined ? "" : ` ${e.status}`} (${e.reused ? "reused connection" : "fresh connection"}): ${e.detail}`
    const cur = byKey.get(key)
    if (cur === undefined) byKey.set(key, { n: 1, first: e })
    else cur.n++
  }
  return `${r.label}: ` + [...byKey].map(([k, v]) => `${v.n}× ${k} (first on ${v.first.host}, +${((v.first.at - started) / 1000).toFixed(1)} s)`).join("; ") + foreign
}

const OUT = ARGS.find((a) => a.startsWith("--out="))?.slice("--out=".length) ?? join(ROOT, "BENCHMARKS.md")

const writeSection = (section: string) => {
  const path = OUT
  // Re-read right before writing: other sections belong to other people.
  const current = existsSync(path) ? readFileSync(path, "utf8") : ""
  const lines = current.split("\n")
  const start = lines.findIndex((l) => /^## Churn\s*$/.test(l))
  let next: string
  if (start < 0) {
    next = current === "" ? `# Benchmarks\n\n${section}\n` : `${current.replace(/\n*$/, "\n")}\n${section}\n`
  } else {
    let end = lines.findIndex((l, i) => i > start && /^## /.test(l))
    if (end < 0) end = lines.length
    const head = lines.slice(0, start).join("\n")
    const tail = lines.slice(end).join("\n")
    next = `${head.replace(/\n*$/, "\n\n")}${section}\n${tail === "" ? "" : `\n${tail}`}`
  }
  writeFileSync(path, next.replace(/\n{3,}/g, "\n\n"))
  say(`wrote the ## Churn section of ${path}`)
}

// ---------------------------------------------------------------------------------------------
// Main

/** `--render-from=<results.json>`: rebuild the section from a saved full run (no measurement). */
const renderFrom = (path: string) => {
  const saved = JSON.parse(readFileSync(path, "utf8")) as {
    meta: Record<string, string>
    a: ChurnResult
    b: ChurnResult
    calls: Array<CallsResult>
  }
  const table = report(saved.a, saved.b, saved.calls, {})
  const section = renderSection(table, saved.meta, saved.a, saved.b, saved.calls, failureDigest(saved.a), failureDigest(saved.b))
  process.stdout.write(`${section}\n`)
  writeSection(section)
}

const main = async () => {
  const from = ARGS.find((a) => a.startsWith("--render-from="))?.slice("--render-from=".length)
  if (from !== undefined) return renderFrom(from)
  const load0 = loadavg()
  say(`bench:churn${QUICK ? " --quick" : ""}: ${cpus().length} vCPU, HAProxy ${haproxyVersion()}, bun ${process.versions.bun ?? "?"}, load average ${load0.map((x) => x.toFixed(2)).join(" ")}`)
  say(`work directory ${WORK}`)
  if (ARGS.includes("--rebuild") || !existsSync(AGENT_BINARY)) {
    say("building dist/cloudmap-haproxy (npm run build)...")
    execFileSync("npm", ["run", "build"], { cwd: ROOT, stdio: "inherit" })
  }

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
  const table = report(a, b, calls, {})
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
    machine: `${cpus().length} vCPU, HAProxy ${haproxyVersion()}, bun ${process.versions.bun ?? "?"}`,
    load: `load average ${load0.map((x) => x.toFixed(2)).join(" ")} at start, ${load1.map((x) => x.toFixed(2)).join(" ")} at the end`
  }
  const results = { meta, table, digestA, digestB, a: { ...a, requests: { ...a.requests, failed: a.requests.failed } }, b: { ...b, requests: { ...b.requests, failed: b.requests.failed } }, calls }
  const jsonPath = join(WORK, "results.json")
  writeFileSync(jsonPath, JSON.stringify(results, null, 2))
  say(`raw results: ${jsonPath}`)
  if (WRITE) writeSection(renderSection(table, meta, a, b, calls, digestA, digestB))
}

/** The BENCHMARKS.md section: method, the tables of this run, and a reading generated from its numbers. */
const renderSection = (
  table: string,
  meta: Record<string, string>,
  a: ChurnResult,
  b: ChurnResult,
  calls: ReadonlyArray<CallsResult>,
  digestA: string,
  digestB: string
): string => {
  const conv = (r: ChurnResult, kinds: ReadonlyArray<ChangeKind>) =>
    summarize(r.changes.filter((c) => kinds.includes(c.kind)).map((c) => c.convergedMs))
  const revA = conv(a, ["add", "move", "remove"])
  const revB = conv(b, ["add", "move", "remove"])
  const healthA = conv(a, ["unhealthy", "healthy"])
  const healthB = conv(b, ["unhealthy", "healthy"])
  const allA = conv(a, ["add", "move", "remove", "unhealthy", "healthy"])
  const newA = conv(a, ["new service"])
  const newB = conv(b, ["new service"])
  const met = (v: number | undefined, limit: number) => v !== undefined && v <= limit
  const verdict = (s: Summary) =>
    `p50 ${secs(s.p50)} (${met(s.p50, 2000) ? "meets" : "misses"} the 2 s target), p95 ${secs(s.p95)} (${met(s.p95, 5000) ? "meets" : "misses"} the 5 s target)`
  const reloadsA = reloadDelta(a)
  const reloadsB = reloadDelta(b)
  const instanceReloadsA = Object.entries(a.details)
    .filter(([k]) => k.startsWith("reloads instances"))
    .reduce((n, [k, v]) => n + v - (a.detailsBefore[k] ?? 0), 0)
  const callsOf = (label: string, n: number) => calls.find((c) => c.label === label && c.services === n)
  const a100 = callsOf("agent", 100)
  const a1000 = callsOf("agent", 1000)
  const b1000 = callsOf("baseline", 1000)
  const nInst = (r: ChurnResult) => r.changes.filter((c) => c.kind !== "new service").length
  const nNew = (r: ChurnResult) => r.changes.filter((c) => c.kind === "new service").length
  // Every round makes one call per service: DiscoverInstancesRevision, or DiscoverInstances when due.
  const periodOf = (c: CallsResult, operations: ReadonlyArray<string>) => {
    const perMin = operations.reduce((n, op) => n + (c.perMinute[op] ?? 0), 0)
    return perMin === 0 ? "?" : `${(60 / (perMin / c.services)).toFixed(1)} s`
  }
  const roundPeriod = (c: CallsResult) => periodOf(c, ["DiscoverInstancesRevision", "DiscoverInstances"])
  const readPeriod = (c: CallsResult) => periodOf(c, ["DiscoverInstances"])
  const perReload = reloadsB !== undefined && reloadsB > 0 ? Math.round((b.loadConnects - LOAD_CONNECTIONS) / reloadsB) : undefined

  const d = DEFAULTS
  const rate = d.cloudMap.requestsPerSecond
  const poll = fmtS(d.revisionPollSeconds)
  const churnServices = P.churnServices + P.healthServices + P.newServices
  const stale = a.changes.filter((c) => c.kind === "move" && c.convergedMs !== undefined && c.oldStoppedMs !== undefined && c.oldStoppedMs - c.convergedMs > STALE_MS)
  const moves = a.changes.filter((c) => c.kind === "move").length
  const reading: Array<string> = []
  reading.push(
    `* **Failed requests.** (a) ${a.requests.failed} of ${a.requests.total.toLocaleString("en-US")}, ` +
      `(b) ${b.requests.failed} of ${b.requests.total.toLocaleString("en-US")}. ` +
      (a.requests.failed === 0
        ? "The 0 target for (a) is met: instances were added, moved and drained through the runtime API, and new services reloaded, under keep-alive load without a single error. "
        : "The 0 target for (a) is MISSED; see the failure detail above. ") +
      (b.requests.failed === 0
        ? "The baseline did not drop requests either: both render the same haproxy.cfg, whose `option idle-close-on-response` closes each idle keep-alive " +
          "connection of an old worker only after its next response (with `Connection: close`), and master-worker reloads never drop new connections. " +
          "So on HAProxy 2.6 with this configuration the price of reload-per-change is not errors but churn: "
        : "The baseline's failures come from reloads (keep-alive connections of old workers). Beyond errors, reload-per-change costs ") +
      `every reload makes every keep-alive client reconnect (${b.loadConnects} load connections opened in (b) vs ${a.loadConnects} in (a), ` +
      `${LOAD_CONNECTIONS} of them at the start${perReload === undefined ? "" : `, about ${perReload} reconnects per reload`}), ` +
      "forks a new worker and leaves an old one draining."
  )
  reading.push(
    `* **Reloads.** (a) ${reloadsA ?? "?"} for ${nInst(a)} instance changes and ${nNew(a)} new services; ` +
      `${instanceReloadsA === 0 ? "none was caused by an instance change (target met): " : `${instanceReloadsA} were labelled as instance reloads (target MISSED): `}` +
      `reloads happen only for new services, which are batched (services are re-listed every SERVICE_LIST_RATE = ${fmtS(d.serviceListSeconds)}, ` +
      `and two reloads are at least RELOAD_MIN_INTERVAL = ${fmtS(d.reloadMinIntervalSeconds)} apart). ` +
      `(b) ${reloadsB ?? "?"}: one per poll round that saw any change.`
  )
  reading.push(
    `* **Convergence, (a) at default settings.** Changes that bump InstancesRevision (add, move, remove): ${verdict(revA)}. ` +
      `What dominates is the polling round: a round starts every REVISION_POLL_RATE = ${poll} (±20 % jitter), and ` +
      `a round itself takes services ÷ CLOUDMAP_RATE_LIMIT (${churnServices} ÷ ${rate}/s = ${(churnServices / rate).toFixed(2)} s here at most). ` +
      "A change lands at a random phase, so the median wait is about half a period and the tail about a whole one; applying through the " +
      "runtime API then takes well under 0.2 s (new servers start with a short slowstart, so their first request can come a little later). " +
      `Health flips: p50 ${secs(healthA.p50)}, p95 ${secs(healthA.p95)}. A health change does not bump InstancesRevision, so only a ` +
      `service's DiscoverInstances read sees it; each service is re-read at least every REFRESH_RATE = ${fmtS(d.refreshSeconds)} ` +
      `(with ${poll} rounds: every second round, about every ${fmtS(2 * d.revisionPollSeconds)}), so the expected wait is about half of that. ` +
      `All ${nInst(a)} instance changes together: ${verdict(allA)}; max ${secs(allA.max)}. ` +
      `New services: p50 ${secs(newA.p50)}, p95 ${secs(newA.p95)}: the next service listing, then a coalesced reload.`
  )
  if (stale.length > 0) {
    const worst = Math.max(...stale.map((c) => c.oldStoppedMs! - c.convergedMs!))
    reading.push(
      `* **Moves.** In ${stale.length} of ${moves} moves the OLD port kept receiving requests for up to ${secs(worst)} after the new ` +
        "port served its first one, although `show servers state` showed the new address: HAProxy 2.6 kept reusing a keep-alive " +
        "connection to the old address that was pooled before the server was re-pointed. That is harmless while the old instance " +
        "still runs the same application, but a request can reach whatever listens on the old address afterwards. Removals (drain, " +
        "then maint, then `del server`) " +
        "never showed this."
    )
  }
  const keptInMaint = a.logProblems.filter((l) => l.includes("kept in maintenance")).length
  const fallbacks = a.logProblems.filter((l) => l.includes("could not be verified")).length
  if (keptInMaint + fallbacks > 0) {
    reading.push(
      `* **Agent warnings.** ${keptInMaint} removal(s) ended with HAProxy refusing \`del server\` ("Server still has connections ` +
        "attached to it\"): the drained server was left in maintenance (no traffic) until the next reload. " +
        `${fallbacks} runtime update(s) could not be verified and fell back to a reload. ` +
        "A server left in maintenance matters when the same instance id comes back before the next reload (a health flip back to " +
        "HEALTHY, a re-registration): `add server` then fails with \"Already exists a server with the same name\" and the change " +
        "falls back to a reload."
    )
  }
  reading.push(
    `* **Convergence, (b).** Revision-visible changes p50 ${secs(revB.p50)}, p95 ${secs(revB.p95)}; health flips p50 ${secs(healthB.p50)}, ` +
      `p95 ${secs(healthB.p95)}; new services p50 ${secs(newB.p50)}, p95 ${secs(newB.p95)}. The baseline polls every ${fmtS(BASELINE_POLL_MS / 1000)} ` +
      "on purpose (the period of (a)'s revision poll, so the apply path is what differs); because it re-reads every service's instances on " +
      "every poll it also sees health flips and new services within one period. That speed is bought with Cloud Map calls (next point), " +
      "and the original image polled every 60 s by default."
  )
  if (a100 !== undefined && a1000 !== undefined) {
    reading.push(
      `* **Cloud Map calls.** (a) makes ~${Math.round(a100.totalPerMinute).toLocaleString("en-US")} calls/min for 100 services: one ` +
        `call per service per polling round (measured: one round every ${roundPeriod(a100)}): DiscoverInstances when the service's ` +
        `REFRESH_RATE read is due (measured: every ${readPeriod(a100)} per service), DiscoverInstancesRevision otherwise; and ` +
        `${Math.round(a100.perMinute["ListServices"] ?? 0)} ListNamespaces + ListServices per minute (services are re-listed every ` +
        `SERVICE_LIST_RATE = ${fmtS(d.serviceListSeconds)}). ` +
        `At 1,000 services it makes ~${Math.round(a1000.totalPerMinute).toLocaleString("en-US")}/min: the client-side token bucket ` +
        `(CLOUDMAP_RATE_LIMIT = ${rate}/s, i.e. ${(rate * 60).toLocaleString("en-US")}/min) is the ceiling. A round over 1,000 services ` +
        `takes ${fmtS(1000 / rate)} by itself, so at that size a round completes about every ${roundPeriod(a1000)}, not every ${poll}; every ` +
        "service is then due for its read in every round, so the calls are DiscoverInstances (the quota with less room: 1,000/s per " +
        "account against 3,000/s), and convergence is correspondingly slower than measured above " +
        `with up to ${churnServices} services (docs/deployment-ecs.md §7 gives settings for large fleets). ` +
        (b1000 === undefined
          ? ""
          : `The baseline polling every ${fmtS(BASELINE_POLL_MS / 1000)} makes ~${Math.round(b1000.totalPerMinute).toLocaleString("en-US")}/min at 1,000 services (unthrottled). `) +
        "For comparison, the original image at its default 60 s made about one ListInstances per service per minute (N + 1 calls/min): " +
        "far fewer calls than (a), with ~30 s median convergence, no health awareness and a silent cut-off at 100 services."
    )
  }
  return [
    "## Churn",
    "",
    "Command: `npm run bench:churn` (= `bun scripts/bench-churn.ts`; `--quick` for a smoke run, which does not write this file).",
    `Date: ${meta["date"]}. Machine: ${meta["machine"]}; ${meta["load"]} (other work was running on the machine).`,
    "",
    "What runs (all on 127.0.0.1, every loop bounded, every process killed by PID at the end):",
    "",
    `* Scenario, identical for both modes: ${P.churnServices} services × ${P.changesPerChurnService} changes (add / move = re-register the same ` +
    `instance id on a new port / remove, in turn) + ${P.healthServices} services × ${P.flipsPerHealthService} health flips ` +
    "(UpdateInstanceCustomHealthStatus UNHEALTHY then HEALTHY, default HEALTH_FILTER=HEALTHY_OR_ELSE_ALL, siblings healthy) + " +
    `${P.newServices} new services (CreateService + RegisterInstance, one every ${P.newServiceSpacingMs / 1000} s), against the mock Cloud Map ` +
    "through the real AWS SDK. Each service starts with 3 instances; each instance is its own tiny HTTP server. A service's changes come at " +
    `random times independent of the pollers (first one after U(0, ${CHURN_FIRST_MS / 1000}) s, then every U(${CHURN_GAP_MIN_MS / 1000}, ` +
    `${(CHURN_GAP_MIN_MS + CHURN_GAP_SPAN_MS) / 1000}) s, counted from the previous change, not from its convergence; health: first after ` +
    `U(0, ${HEALTH_FIRST_MS / 1000}) s, the HEALTHY flip U(${HEALTH_GAP_MIN_MS / 1000}, ${(HEALTH_GAP_MIN_MS + HEALTH_GAP_SPAN_MS) / 1000}) s after the ` +
    "UNHEALTHY one), so they hit the poll cycles at a uniformly random phase.",
    `* Load: ${LOAD_CONNECTIONS} keep-alive connections (a raw HTTP/1.1 client that never retries, like wrk) cycling over every service host with a ` +
    `${LOAD_GAP_MS} ms pause between requests, plus one probe per affected host every ${PROBE_INTERVAL_MS} ms; ${REQUEST_TIMEOUT_MS / 1000} s timeout per request. ` +
    "A failed request is any non-2xx, reset, early close or timeout (a new host counts only after its first 2xx).",
    "* Convergence, measured on the backends from the moment the SDK call returned: add / move / healthy / new service = first request served by " +
    `the new instance (new port); remove / unhealthy = last request served, confirmed by ${QUIET_MS / 1000} s of silence while the probe keeps hitting the host.`,
    "* Reloads: `show proc` on the master socket before and after the churn. Calls: the mock's `GET /_mock/calls`, zeroed once the system served " +
    "its first configuration, read after the window shown (2 × REFRESH_RATE, at least 60 s); 100 and 1,000 services with one instance each.",
    `* (a) the agent, the compiled \`dist/cloudmap-haproxy run\`, default settings: REVISION_POLL_RATE ${DEFAULTS.revisionPollSeconds}, ` +
    `SERVICE_LIST_RATE ${DEFAULTS.serviceListSeconds}, REFRESH_RATE ${DEFAULTS.refreshSeconds}, RELOAD_MIN_INTERVAL ${DEFAULTS.reloadMinIntervalSeconds}, ` +
    `CLOUDMAP_RATE_LIMIT ${DEFAULTS.cloudMap.requestsPerSecond}, CLOUDMAP_CONCURRENCY ${DEFAULTS.cloudMap.concurrency}, ` +
    `HAPROXY_NBTHREAD ${DEFAULTS.nbthread}, HEALTH_FILTER ${DEFAULTS.healthFilter}, MAX_REMOVAL_PERCENT ${DEFAULTS.maxRemovalPercent}. ` +
    `Non-defaults: ${AGENT_NON_DEFAULTS}.`,
    "* (b) the reload-every-change baseline (`scripts/bench-churn-baseline.ts`), what the original image did, rebuilt from this project's " +
    `pure pieces: every ${fmtS(BASELINE_POLL_MS / 1000)} (fixed rate; the agent's REVISION_POLL_RATE) it reads the whole namespace with the AWS SDK (ListNamespaces, ListServices, then ` +
    "DiscoverInstances HEALTHY_OR_ELSE_ALL for every service, 8 in flight, no rate limit, no revision check), plans and renders with " +
    "`src/plan/plan.ts` + `src/render/render.ts` (byte-identical haproxy.cfg to the agent's for the same registrations), and when the files " +
    "changed writes them atomically and reloads HAProxy through the master CLI (`src/haproxy/master-cli.ts` `reload`, verified with `show proc`). " +
    "HAProxy runs as `haproxy -W -db -S master.sock -f haproxy.cfg`, like under the agent. It differs from the original on purpose: the original " +
    "polled every 60 s, used ListInstances (no health) truncated at 100 items, and its own template (`option httpclose`, no " +
    "idle-close-on-response); here only the apply path differs from (a).",
    "",
    table,
    "",
    `Failed requests in detail — ${digestA} ${digestB}`,
    "",
    "Reading:",
    "",
    ...reading,
    ""
  ].join("\n")
}

const shutdown = async () => {
  for (const c of cleanups.reverse()) {
    try {
      await c()
    } catch {
      // best effort
    }
  }
}

const hardStop = setTimeout(() => {
  say("run deadline reached: stopping everything")
  void shutdown().then(() => process.exit(2))
}, RUN_DEADLINE - Date.now() + 60_000)
hardStop.unref()
process.on("SIGINT", () => void shutdown().then(() => process.exit(130)))

try {
  await main()
  await shutdown()
  process.exit(0)
} catch (e) {
  say(`FAILED: ${(e as Error).stack ?? String(e)}`)
  await shutdown()
  process.exit(1)
}
