/**
 * Wrong-password flood benchmark: `npm run bench:auth-flood` (= `bun scripts/bench-auth-flood.ts`).
 * Flags: `--rate` wrong attempts per second (1000), `--seconds` per measurement (5), `--rounds`
 * (5, the median is reported), `--workers` keep-alive loops of normal traffic (8), `--sources`
 * source addresses of the flood, 127.0.3.x (20), `--path` the page flooded (/stats),
 * `--no-credentials` a control run: the same flood without credentials (401, nothing to check).
 *
 * The agent runs from source (`bun src/main.ts run`; HAProxy does the work measured here) with its
 * default settings against the mock Cloud Map, one service with one echo backend, everything on
 * 127.0.0.1. Each round measures normal traffic (GET through HAProxy to the echo backend, 200s per
 * second, p50/p95) unloaded, then again while a child process sends the flood of wrong Basic
 * credentials (paced, bounded in count), and HAProxy's CPU time (utime + stime of its processes)
 * in each window; then the flood alone, for what it costs HAProxy by itself; then normal traffic
 * while the flood is switched on and off every second, compared second by second (on a busy
 * shared machine the load drifts between windows seconds apart; adjacent seconds share it). Prints a Markdown section for BENCHMARKS.md. Every process started is stopped by
 * PID at the end.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { cpus, tmpdir } from "node:os"
import { join } from "node:path"
import process from "node:process"
import { startMockCloudMap } from "../src/mock/server.ts"
import { benchAgentEnv } from "./bench/agent.ts"
import { ROOT } from "./bench/agent-binary.ts"
import { basic, flood, type FloodOptions, type FloodResult, get, throughput, type Throughput } from "./bench/auth-flood.ts"
import { parseArgs } from "./bench/args.ts"
import { bunVersion, gitDescribe, loadAverageText } from "./bench/machine.ts"
import { cpuSeconds, haproxyServingPidsFor } from "./bench/proc.ts"
import { median } from "./bench/stats.ts"

const args = parseArgs(process.argv.slice(2))

// The flood runs in a child process of its own (this file with --flood-child), so it does not
// take the CPU of the loop that measures normal traffic.
if (args.has("flood-child")) {
  const o = JSON.parse(args.string("flood-child-options")!) as Parameters<typeof flood>[0]
  const cpu0 = process.cpuUsage()
  const r = await flood(o)
  const cpu = process.cpuUsage(cpu0)
  const cores = (cpu.user + cpu.system) / 1000 / r.elapsedMs
  process.stdout.write(JSON.stringify({ ...r, byStatus: Object.fromEntries(r.byStatus), cores }) + "\n")
  process.exit(0)
}

const RATE = args.number("rate", 1000)
const SECONDS = args.number("seconds", 5)
const ROUNDS = args.number("rounds", 5)
const WORKERS = args.number("workers", 8)
const SOURCES = args.number("sources", 20)
const PATH = args.string("path") ?? "/stats"
/** A control run: the same flood without credentials (401 at once, no password to check). */
const CONTROL = args.has("no-credentials")
const WHAT = CONTROL ? "requests without credentials" : "wrong passwords"
const HOST = "web.bench.test"

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer()
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as AddressInfo).port
      s.close(() => resolve(port))
    })
  })

const say = (line: string) => process.stderr.write(`${line}\n`)
const cleanups: Array<() => Promise<unknown> | unknown> = []
const cleanup = async () => {
  for (const c of cleanups.splice(0).reverse()) await Promise.resolve(c()).catch(() => undefined)
}
process.on("SIGINT", () => void cleanup().then(() => process.exit(130)))

const echo = createServer((_req, res) => res.end("{\"server\":\"web-1\"}"))
await new Promise<void>((r) => echo.listen(0, "127.0.0.1", () => r()))
cleanups.push(() => new Promise((r) => { echo.closeAllConnections(); echo.close(r) }))
const mock = await startMockCloudMap({
  fixture: {
    namespaces: [{
      name: "bench",
      services: [{ name: "web", instances: [{ id: "web-1", attributes: { AWS_INSTANCE_IPV4: "127.0.0.1", AWS_INSTANCE_PORT: String((echo.address() as AddressInfo).port) } }] }]
    }]
  }
})
cleanups.push(() => mock.close())

const configDir = mkdtempSync(join(tmpdir(), "bench-auth-flood-"))
const listenPort = await freePort()
const healthPort = await freePort()
const env = {
  ...benchAgentEnv({ mockUrl: mock.url, configDir, listenPort, healthPort }),
  AWS_ACCESS_KEY_ID: "bench",
  AWS_SECRET_ACCESS_KEY: "bench",
  NAMESPACE_MAP: JSON.stringify([{ namespace: "bench", domainname: "bench.test", mode: "host" }]),
  ...(process.env["HAPROXY_BIN"] === undefined ? {} : { HAPROXY_BIN: process.env["HAPROXY_BIN"] })
}
const agent: ChildProcess = spawn(process.execPath, [join(ROOT, "src/main.ts"), "run"], { env, stdio: "ignore" })
cleanups.push(async () => {
  agent.kill("SIGTERM")
  await new Promise((r) => setTimeout(r, 2000))
  if (agent.exitCode === null) agent.kill("SIGKILL")
  for (const pid of haproxyServingPidsFor(configDir)) {
    try {
      process.kill(pid, "SIGKILL")
    } catch {
      // gone
    }
  }
  rmSync(configDir, { recursive: true, force: true })
})

