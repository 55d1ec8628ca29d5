/**
 * Footprint of the compiled agent (`dist/cloudmap-haproxy run`) against the in-process mock
 * Cloud Map and the installed HAProxy. Measures, for the agent process alone (HAProxy excluded):
 *
 *   1. binary size;
 *   2. time from process start to the first applied configuration (`/readyz` 200), next to the
 *      Cloud Map time of that first refresh (from /status), median of several runs;
 *   3. RSS and CPU after an idle period (demo fixture, default settings);
 *   4. CPU per full refresh (REFRESH_RATE=1, the revision poll out of the way);
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
 * --big-refreshes N (3), --settle-seconds N (60), --rebuild, --json FILE (results as JSON).
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { createServer, type Server } from "node:net"
import { cpus, loadavg, release, tmpdir, totalmem } from "node:os"
import { join } from "node:path"
import process from "node:process"
import { type Fixture, demoFixture, syntheticFixture } from "../src/mock/fixture.ts"
import { type MockCloudMapHandle, startMockCloudMap } from "../src/mock/server.ts"

const ROOT = join(new URL(".", import.meta.url).pathname, "..")
const BINARY = join(ROOT, "dist/cloudmap-haproxy")

// ---------------------------------------------------------------------------------------------
// arguments

const argv = process.argv.slice(2)
const flag = (name: string, fallback: number): number => {
  const i = argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`))
  if (i === -1) return fallback
  const raw = argv[i]!.includes("=") ? argv[i]!.split("=")[1] : argv[i + 1]
  const n = Number(raw)
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} needs a non-negative number, got ${raw}`)
  return n
}
const stringFlag = (name: string): string | undefined => {
  const i = argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`))
  if (i === -1) return undefined
  return argv[i]!.includes("=") ? argv[i]!.split("=")[1] : argv[i + 1]
}
const IDLE_SECONDS = flag("idle-seconds", 300)
const START_RUNS = Math.max(1, Math.round(flag("start-runs", 5)))
const REFRESHES = Math.max(2, Math.round(flag("refreshes", 30)))
const SERVICES = Math.max(1, Math.round(flag("services", 1000)))
const BIG_REFRESHES = Math.max(1, Math.round(flag("big-refreshes", 3)))
const SETTLE_SECONDS = flag("settle-seconds", 60)
const REBUILD = argv.includes("--rebuild")
const JSON_OUT = stringFlag("json")

// ---------------------------------------------------------------------------------------------
// helpers

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))
const log = (line: string) => process.stderr.write(`${line}\n`)
const CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = createServer()
    s.on("error", reject)
    s.listen(0, "127.0.0.1", () => {
      const a = s.address()
      s.close(() => (a !== null && typeof a === "object" ? resolve(a.port) : reject(new Error("no port"))))
    })
  })

/** VmRSS of one process in bytes (/proc/<pid>/status), undefined when it is gone. */
const rssBytes = (pid: number): number | undefined => {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))
    return m === null ? undefined : Number(m[1]) * 1024
  } catch {
    return undefined
  }
}

/** VmRSS split into anonymous memory (heap, JIT) and file-backed pages (the mapped executable). */
const rssBreakdown = (pid: number): { anonBytes: number; fileBytes: number } | undefined => {
  try {
    const text = readFileSync(`/proc/${pid}/status`, "utf8")
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? NaN) * 1024
    return { anonBytes: kb("RssAnon"), fileBytes: kb("RssFile") + kb("RssShmem") }
  } catch {
    return undefined
  }
}

/** utime + stime of one process in seconds (/proc/<pid>/stat fields 14 and 15). */
const cpuSeconds = (pid: number): number => {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ") // fields[0] is field 3 (state)
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK
}

const pidsMatching = (needle: string): Array<number> => {
  const r = spawnSync("pgrep", ["-f", needle], { encoding: "utf8" })
  return r.status === 0 ? r.stdout.trim().split("\n").filter(Boolean).map(Number).filter((p) => p !== process.pid) : []
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

const get = async (url: string): Promise<{ status: number; body: string } | undefined> => {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5_000) })
    return { status: res.status, body: await res.text() }
  } catch {
    return undefined
  }
}

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}
const mb = (bytes: number | undefined) => (bytes === undefined ? "n/a" : `${(bytes / 1024 / 1024).toFixed(1)} MB`)
const ms = (x: number) => `${Math.round(x)} ms`

