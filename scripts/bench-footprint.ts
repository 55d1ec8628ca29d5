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
const DEFAULT_BINARY = join(ROOT, "dist/cloudmap-haproxy")

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
const BINARY = stringFlag("binary") ?? DEFAULT_BINARY
if (BINARY !== DEFAULT_BINARY && REBUILD) throw new Error("--rebuild builds dist/cloudmap-haproxy only; drop it with --binary")
const JSON_OUT = stringFlag("json")
const ALL_PHASES = ["start", "idle", "refresh", "big"] as const
const PHASES: ReadonlySet<string> = new Set((stringFlag("phases") ?? ALL_PHASES.join(",")).split(",").map((p) => p.trim()))
for (const p of PHASES) {
  if (!(ALL_PHASES as ReadonlyArray<string>).includes(p)) throw new Error(`--phases: unknown phase ${p} (known: ${ALL_PHASES.join(", ")})`)
}

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
const mb = (bytes: number | undefined) => (bytes === undefined ? "n/a" : `${(bytes / 1024 / 1024).toFixed(1)} MiB`)
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
 * The floor: a bun-compiled node:http server that does nothing, built with the agent's flags
 * (package.json's build script), idle for 15 s. Shows how much of the agent's RSS is the runtime itself.
 */
/**
 * Drops one file's pages from the page cache (GNU dd: `iflag=nocache count=0`), as after an image
 * pull. RssFile counts what the kernel maps on a page fault, and it maps up to 64 KiB around the
 * faulting page when those pages are cached: a binary just written by the build (all cached)
 * shows about 5 MiB more file-backed RSS than the same binary started cold, as in a new container.
 */
const dropFromPageCache = (path: string) => {
  const r = spawnSync("dd", [`if=${path}`, "iflag=nocache", "count=0", "status=none"])
  if (r.status !== 0) log(`could not drop ${path} from the page cache (dd exit ${r.status}); file-backed RSS may read high`)
}

const runtimeBaseline = async (): Promise<{ rssBytes: number | undefined; anonBytes: number | undefined; fileBytes: number | undefined }> => {
  const dir = join(workRoot, "baseline")
  const src = join(dir, "hello.ts")
  const bin = join(dir, "hello")
  spawnSync("mkdir", ["-p", dir])
  writeFileSync(src, 'import { createServer } from "node:http"\ncreateServer((_req, res) => res.end("ok")).listen(Number(process.env["PORT"]), "127.0.0.1")\n')
  // package.json's build flags, with hello.ts as the entry point.
  const words = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: { build: string } }).scripts.build.trim().split(/\s+/)
  const flags = words.slice(1).filter((w, i, all) => w.startsWith("--") && w !== "--outfile" && all[i - 1] !== "--outfile")
  const b = spawnSync(join(ROOT, "node_modules/.bin/bun"), ["build", ...flags, src, "--outfile", bin], { encoding: "utf8" })
  if (b.status !== 0) return { rssBytes: undefined, anonBytes: undefined, fileBytes: undefined }
  const port = await freePort()
  dropFromPageCache(bin)
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
  if (BINARY !== DEFAULT_BINARY && !existsSync(BINARY)) throw new Error(`--binary ${BINARY}: no such file`)
  if (BINARY === DEFAULT_BINARY && (REBUILD || !existsSync(BINARY))) {
    log("building dist/cloudmap-haproxy (npm run build)...")
    const b = spawnSync("npm", ["run", "build"], { cwd: ROOT, stdio: "inherit" })
    if (b.status !== 0) throw new Error("npm run build failed")
  }
  const results: Record<string, unknown> = {
    date: new Date().toISOString(),
    commit: gitDescribe,
    loadAverageAtStart: loadavg(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryBytes: totalmem(), kernel: release(), haproxy: haproxyVersion },
    settings: { phases: [...PHASES], idleSeconds: IDLE_SECONDS, startRuns: START_RUNS, refreshes: REFRESHES, services: SERVICES, bigRefreshes: BIG_REFRESHES, settleSeconds: SETTLE_SECONDS }
  }
  // The target is 64 MB (decimal), i.e. 61.0 MiB.
  const MB64 = 64_000_000
  const verdict = (ok: boolean) => (ok ? "met" : "MISSED")
  const rows: Array<string> = []

  // A TCP listener every instance points at: HAProxy's L4 checks succeed, no DOWN/UP log storms.
  sink = createServer((socket) => socket.destroy())
  await new Promise<void>((r) => sink!.listen(0, "127.0.0.1", () => r()))
  const sinkPort = (sink.address() as { port: number }).port

  const demo = await startMockCloudMap({ fixture: pointAt(demoFixture, sinkPort) })
  mocks.add(demo)

  // 1. binary size, and the runtime's own floor
  const size = statSync(BINARY).size
  results["binaryBytes"] = size
  log(`binary: ${(size / 1024 / 1024).toFixed(1)} MiB (${size} bytes)`)
  rows.push(`| binary size | ${(size / 1024 / 1024).toFixed(1)} MiB | |`)
  if (PHASES.has("idle")) {
    const baseline = await runtimeBaseline()
    results["runtimeBaseline"] = baseline
    log(`runtime floor (compiled hello-world HTTP server, idle 15 s): RSS ${mb(baseline.rssBytes)} (anon ${mb(baseline.anonBytes)}, file ${mb(baseline.fileBytes)})`)
    rows.push(`| runtime floor: compiled hello-world HTTP server, idle | ${mb(baseline.rssBytes)} (anon ${mb(baseline.anonBytes)}, file ${mb(baseline.fileBytes)}) | |`)
  }

  // 2. start -> first applied config (demo fixture: 1 namespace, 3 services, 5 instances)
  if (PHASES.has("start")) {
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
    const budget = 1000 + start.medianCloudMapMs
    rows.push(`| start → first applied config (median of ${START_RUNS}) | ${ms(start.medianReadyMs)} (Cloud Map ${ms(start.medianCloudMapMs)}, haproxy -c + start ${ms(start.medianApplyMs)}) | ≤ 1 s + Cloud Map = ${ms(budget)}: ${verdict(start.medianReadyMs <= budget)} |`)
  }

  // 3. idle: defaults (REFRESH_RATE 5, REVISION_POLL_RATE 2), demo fixture
  if (PHASES.has("idle")) {
    dropFromPageCache(BINARY)
    const agent = await startAgent("idle", demo.url, {})
    await waitReady(agent, 60_000)
    const rssAtReady = rssBytes(agent.pid)
    const atReady = rssBreakdown(agent.pid)
    log(`idle: ready, RSS ${mb(rssAtReady)} (anon ${mb(atReady?.anonBytes)}, file ${mb(atReady?.fileBytes)}); idling ${IDLE_SECONDS} s...`)
    const cpu0 = cpuSeconds(agent.pid)
    const t0 = performance.now()
    const samples: Array<{ seconds: number; rssBytes: number; anonBytes: number | undefined }> = []
    const end = t0 + IDLE_SECONDS * 1000
    while (performance.now() < end) {
      await sleep(Math.min(10_000, Math.max(0, end - performance.now())))
      const r = rssBytes(agent.pid)
      if (r === undefined) throw new Error(`idle agent died:\n${agent.lastLines.join("\n")}`)
      samples.push({ seconds: Math.round((performance.now() - t0) / 1000), rssBytes: r, anonBytes: rssBreakdown(agent.pid)?.anonBytes })
    }
    const wall = (performance.now() - t0) / 1000
    const cpu = cpuSeconds(agent.pid) - cpu0
    const rss = samples.map((x) => x.rssBytes)
    const idle = {
      seconds: wall,
      rssAtReadyBytes: rssAtReady,
      rssAtReadyBreakdown: atReady,
      rssEndBytes: rss.at(-1),
      rssMaxBytes: Math.max(...rss),
      rssMinBytes: Math.min(...rss),
      rssEndBreakdown: rssBreakdown(agent.pid),
      cpuSeconds: cpu,
      cpuPercent: (cpu / wall) * 100,
      fullRefreshes: await refreshCount(agent, "full"),
      haproxyRssBytes: pidsMatching(`${agent.configDir}/`).reduce((sum, pid) => sum + (rssBytes(pid) ?? 0), 0),
      samples
    }
    results["idle"] = idle
    log(`idle: ${wall.toFixed(0)} s, RSS end ${mb(idle.rssEndBytes)} (anon ${mb(idle.rssEndBreakdown?.anonBytes)}, file ${mb(idle.rssEndBreakdown?.fileBytes)}; min ${mb(idle.rssMinBytes)}, max ${mb(idle.rssMaxBytes)}), CPU ${cpu.toFixed(2)} s = ${idle.cpuPercent.toFixed(3)} %`)
    rows.push(
      `| idle RSS after ${Math.round(wall)} s (agent only) | ${mb(idle.rssEndBytes)} (at ready ${mb(rssAtReady)}, min ${mb(idle.rssMinBytes)}, max ${mb(idle.rssMaxBytes)}) | ≤ 64 MB (61.0 MiB): ${verdict((idle.rssEndBytes ?? Infinity) <= MB64)}; max ${verdict(idle.rssMaxBytes <= MB64)} |`,
      `| … of which anonymous (heap, JIT) / file-backed (executable pages) | ${mb(idle.rssEndBreakdown?.anonBytes)} / ${mb(idle.rssEndBreakdown?.fileBytes)} | |`,
      `| idle CPU over ${Math.round(wall)} s | ${idle.cpuPercent.toFixed(3)} % | < 1 %: ${verdict(idle.cpuPercent < 1)} |`,
      `| HAProxy RSS, master + worker (not the agent; for reference) | ${mb(idle.haproxyRssBytes)} | |`
    )
    await stopAgent(agent)
  }

  // 4. CPU per refresh, demo fixture: a round every second that reads every service (kind "full")
  if (PHASES.has("refresh")) {
    const agent = await startAgent("refresh-demo", demo.url, { REFRESH_RATE: "1", REVISION_POLL_RATE: "1" })
    await waitReady(agent, 60_000)
    const r = await cpuPerRefresh(agent, REFRESHES, 1_000, REFRESHES * 5_000)
    results["refreshDemo"] = { ...r, rssBytes: rssBytes(agent.pid) }
    log(`refresh (3 services): ${r.refreshes} refreshes, ${r.perRefreshMs.toFixed(1)} ms CPU each`)
    rows.push(`| CPU per full refresh, 3 services (REFRESH_RATE=1) | ${r.perRefreshMs.toFixed(1)} ms (${r.refreshes} refreshes) | |`)
    await stopAgent(agent)
  }

  // 5. 1,000 services × 2 instances
  if (PHASES.has("big")) {
    const fixture = pointAt(
      syntheticFixture({ namespaces: 1, servicesPerNamespace: SERVICES, instancesPerService: 2, basePort: 10_000 }),
      sinkPort
    )
    const big = await startMockCloudMap({ fixture })
    mocks.add(big)
    const label = `${SERVICES} services × 2`

    const agent = await startAgent("big", big.url, {})
    const readyMs = await waitReady(agent, 600_000)
    const st = await status(agent)
    const rssAtReady = rssBytes(agent.pid)
    log(`${SERVICES} services: ready in ${ms(readyMs)} (first refresh ${ms(st.lastRefresh?.durationMs ?? NaN)}, apply ${ms(st.config.lastApply?.durationMs ?? NaN)}), RSS ${mb(rssAtReady)}; ${SETTLE_SECONDS} s at defaults...`)
    const cpu0 = cpuSeconds(agent.pid)
    const t0 = performance.now()
    const rss: Array<number> = []
    const end = t0 + SETTLE_SECONDS * 1000
    while (performance.now() < end) {
      await sleep(Math.min(5_000, Math.max(0, end - performance.now())))
      const r = rssBytes(agent.pid)
      if (r === undefined) throw new Error(`agent died:\n${agent.lastLines.join("\n")}`)
      rss.push(r)
    }
    const wall = (performance.now() - t0) / 1000
    const cpu = cpuSeconds(agent.pid) - cpu0
    const steady = {
      services: SERVICES,
      instances: SERVICES * 2,
      readyMs,
      firstRefreshMs: st.lastRefresh?.durationMs,
      firstApplyMs: st.config.lastApply?.durationMs,
      counts: st.counts,
      rssAtReadyBytes: rssAtReady,
      rssEndBytes: rss.at(-1),
      rssMaxBytes: rss.length > 0 ? Math.max(...rss) : undefined,
      steadySeconds: wall,
      steadyCpuPercent: (cpu / Math.max(wall, 0.001)) * 100,
      haproxyRssBytes: pidsMatching(`${agent.configDir}/`).reduce((sum, pid) => sum + (rssBytes(pid) ?? 0), 0)
    }
    log(`${SERVICES} services at defaults: RSS end ${mb(steady.rssEndBytes)} (max ${mb(steady.rssMaxBytes)}), CPU ${steady.steadyCpuPercent.toFixed(2)} % over ${wall.toFixed(0)} s`)
    await stopAgent(agent)

    const paced = await startAgent("refresh-big", big.url, { REFRESH_RATE: "1", REVISION_POLL_RATE: "1" })
    await waitReady(paced, 600_000)
    const pacedRefresh = await cpuPerRefresh(paced, BIG_REFRESHES, 2_000, BIG_REFRESHES * 120_000)
    const pacedRss = rssBytes(paced.pid)
    log(`refresh (${SERVICES} services): ${pacedRefresh.refreshes} refreshes in ${pacedRefresh.wallSeconds.toFixed(1)} s, ${pacedRefresh.perRefreshMs.toFixed(0)} ms CPU each, RSS ${mb(pacedRss)}`)
    await stopAgent(paced)

    // The same refresh without pacing (CLOUDMAP_RATE_LIMIT=1000): how much of the cost comes
    // from spreading the calls over time rather than from the work per service.
    const burst = await startAgent("refresh-big-burst", big.url, { REFRESH_RATE: "1", REVISION_POLL_RATE: "1", CLOUDMAP_RATE_LIMIT: "1000" })
    await waitReady(burst, 600_000)
    const burstRefresh = await cpuPerRefresh(burst, BIG_REFRESHES * 5, 1_000, BIG_REFRESHES * 5 * 30_000)
    const burstRss = rssBytes(burst.pid)
    log(`refresh (${SERVICES} services, CLOUDMAP_RATE_LIMIT=1000): ${burstRefresh.refreshes} refreshes, ${burstRefresh.perRefreshMs.toFixed(0)} ms CPU each`)
    await stopAgent(burst)

    results["big"] = { ...steady, refresh: { ...pacedRefresh, rssBytes: pacedRss }, refreshUnpaced: { ...burstRefresh, rssBytes: burstRss } }
    rows.push(
      `| ${label}: start → ready | ${ms(readyMs)} (first refresh ${ms(steady.firstRefreshMs ?? NaN)}, of which apply ${ms(steady.firstApplyMs ?? NaN)}) | |`,
      `| ${label}: RSS | ${mb(rssAtReady)} at ready, ${mb(steady.rssEndBytes)} after ${Math.round(wall)} s (max ${mb(steady.rssMaxBytes)}) | |`,
      `| ${label}: CPU at default settings | ${steady.steadyCpuPercent.toFixed(2)} % over ${Math.round(wall)} s | |`,
      `| ${label}: CPU per full refresh (REFRESH_RATE=1) | ${pacedRefresh.perRefreshMs.toFixed(0)} ms (${pacedRefresh.refreshes} refreshes, ${(pacedRefresh.wallSeconds / pacedRefresh.refreshes).toFixed(1)} s each) | |`,
      `| ${label}: same, CLOUDMAP_RATE_LIMIT=1000 | ${burstRefresh.perRefreshMs.toFixed(0)} ms (${burstRefresh.refreshes} refreshes, ${(burstRefresh.wallSeconds / burstRefresh.refreshes).toFixed(1)} s each) | |`,
      `| ${label}: HAProxy RSS, master + worker (for reference) | ${mb(steady.haproxyRssBytes)} | |`
    )
  }

  // ---- report
  results["loadAverageAtEnd"] = loadavg()
  const lines = [
    "",
    `cloudmap-haproxy footprint (${results["date"]}, ${gitDescribe}, ${cpus().length} CPUs, HAProxy ${haproxyVersion}, load average at end ${loadavg().map((x) => x.toFixed(2)).join(" ")})`,
    "",
    "| measure | result | target |",
    "|---|---|---|",
    ...rows,
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