const deadline = Date.now() + 60_000
while ((await get({ port: listenPort, host: HOST, path: "/" })).status !== 200) {
  if (Date.now() > deadline) {
    await cleanup()
    throw new Error("the agent did not route web.bench.test within 60 s")
  }
  await new Promise((r) => setTimeout(r, 200))
}
const haproxyCpu = () => haproxyServingPidsFor(configDir).reduce((s, pid) => s + cpuSeconds(pid), 0)

/** Normal traffic for SECONDS, and HAProxy's CPU seconds per second meanwhile. */
const measure = async (): Promise<{ traffic: Throughput; haproxyCores: number }> => {
  const cpu0 = haproxyCpu()
  const traffic = await throughput({ port: listenPort, host: HOST, workers: WORKERS, durationMs: SECONDS * 1000 })
  return { traffic, haproxyCores: (haproxyCpu() - cpu0) / SECONDS }
}

/** CPU the flood's sender used (cores), per flood: it shares the machine with the measured traffic. */
const floodClientCores: Array<number> = []

const floodChild = (extra: Partial<FloodOptions> = {}): Promise<FloodResult> =>
  new Promise((resolve, reject) => {
    const options: FloodOptions = {
      port: listenPort, host: HOST, path: PATH, authorization: CONTROL ? undefined : basic("stats_user", "wrong-password"),
      ratePerSecond: RATE, durationMs: (SECONDS + 2) * 1000,
      sources: Array.from({ length: SOURCES }, (_, i) => `127.0.3.${i + 1}`),
      ...extra
    }
    const child = spawn(process.execPath, [import.meta.filename, "--flood-child", "--flood-child-options", JSON.stringify(options)], { stdio: ["ignore", "pipe", "inherit"] })
    cleanups.push(() => child.exitCode === null && child.kill("SIGKILL"))
    let out = ""
    child.stdout!.on("data", (c: Buffer) => (out += c.toString()))
    child.on("exit", () => {
      try {
        const r = JSON.parse(out) as { sent: number; elapsedMs: number; byStatus: Record<string, number>; cores: number }
        floodClientCores.push(r.cores)
        resolve({ sent: r.sent, elapsedMs: r.elapsedMs, byStatus: new Map(Object.entries(r.byStatus).map(([k, v]) => [Number(k), v])) })
      } catch (e) {
        reject(new Error(`flood child: ${String(e)}: ${out}`))
      }
    })
  })

/**
 * Normal traffic while the flood is switched on and off every PERIOD_MS (2 × SECONDS on): the
 * requests completed in the ON seconds over those in the OFF seconds next to them. Adjacent
 * seconds share the machine's load, which drifts too much between windows seconds apart.
 */
const PERIOD_MS = 1000
const MARGIN_MS = 150
const alternating = async (): Promise<number> => {
  const onMs = 2 * SECONDS * 1000
  const startAt = Date.now() + 500
  const floodDone = floodChild({ durationMs: onMs, dutyPeriodMs: PERIOD_MS, startAtEpochMs: startAt })
  await new Promise((r) => setTimeout(r, 500))
  const traffic = await throughput({ port: listenPort, host: HOST, workers: WORKERS, durationMs: 2 * onMs })
  await floodDone
  let on = 0
  let off = 0
  for (const at of traffic.completedAt) {
    const t = at - startAt
    if (t < 0 || t >= 2 * onMs || t % PERIOD_MS < MARGIN_MS) continue
    if (Math.floor(t / PERIOD_MS) % 2 === 0) on += 1
    else off += 1
  }
  return off === 0 ? Number.NaN : on / off
}