/** Points every instance of a fixture at one local TCP listener, so HAProxy's checks pass quietly. */
const pointAt = (fixture: Fixture, port: number): Fixture => ({
  ...fixture,
  namespaces: fixture.namespaces.map((n) => ({
    ...n,
    services: (n.services ?? []).map((s) => ({
      ...s,
      instances: (s.instances ?? []).map((i) => ({
        ...i,
        attributes: { ...i.attributes, AWS_INSTANCE_IPV4: "127.0.0.1", AWS_INSTANCE_PORT: String(port) }
      }))
    }))
  }))
})

// ---------------------------------------------------------------------------------------------
// processes (all tracked, all stopped by PID)

const workRoot = mkdtempSync(join(tmpdir(), "cmh-bench-"))
const agents = new Set<Agent>()
const mocks = new Set<MockCloudMapHandle>()
let sink: Server | undefined

interface Agent {
  readonly child: ChildProcess
  readonly pid: number
  readonly configDir: string
  readonly healthPort: number
  readonly startedAt: number
  readonly lastLines: Array<string>
  readonly exited: Promise<number | null>
}

const startAgent = async (name: string, mockUrl: string, extraEnv: Record<string, string>): Promise<Agent> => {
  const configDir = join(workRoot, name)
  const healthPort = await freePort()
  const listenPort = await freePort()
  const env: Record<string, string> = {
    PATH: process.env["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin",
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: "bench",
    AWS_SECRET_ACCESS_KEY: "bench",
    AWS_ENDPOINT_URL_SERVICEDISCOVERY: mockUrl,
    NAMESPACE_MAP: JSON.stringify([{ namespace: "apps", domainname: "bench.test", mode: "host" }]),
    STATS_PASSWD: "bench-stats",
    PROM_PASSWD: "bench-prom",
    CONFIG_DIR: configDir,
    LISTEN_ADDRESS: "127.0.0.1",
    LISTEN_PORT: String(listenPort),
    HEALTH_ADDRESS: "127.0.0.1",
    HEALTH_PORT: String(healthPort),
    DRAIN_SECONDS: "0",
    LOG_LEVEL: "warn",
    ...extraEnv
  }
  const startedAt = performance.now()
  const child = spawn(BINARY, ["run"], { env, stdio: ["ignore", "ignore", "pipe"] })
  if (child.pid === undefined) throw new Error(`could not start ${BINARY}`)
  const lastLines: Array<string> = []
  child.stderr!.on("data", (chunk: Buffer) => {
    lastLines.push(...chunk.toString().split("\n").filter(Boolean))
    if (lastLines.length > 40) lastLines.splice(0, lastLines.length - 40)
  })
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)))
  const agent: Agent = { child, pid: child.pid, configDir, healthPort, startedAt, lastLines, exited }
  agents.add(agent)
  return agent
}

const stopAgent = async (agent: Agent): Promise<void> => {
  if (alive(agent.pid)) {
    process.kill(agent.pid, "SIGTERM")
    const done = await Promise.race([agent.exited.then(() => true), sleep(15_000).then(() => false)])
    if (!done && alive(agent.pid)) process.kill(agent.pid, "SIGKILL")
  }
  // HAProxy (master and workers) started by this agent: found by its config directory.
  for (let i = 0; i < 50; i++) {
    const left = pidsMatching(`${agent.configDir}/`)
    if (left.length === 0) break
    for (const pid of left) {
      try {
        process.kill(pid, i < 20 ? "SIGTERM" : "SIGKILL")
      } catch {
        // already gone
      }
    }
    await sleep(100)
  }
  agents.delete(agent)
}

const cleanup = async () => {
  for (const a of [...agents]) await stopAgent(a)
  for (const m of [...mocks]) await m.close().catch(() => undefined)
  mocks.clear()
  await new Promise<void>((r) => (sink === undefined ? r() : sink.close(() => r())))
  sink = undefined
  rmSync(workRoot, { recursive: true, force: true })
}