const unloaded: Array<{ traffic: Throughput; haproxyCores: number }> = []
const alternated: Array<number> = []
const loaded: Array<{ traffic: Throughput; haproxyCores: number; flood: FloodResult }> = []
const floodAlone: Array<{ haproxyCores: number; flood: FloodResult }> = []
try {
  await measure() // warm-up
  for (let round = 1; round <= ROUNDS; round++) {
    unloaded.push(await measure())
    const floodDone = floodChild()
    await new Promise((r) => setTimeout(r, 1000)) // the flood is at full rate
    const during = await measure()
    loaded.push({ ...during, flood: await floodDone })
    // The flood alone: what it costs HAProxy, free of the machine's noise on throughput.
    const aloneDone = floodChild()
    await new Promise((r) => setTimeout(r, 1000))
    const cpu0 = haproxyCpu()
    await new Promise((r) => setTimeout(r, SECONDS * 1000))
    floodAlone.push({ haproxyCores: (haproxyCpu() - cpu0) / SECONDS, flood: await aloneDone })
    await new Promise((r) => setTimeout(r, 1000))
    alternated.push(await alternating())
    say(`round ${round}: flood switched on and off every ${PERIOD_MS} ms: ${(100 * alternated.at(-1)!).toFixed(1)} %`)
    const u = unloaded.at(-1)!.traffic.perSecond
    say(`round ${round}: unloaded ${u.toFixed(0)}/s, flooded ${during.traffic.perSecond.toFixed(0)}/s (${((100 * during.traffic.perSecond) / u).toFixed(1)} %)`)
    await new Promise((r) => setTimeout(r, 2000))
  }
} finally {
  await cleanup()
}

const med = (xs: ReadonlyArray<number>) => median(xs)
const fmt = (n: number | undefined, digits = 0) => (n === undefined ? "-" : n.toFixed(digits))
const row = (label: string, rows: ReadonlyArray<{ traffic: Throughput; haproxyCores: number }>) =>
  `| ${label} | ${fmt(med(rows.map((r) => r.traffic.perSecond)))} | ${fmt(med(rows.map((r) => r.traffic.p50Ms ?? NaN)), 2)} | ` +
  `${fmt(med(rows.map((r) => r.traffic.p95Ms ?? NaN)), 2)} | ${rows.reduce((n, r) => n + r.traffic.failed, 0)} | ${fmt(med(rows.map((r) => r.haproxyCores)), 2)} |`
const statuses = new Map<number, number>()
for (const l of [...loaded, ...floodAlone]) for (const [k, v] of l.flood.byStatus) statuses.set(k, (statuses.get(k) ?? 0) + v)
const sent = [...loaded, ...floodAlone].reduce((n, l) => n + l.flood.sent, 0)
const achieved = med([...loaded, ...floodAlone].map((l) => (l.flood.sent * 1000) / l.flood.elapsedMs))
const unloadedCores = med(unloaded.map((u) => u.haproxyCores))
const unloadedRate = med(unloaded.map((u) => u.traffic.perSecond))
const aloneCores = med(floodAlone.map((f) => f.haproxyCores))
const haproxy = spawnSync(process.env["HAPROXY_BIN"] ?? "haproxy", ["-v"], { encoding: "utf8" }).stdout.split("\n")[0] ?? "?"
/** Each round's flooded throughput over its own unloaded one (rounds alternate: the machine's load drifts). */
const ratios = loaded.map((l, i) => l.traffic.perSecond / unloaded[i]!.traffic.perSecond)
const ratio = med(ratios)

process.stdout.write(`
Run: ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC, commit \`${gitDescribe(ROOT)}\`, ${haproxy.trim()}, Bun ${bunVersion()},
${cpus().length} CPUs, load average before the run ${loadAverageText()}.
\`npm run bench:auth-flood -- --rate ${RATE} --seconds ${SECONDS} --rounds ${ROUNDS} --workers ${WORKERS} --sources ${SOURCES} --path ${PATH}${CONTROL ? " --no-credentials" : ""}\`

| normal traffic (${WORKERS} keep-alive loops) | requests/s | p50 ms | p95 ms | failed | HAProxy CPU (cores) |
|---|---|---|---|---|---|
${row("unloaded", unloaded)}
${row(`with ${RATE}/s ${WHAT} on ${PATH}`, loaded)}
| only the ${RATE}/s ${WHAT}, no normal traffic | - | - | - | - | ${fmt(aloneCores, 3)} |

Flood switched on and off every ${PERIOD_MS / 1000} s for ${4 * SECONDS} s (normal traffic in the ON seconds over the OFF
seconds next to them, ${MARGIN_MS} ms after each switch left out): **${(100 * med(alternated)).toFixed(1)} %** (median of the
rounds: ${alternated.map((r) => `${(100 * r).toFixed(0)} %`).join(", ")}).
Flooded window over the unloaded window before it: ${(100 * ratio).toFixed(1)} % (median of the ${ROUNDS} rounds' ratios: ${ratios.map((r) => `${(100 * r).toFixed(0)} %`).join(", ")}). Flood: ${sent} requests
at ${fmt(achieved)}/s from ${SOURCES} sources, answered ${[...statuses].sort((a, b) => a[0] - b[0]).map(([k, v]) => `${k}: ${v}`).join(", ")}
(status 0: no answer). The flood's sender used ${fmt(med(floodClientCores), 2)} cores of the machine's ${cpus().length} meanwhile. HAProxy spends ${fmt(aloneCores, 3)} cores on the flood alone, what
${fmt(unloadedCores > 0 ? (aloneCores / unloadedCores) * unloadedRate : undefined)} normal requests/s cost it (unloaded: ${fmt(unloadedCores, 2)} cores for ${fmt(unloadedRate)}/s).
`)