process.on("SIGINT", () => void cleanup().then(() => process.exit(130)))
process.on("SIGTERM", () => void cleanup().then(() => process.exit(143)))

const url = (agent: Agent, path: string) => `http://127.0.0.1:${agent.healthPort}${path}`

/** Polls /readyz every 10 ms until 200; returns ms since the process was spawned. */
const waitReady = async (agent: Agent, timeoutMs: number): Promise<number> => {
  const deadline = performance.now() + timeoutMs
  while (performance.now() < deadline) {
    const r = await get(url(agent, "/readyz"))
    if (r?.status === 200) return performance.now() - agent.startedAt
    if (!alive(agent.pid)) throw new Error(`agent exited before ready:\n${agent.lastLines.join("\n")}`)
    await sleep(10)
  }
  throw new Error(`agent not ready after ${timeoutMs} ms:\n${agent.lastLines.join("\n")}`)
}

interface StatusDoc {
  readonly lastRefresh: { kind: string; durationMs: number } | null
  readonly config: { lastApply: { method: string; durationMs: number } | null }
  readonly counts: Record<string, number>
  readonly haproxy: { pid?: number }
}
const status = async (agent: Agent): Promise<StatusDoc> => {
  const r = await get(url(agent, "/status"))
  if (r?.status !== 200) throw new Error(`/status answered ${r?.status}`)
  return JSON.parse(r.body) as StatusDoc
}

/** Sum of cloudmap_haproxy_refreshes_total{kind="<kind>",...} over outcomes. */
const refreshCount = async (agent: Agent, kind: "full" | "fast"): Promise<number> => {
  const r = await get(url(agent, "/metrics"))
  if (r?.status !== 200) throw new Error(`/metrics answered ${r?.status}`)
  let total = 0
  for (const line of r.body.split("\n")) {
    if (line.startsWith("cloudmap_haproxy_refreshes_total{") && line.includes(`kind="${kind}"`)) {
      total += Number(line.slice(line.lastIndexOf(" ") + 1))
    }
  }
  return total
}

/**
 * CPU seconds of the agent per completed full refresh, over at least `n` refreshes. /metrics is
 * polled only every `pollMs` (each poll costs the agent a little CPU, counted in the result).
 */
const cpuPerRefresh = async (agent: Agent, n: number, pollMs: number, timeoutMs: number) => {
  // Start right after a refresh completed, so the window holds whole refreshes.
  const first = await refreshCount(agent, "full")
  const boundary = performance.now() + timeoutMs
  let r0 = first
  while (r0 === first && performance.now() < boundary) {
    await sleep(pollMs)
    r0 = await refreshCount(agent, "full")
  }
  const c0 = cpuSeconds(agent.pid)
  const t0 = performance.now()
  const deadline = t0 + timeoutMs
  let r1 = r0
  while (r1 - r0 < n && performance.now() < deadline) {
    await sleep(pollMs)
    r1 = await refreshCount(agent, "full")
  }
  const c1 = cpuSeconds(agent.pid)
  const wall = (performance.now() - t0) / 1000
  const done = r1 - r0
  if (done === 0) throw new Error("no refresh completed in the measuring window")
  return { refreshes: done, cpuSeconds: c1 - c0, wallSeconds: wall, perRefreshMs: ((c1 - c0) / done) * 1000, pollMs }
}

// ---------------------------------------------------------------------------------------------
// the benchmark

const haproxyVersion = (() => {
  const r = spawnSync("haproxy", ["-v"], { encoding: "utf8" })
  return r.status === 0 ? (/version (\S+)/.exec(r.stdout)?.[1] ?? "?") : "not found"
})()

const gitDescribe = (() => {
  const r = spawnSync("git", ["-C", ROOT, "describe", "--always", "--dirty"], { encoding: "utf8" })
  return r.status === 0 ? r.stdout.trim() : "?"
})()

/**
 * The floor: a bun-compiled node:http server that does nothing, built with the same flags as the
 * agent, idle for 15 s. Shows how much of the agent's RSS is the runtime itself.
 */
const runtimeBaseline = async (): Promise<{ rssBytes: number | undefined; anonBytes: number | undefined; fileBytes: number | undefined }> => {
  const dir = join(workRoot, "baseline")
  const src = join(dir, "hello.ts")
  const bin = join(dir, "hello")
  spawnSync("mkdir", ["-p", dir])
  writeFileSync(src, 'import { createServer } from "node:http"\ncreateServer((_req, res) => res.end("ok")).listen(Number(process.env["PORT"]), "127.0.0.1")\n')
  const b = spawnSync(join(ROOT, "node_modules/.bin/bun"), [
    "build", "--compile", "--minify", "--bytecode", "--format=esm", "--no-compile-autoload-dotenv",
    "--no-compile-autoload-bunfig", src, "--outfile", bin
  ], { encoding: "utf8" })
  if (b.status !== 0) return { rssBytes: undefined, anonBytes: undefined, fileBytes: undefined }
  const port = await freePort()
  const child = spawn(bin, [], { env: { PORT: String(port) }, stdio: "ignore" })
  try {
    for (let i = 0; i < 200 && (await get(`http://127.0.0.1:${port}/`))?.status !== 200; i++) await sleep(10)
    await sleep(15_000)
    const parts = rssBreakdown(child.pid!)
    return { rssBytes: rssBytes(child.pid!), anonBytes: parts?.anonBytes, fileBytes: parts?.fileBytes }
  } finally {
    child.kill("SIGKILL")
  }
}

const main = async () => {
  if (REBUILD || !existsSync(BINARY)) {
    log("building dist/cloudmap-haproxy (npm run build)...")
    const b = spawnSync("npm", ["run", "build"], { cwd: ROOT, stdio: "inherit" })
    if (b.status !== 0) throw new Error("npm run build failed")
  }
  const results: Record<string, unknown> = {
    date: new Date().toISOString(),
    commit: gitDescribe,
    loadAverageAtStart: loadavg(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryBytes: totalmem(), kernel: release(), haproxy: haproxyVersion },
    settings: { idleSeconds: IDLE_SECONDS, startRuns: START_RUNS, refreshes: REFRESHES, services: SERVICES, bigRefreshes: BIG_REFRESHES, settleSeconds: SETTLE_SECONDS }
  }

  // A TCP listener every instance points at: HAProxy's L4 checks succeed, no DOWN/UP log storms.
  sink = createServer((socket) => socket.destroy())
  await new Promise<void>((r) => sink!.listen(0, "127.0.0.1", () => r()))
  const sinkPort = (sink.address() as { port: number }).port

  const demo = await startMockCloudMap({ fixture: pointAt(demoFixture, sinkPort) })
  mocks.add(demo)

  // 1. binary size
  const size = statSync(BINARY).size
  results["binaryBytes"] = size
  log(`binary: ${(size / 1024 / 1024).toFixed(1)} MiB (${size} bytes)`)

  const baseline = await runtimeBaseline()
  results["runtimeBaseline"] = baseline
  log(`runtime floor (compiled hello-world HTTP server, idle 15 s): RSS ${mb(baseline.rssBytes)} (anon ${mb(baseline.anonBytes)}, file ${mb(baseline.fileBytes)})`)

  // 2. start -> first applied config (demo fixture: 1 namespace, 3 services, 5 instances)
  const startRuns: Array<{ readyMs: number; refreshMs: number; applyMs: number; cloudMapMs: number }> = []
  for (let i = 0; i < START_RUNS; i++) {
    const agent = await startAgent(`start-${i}`, demo.url, {})
    const readyMs = await waitReady(agent, 60_000)
    const s = await status(agent)
    const refreshMs = s.lastRefresh?.durationMs ?? NaN
    const applyMs = s.config.lastApply?.durationMs ?? NaN
    startRuns.push({ readyMs, refreshMs, applyMs, cloudMapMs: refreshMs - applyMs })
    log(`start run ${i + 1}/${START_RUNS}: ready ${ms(readyMs)} (first refresh ${ms(refreshMs)}: Cloud Map ${ms(refreshMs - applyMs)} + validate/start HAProxy ${ms(applyMs)})`)
    await stopAgent(agent)
  }
  const start = {
    runs: startRuns,
    medianReadyMs: median(startRuns.map((r) => r.readyMs)),
    medianCloudMapMs: median(startRuns.map((r) => r.cloudMapMs)),
    medianApplyMs: median(startRuns.map((r) => r.applyMs)),
    medianRefreshMs: median(startRuns.map((r) => r.refreshMs))
  }
  results["start"] = start

  // 3. idle: defaults (REFRESH_RATE 30, REVISION_POLL_RATE 5), demo fixture
  const idleAgent = await startAgent("idle", demo.url, {})
  await waitReady(idleAgent, 60_000)
  const rssAtReady = rssBytes(idleAgent.pid)
  log(`idle: ready, RSS ${mb(rssAtReady)}; idling ${IDLE_SECONDS} s...`)
  const idleCpu0 = cpuSeconds(idleAgent.pid)
  const idleT0 = performance.now()
  const rssSamples: Array<number> = []
  const idleEnd = idleT0 + IDLE_SECONDS * 1000
  while (performance.now() < idleEnd) {
    await sleep(Math.min(10_000, Math.max(0, idleEnd - performance.now())))
    const r = rssBytes(idleAgent.pid)
    if (r === undefined) throw new Error(`idle agent died:\n${idleAgent.lastLines.join("\n")}`)
    rssSamples.push(r)
  }
  const idleWall = (performance.now() - idleT0) / 1000
  const idleCpu = cpuSeconds(idleAgent.pid) - idleCpu0
  const idle = {
    seconds: idleWall,
    rssAtReadyBytes: rssAtReady,
    rssEndBytes: rssSamples.at(-1),
    rssMaxBytes: Math.max(...rssSamples),
    rssMinBytes: Math.min(...rssSamples),
    cpuSeconds: idleCpu,
    cpuPercent: (idleCpu / idleWall) * 100,
    fullRefreshes: await refreshCount(idleAgent, "full"),
    rssEndBreakdown: rssBreakdown(idleAgent.pid),
    haproxyPid: (await status(idleAgent)).haproxy.pid,
    haproxyRssBytes: undefined as number | undefined
  }
  idle.haproxyRssBytes = pidsMatching(`${idleAgent.configDir}/`).reduce((sum, pid) => sum + (rssBytes(pid) ?? 0), 0)
  results["idle"] = idle
  log(`idle: ${idleWall.toFixed(0)} s, RSS end ${mb(idle.rssEndBytes)} (min ${mb(idle.rssMinBytes)}, max ${mb(idle.rssMaxBytes)}), CPU ${idleCpu.toFixed(2)} s = ${idle.cpuPercent.toFixed(3)} %`)
  await stopAgent(idleAgent)

  // 4. CPU per refresh, demo fixture: full refresh every second, revision poll out of the way
  const fastAgent = await startAgent("refresh-demo", demo.url, { REFRESH_RATE: "1", REVISION_POLL_RATE: "3600" })
  await waitReady(fastAgent, 60_000)
  const demoRefresh = await cpuPerRefresh(fastAgent, REFRESHES, 1_000, REFRESHES * 5_000)
  results["refreshDemo"] = { ...demoRefresh, rssBytes: rssBytes(fastAgent.pid) }
  log(`refresh (3 services): ${demoRefresh.refreshes} refreshes, ${demoRefresh.perRefreshMs.toFixed(1)} ms CPU each`)
  await stopAgent(fastAgent)

  // 5. 1,000 services × 2 instances
  const bigFixture = pointAt(
    syntheticFixture({ namespaces: 1, servicesPerNamespace: SERVICES, instancesPerService: 2, basePort: 10_000 }),
    sinkPort
  )
  const big = await startMockCloudMap({ fixture: bigFixture })
  mocks.add(big)

  const bigAgent = await startAgent("big", big.url, {})
  const bigReadyMs = await waitReady(bigAgent, 600_000)
  const bigStatus = await status(bigAgent)
  const bigRssReady = rssBytes(bigAgent.pid)
  log(`${SERVICES} services: ready in ${ms(bigReadyMs)} (first refresh ${ms(bigStatus.lastRefresh?.durationMs ?? NaN)}, apply ${ms(bigStatus.config.lastApply?.durationMs ?? NaN)}), RSS ${mb(bigRssReady)}; settling ${SETTLE_SECONDS} s at defaults...`)
  const bigCpu0 = cpuSeconds(bigAgent.pid)
  const bigT0 = performance.now()
  const bigRss: Array<number> = []
  const settleEnd = bigT0 + SETTLE_SECONDS * 1000
  while (performance.now() < settleEnd) {
    await sleep(Math.min(5_000, Math.max(0, settleEnd - performance.now())))
    const r = rssBytes(bigAgent.pid)
    if (r === undefined) throw new Error(`agent died:\n${bigAgent.lastLines.join("\n")}`)
    bigRss.push(r)
  }
  const bigWall = (performance.now() - bigT0) / 1000
  const bigCpu = cpuSeconds(bigAgent.pid) - bigCpu0
  const bigResult = {
    services: SERVICES,
    instances: SERVICES * 2,
    readyMs: bigReadyMs,
    firstRefreshMs: bigStatus.lastRefresh?.durationMs,
    firstApplyMs: bigStatus.config.lastApply?.durationMs,
    counts: bigStatus.counts,
    rssAtReadyBytes: bigRssReady,
    rssEndBytes: bigRss.at(-1),
    rssMaxBytes: bigRss.length > 0 ? Math.max(...bigRss) : undefined,
    steadySeconds: bigWall,
    steadyCpuPercent: (bigCpu / Math.max(bigWall, 0.001)) * 100,
    haproxyRssBytes: pidsMatching(`${bigAgent.configDir}/`).reduce((sum, pid) => sum + (rssBytes(pid) ?? 0), 0),
    refresh: undefined as unknown
  }
  log(`${SERVICES} services at defaults: RSS end ${mb(bigResult.rssEndBytes)} (max ${mb(bigResult.rssMaxBytes)}), CPU ${bigResult.steadyCpuPercent.toFixed(2)} % over ${bigWall.toFixed(0)} s`)
  await stopAgent(bigAgent)

  const bigFast = await startAgent("refresh-big", big.url, { REFRESH_RATE: "1", REVISION_POLL_RATE: "3600" })
  await waitReady(bigFast, 600_000)
  const bigRefresh = await cpuPerRefresh(bigFast, BIG_REFRESHES, 2_000, BIG_REFRESHES * 120_000)
  bigResult.refresh = { ...bigRefresh, rssBytes: rssBytes(bigFast.pid) }
  log(`refresh (${SERVICES} services): ${bigRefresh.refreshes} refreshes in ${bigRefresh.wallSeconds.toFixed(1)} s, ${bigRefresh.perRefreshMs.toFixed(0)} ms CPU each, RSS ${mb(rssBytes(bigFast.pid))}`)
  await stopAgent(bigFast)

  // The same refresh without pacing (CLOUDMAP_RATE_LIMIT=1000): how much of the cost is per call
  // spread over time rather than work per service.
  const bigBurst = await startAgent("refresh-big-burst", big.url, { REFRESH_RATE: "1", REVISION_POLL_RATE: "3600", CLOUDMAP_RATE_LIMIT: "1000" })
  await waitReady(bigBurst, 600_000)
  const burstRefresh = await cpuPerRefresh(bigBurst, BIG_REFRESHES * 5, 1_000, BIG_REFRESHES * 5 * 30_000)
  const bigBurstResult = { ...burstRefresh, rssBytes: rssBytes(bigBurst.pid) }
  log(`refresh (${SERVICES} services, CLOUDMAP_RATE_LIMIT=1000): ${burstRefresh.refreshes} refreshes, ${burstRefresh.perRefreshMs.toFixed(0)} ms CPU each`)
  await stopAgent(bigBurst)
  results["big"] = { ...bigResult, refreshUnpaced: bigBurstResult }

  // ---- report
  results["loadAverageAtEnd"] = loadavg()
  const MB64 = 64 * 1024 * 1024
  const verdict = (ok: boolean) => (ok ? "met" : "MISSED")
  const startBudget = 1000 + start.medianCloudMapMs
  const lines = [
    "",
    `cloudmap-haproxy footprint (${results["date"]}, ${gitDescribe}, ${cpus().length} CPUs, HAProxy ${haproxyVersion}, load average ${loadavg().map((x) => x.toFixed(2)).join(" ")})`,
    "",
    "| measure | result | target |",
    "|---|---|---|",
    `| binary size | ${(size / 1024 / 1024).toFixed(1)} MiB | |`,
    `| start → first applied config (median of ${START_RUNS}) | ${ms(start.medianReadyMs)} (Cloud Map ${ms(start.medianCloudMapMs)}, haproxy -c + start ${ms(start.medianApplyMs)}) | ≤ 1 s + Cloud Map = ${ms(startBudget)}: ${verdict(start.medianReadyMs <= startBudget)} |`,
    `| idle RSS after ${Math.round(idle.seconds)} s (agent only) | ${mb(idle.rssEndBytes)} (min ${mb(idle.rssMinBytes)}, max ${mb(idle.rssMaxBytes)}) | ≤ 64 MB: ${verdict((idle.rssMaxBytes ?? Infinity) <= MB64)} |`,
    `| … of which anonymous (heap, JIT) / file-backed (executable pages) | ${mb(idle.rssEndBreakdown?.anonBytes)} / ${mb(idle.rssEndBreakdown?.fileBytes)} | |`,
    `| runtime floor: compiled hello-world HTTP server, idle | ${mb(baseline.rssBytes)} (anon ${mb(baseline.anonBytes)}, file ${mb(baseline.fileBytes)}) | |`,
    `| idle CPU over ${Math.round(idle.seconds)} s | ${idle.cpuPercent.toFixed(3)} % | < 1 %: ${verdict(idle.cpuPercent < 1)} |`,
    `| CPU per full refresh, 3 services | ${demoRefresh.perRefreshMs.toFixed(1)} ms | |`,
    `| ${SERVICES} services × 2: start → ready | ${ms(bigResult.readyMs)} (first refresh ${ms(bigResult.firstRefreshMs ?? NaN)}, of which apply ${ms(bigResult.firstApplyMs ?? NaN)}) | |`,
    `| ${SERVICES} services × 2: RSS | ${mb(bigResult.rssAtReadyBytes)} at ready, ${mb(bigResult.rssEndBytes)} after ${Math.round(bigWall)} s (max ${mb(bigResult.rssMaxBytes)}) | |`,
    `| ${SERVICES} services × 2: CPU at defaults | ${bigResult.steadyCpuPercent.toFixed(2)} % | |`,
    `| ${SERVICES} services × 2: CPU per full refresh | ${bigRefresh.perRefreshMs.toFixed(0)} ms (${bigRefresh.refreshes} refreshes, ${(bigRefresh.wallSeconds / bigRefresh.refreshes).toFixed(1)} s each) | |`,
    `| ${SERVICES} services × 2: CPU per full refresh, CLOUDMAP_RATE_LIMIT=1000 | ${burstRefresh.perRefreshMs.toFixed(0)} ms (${burstRefresh.refreshes} refreshes, ${(burstRefresh.wallSeconds / burstRefresh.refreshes).toFixed(1)} s each) | |`,
    `| HAProxy RSS (master + worker, for reference) | ${mb(idle.haproxyRssBytes)} idle; ${mb(bigResult.haproxyRssBytes)} with ${SERVICES} services | |`,
    ""
  ]
  process.stdout.write(lines.join("\n"))
  if (JSON_OUT !== undefined) writeFileSync(JSON_OUT, JSON.stringify(results, null, 2) + "\n")
}

main()
  .then(cleanup)
  .catch(async (e) => {
    log(`bench failed: ${e instanceof Error ? e.message : String(e)}`)
    await cleanup()
    process.exit(1)
  })
