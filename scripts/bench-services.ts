/**
 * New and deleted services under keep-alive load: `npm run bench:services` (= `bun
 * scripts/bench-services.ts`). Measures what HAProxy 3.4's runtime backends change
 * (docs/haproxy-runtime-backends.md) on the HAProxy that HAPROXY_BIN names (default: the installed one),
 * with the compiled agent (`dist/cloudmap-haproxy run`, built when missing or with --rebuild) at its
 * default settings against the in-process mock Cloud Map.
 *
 * Per size (`--sizes 100,1000`, default; services of one instance each, all pointed at one local
 * sink): after ready and a 10 s window under the load below (the agent's and HAProxy's CPU rate without changes), `--new N`
 * services (default 8) are created one after the other with one instance each, each timed from the
 * RegisterInstance call's return to the first 200 through HAProxy for its host (each registration
 * waits a seeded random 0–CHANGE_FEED_RATE s first, so registrations fall anywhere in the feed's
 * round as real ones do, not always right after the round that served the last one); then all are
 * removed (DeregisterInstance, DeleteService, one after the other) and each is timed from its
 * DeleteService call's return to the first 404. Meanwhile 4 keep-alive clients send requests to an existing service every 20 ms; every
 * answer but a 200, and every connection error, is a failed request. Reported: HAProxy's reload
 * counter and worker PIDs before and after (`show proc`), the failed requests, the latencies, and
 * the CPU (agent + HAProxy master and workers, old ones included, sampled every 200 ms over the whole
 * create/delete phase, minus the rate without changes × its duration) per new service, and the agent's applies in that phase (method, duration) from its log.
 *
 * Bounded: every wait has a deadline (new service 30 s, deleted service 60 s: a deleted service is
 * seen by the service listing, every REFRESH_RATE while the change feed runs); everything started
 * here is stopped by PID at the end. Prints one Markdown table row per size, and the raw results
 * as JSON with `--json FILE`. `--feed-rate S` runs the agent with CHANGE_FEED_RATE=S (default: its default).
 */
import {
  CreateServiceCommand,
  DeleteServiceCommand,
  DeregisterInstanceCommand,
  ListNamespacesCommand,
  RegisterInstanceCommand
} from "@aws-sdk/client-servicediscovery"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { Agent, request } from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import process from "node:process"
import { TABLE } from "../src/config/variables.ts"
import { AGENT_BINARY, ensureAgentBinary, ROOT } from "./bench/agent-binary.ts"
import { BENCH_DOMAIN, BENCH_NAMESPACE, benchAgentEnv, spawnAgent, waitAgentReady } from "./bench/agent.ts"
import { makeRandom, pointAt, startMock, syntheticFixture } from "./bench/adapters/mock-cloudmap.ts"
import { readShowProc } from "./bench/adapters/master-cli.ts"
import { cloudMapClient, instanceAttributes } from "./bench/cloudmap-sdk.ts"
import { haproxyBinary, haproxyVersion } from "./bench/haproxy.ts"
import { gitDescribe, loadAverageText } from "./bench/machine.ts"
import { freePort } from "./bench/net.ts"
import { cpuSeconds, haproxyPidsFor } from "./bench/proc.ts"
import { percentile } from "./bench/stats.ts"
import { sleep } from "./bench/wait.ts"
import { startSink } from "./bench/sink.ts"

const arg = (name: string): string | undefined => {
  const hit = process.argv.find((a) => a === `--${name}` || a.startsWith(`--${name}=`))
  if (hit === undefined) return undefined
  if (hit.includes("=")) return hit.slice(hit.indexOf("=") + 1)
  return process.argv[process.argv.indexOf(hit) + 1]
}
const SIZES = (arg("sizes") ?? "100,1000").split(",").map(Number)
const NEW = Number(arg("new") ?? "8")
const JSON_OUT = arg("json")
const FEED_RATE = arg("feed-rate")
const feedDefault = TABLE.changeFeedSeconds.fallback
/** CHANGE_FEED_RATE the agent runs with (seconds): its default unless --feed-rate. */
const FEED_SECONDS = FEED_RATE !== undefined ? Number(FEED_RATE) : feedDefault._tag === "Value" ? feedDefault.value : Number.NaN
/** Seed of the waits before each registration (the same every run). */
const PHASE_SEED = 22
if (
  SIZES.some((n) => !Number.isInteger(n) || n < 1 || n > 5000) || !Number.isInteger(NEW) || NEW < 1 || NEW > 50 ||
  !(FEED_SECONDS >= 0.5 && FEED_SECONDS <= 60)
) {
  console.error("usage: bun scripts/bench-services.ts [--sizes 100,1000] [--new 8] [--feed-rate 2] [--json FILE] [--rebuild]")
  process.exit(2)
}
const HAPROXY = haproxyBinary()
const version = haproxyVersion(HAPROXY)?.version ?? "?"
const say = (line: string) => console.error(`[bench:services] ${line}`)

/** One GET with Host, on a fresh connection; the status, or 0 on an error. */
const status = (port: number, host: string): Promise<number> =>
  new Promise((resolve) => {
    const req = request({ host: "127.0.0.1", port, path: "/", agent: false, headers: { host, connection: "close" }, timeout: 2_000 }, (res) => {
      res.resume()
      res.on("end", () => resolve(res.statusCode ?? 0))
    })
    req.on("timeout", () => req.destroy())
    req.on("error", () => resolve(0))
    req.end()
  })

/** Polls every 20 ms until `want` answers; ms from `from`, or undefined at the deadline. */
const until = async (port: number, host: string, want: (s: number) => boolean, from: number, deadlineMs: number) => {
  while (performance.now() - from < deadlineMs) {
    if (want(await status(port, host))) return performance.now() - from
    await sleep(20)
  }
  return undefined
}

/** 4 keep-alive clients, one request every 20 ms each, to `host`; counts what is not a 200. */
const keepAliveLoad = (port: number, host: string) => {
  const agent = new Agent({ keepAlive: true, maxSockets: 4 })
  let running = true
  let sent = 0
  let failed = 0
  const client = async () => {
    while (running) {
      sent++
      const ok = await new Promise<boolean>((resolve) => {
        const req = request({ host: "127.0.0.1", port, path: "/", agent, headers: { host }, timeout: 5_000 }, (res) => {
          res.resume()
          res.on("end", () => resolve(res.statusCode === 200))
        })
        req.on("timeout", () => req.destroy())
        req.on("error", () => resolve(false))
        req.end()
      })
      if (!ok) failed++
      await sleep(20)
    }
  }
  const clients = Array.from({ length: 4 }, client)
  return {
    stop: async () => {
      running = false
      await Promise.all(clients)
      agent.destroy()
      return { sent, failed }
    }
  }
}

/**
 * CPU seconds of a changing set of processes (the agent, HAProxy's master and workers: a reload
 * replaces the worker) between start() and stop(): sampled every 200 ms, so a worker that exits
 * keeps its last sample and one born meanwhile counts from 0.
 */
const cpuMeter = (pids: () => ReadonlyArray<number>) => {
  const first = new Map<number, number>()
  const last = new Map<number, number>()
  let started = false
  const sample = () => {
    for (const pid of pids()) {
      try {
        const cpu = cpuSeconds(pid)
        if (!first.has(pid)) first.set(pid, started ? 0 : cpu)
        last.set(pid, cpu)
      } catch {
        // exited between the listing and the read: its last sample stands
      }
    }
  }
  sample()
  started = true
  const timer = setInterval(sample, 200)
  const sum = () => {
    let total = 0
    for (const [pid, cpu] of last) total += cpu - (first.get(pid) ?? 0)
    return total
  }
  return {
    /** The CPU seconds so far, the meter running on. */
    read: (): number => {
      sample()
      return sum()
    },
    stop: (): number => {
      clearInterval(timer)
      sample()
      return sum()
    }
  }
}

/** `show proc`, retried while the master CLI is busy with a reload (up to 5 s). */
const showProc = async (socket: string) => {
  for (let i = 0; i < 50; i++) {
    const p = await readShowProc(socket)
    if (p !== undefined) return p
    await sleep(100)
  }
  return undefined
}

interface SizeResult {
  /** The agent's applies during the phase (its log): how, and how long each took. */
  readonly applies: ReadonlyArray<{ readonly method: string; readonly durationMs: number }>
  readonly size: number
  readonly reloads: number
  readonly workersSame: boolean
  readonly sent: number
  readonly failed: number
  readonly serveMs: ReadonlyArray<number | undefined>
  readonly goneMs: ReadonlyArray<number | undefined>
  readonly cpuMsPerService: number
  /** Of it, the creation phase's (CreateService to serving) and the deletion phase's, each per service. */
  readonly cpuMsPerNew: number
  readonly cpuMsPerDeleted: number
}

const runSize = async (size: number): Promise<SizeResult> => {
  const work = mkdtempSync(join(tmpdir(), "cmh-bench-services-"))
  const sink = await startSink()
  const fixture = syntheticFixture({ namespaces: 1, servicesPerNamespace: size, instancesPerService: 1, basePort: 1_024 })
  const mock = await startMock(pointAt(fixture, sink.port))
  const configDir = join(work, "config")
  const listenPort = await freePort()
  const healthPort = await freePort()
  const log: Array<string> = []
  const agent = spawnAgent({
    binary: AGENT_BINARY,
    configDir,
    listenPort,
    healthPort,
    mockUrl: mock.url,
    env: {
      ...benchAgentEnv({ mockUrl: mock.url, configDir, listenPort, healthPort }),
      HAPROXY_BIN: HAPROXY,
      DRAIN_SECONDS: "0",
      ...(FEED_RATE === undefined ? {} : { CHANGE_FEED_RATE: FEED_RATE })
    },
    stdout: true,
    onOutput: (chunk) => log.push(chunk.toString())
  })
  try {
    await waitAgentReady(agent, { timeoutMs: 180_000, intervalMs: 200, context: () => log.join("").slice(-2_000) })
    const sdk = cloudMapClient(mock.url, 3)
    const existing = `${fixture.namespaces[0]!.services![0]!.name}.${BENCH_DOMAIN}`
    const pids = () => [agent.pid, ...haproxyPidsFor(configDir)]
    const socket = join(configDir, "master.sock")
    const before = await showProc(socket)
    // The rate at rest is measured under the same load: what remains is the services' own cost.
    const load = keepAliveLoad(listenPort, existing)
    const idleStart = performance.now()
    const idle = cpuMeter(pids)
    await sleep(10_000)
    const idleRate = idle.stop() / ((performance.now() - idleStart) / 1000)
    const logFrom = log.length
    const phaseStart = performance.now()
    const meter = cpuMeter(pids)
    const serveMs: Array<number | undefined> = []
    const created: Array<{ id: string; name: string }> = []
    const namespaces = await sdk.send(new ListNamespacesCommand({}))
    const ns = namespaces.Namespaces!.find((n) => n.Name === BENCH_NAMESPACE)!.Id!
    const phase = makeRandom(PHASE_SEED)
    for (let i = 0; i < NEW; i++) {
      const name = `fresh-${i}`
      await sleep(Math.floor(phase() * FEED_SECONDS * 1000))
      const svc = await sdk.send(new CreateServiceCommand({ NamespaceId: ns, Name: name, HealthCheckCustomConfig: {} }))
      const id = svc.Service!.Id!
      created.push({ id, name })
      await sdk.send(new RegisterInstanceCommand({ ServiceId: id, InstanceId: `${name}-1`, Attributes: instanceAttributes(sink.port) }))
      serveMs.push(await until(listenPort, `${name}.${BENCH_DOMAIN}`, (s) => s === 200, performance.now(), 30_000))
    }
    const createCpu = meter.read() - idleRate * ((performance.now() - phaseStart) / 1000)
    // Deleted together (the listing sees them in one pass), each timed from its own DeleteService.
    const deleted: Array<{ name: string; at: number }> = []
    for (const { id, name } of created) {
      await sdk.send(new DeregisterInstanceCommand({ ServiceId: id, InstanceId: `${name}-1` }))
      await sdk.send(new DeleteServiceCommand({ Id: id }))
      deleted.push({ name, at: performance.now() })
    }
    const goneMs = await Promise.all(deleted.map(({ name, at }) => until(listenPort, `${name}.${BENCH_DOMAIN}`, (s) => s === 404, at, 60_000)))
    const phaseS = (performance.now() - phaseStart) / 1000
    const cpu = meter.stop() - idleRate * phaseS
    const { sent, failed } = await load.stop()
    const after = await showProc(socket)
    const applies = log.slice(logFrom).join("").split("\n").flatMap((l) => {
      if (!l.includes('"configuration applied"')) return []
      try {
        const j = JSON.parse(l) as { method: string; durationMs: number }
        return [{ method: j.method, durationMs: j.durationMs }]
      } catch {
        return []
      }
    })
    return {
      applies,
      size,
      reloads: (after?.master.reloads ?? -1) - (before?.master.reloads ?? 0),
      workersSame: JSON.stringify(after?.workers.map((w) => w.pid)) === JSON.stringify(before?.workers.map((w) => w.pid)),
      sent,
      failed,
      serveMs,
      goneMs,
      cpuMsPerService: (cpu * 1000) / NEW,
      cpuMsPerNew: (createCpu * 1000) / NEW,
      cpuMsPerDeleted: ((cpu - createCpu) * 1000) / NEW
    }
  } finally {
    await agent.stop()
    await mock.close()
    await sink.close()
    rmSync(work, { recursive: true, force: true })
  }
}

const fmt = (ms: number | undefined) => (ms === undefined ? "timeout" : `${(ms / 1000).toFixed(2)} s`)
const pct = (xs: ReadonlyArray<number | undefined>, p: number) => {
  if (xs.some((x) => x === undefined)) return `${xs.filter((x) => x === undefined).length} timed out`
  return fmt(percentile([...(xs as Array<number>)].sort((a, b) => a - b), p))
}

const appliesText = (applies: SizeResult["applies"]) =>
  [...new Set(applies.map((a) => a.method))].sort().map((m) => {
    const ms = applies.filter((a) => a.method === m).map((a) => a.durationMs).sort((a, b) => a - b)
    return `${m}: ${ms.length}, ${percentile(ms, 50)} ms`
  }).join("; ")

ensureAgentBinary(process.argv.includes("--rebuild"), say)
say(`HAProxy ${version} (${HAPROXY}), sizes ${SIZES.join(", ")}, ${NEW} new services each, CHANGE_FEED_RATE ${FEED_SECONDS} s, load ${loadAverageText()}`)
const results: Array<SizeResult> = []
for (const size of SIZES) {
  say(`${size} services...`)
  results.push(await runSize(size))
}
if (JSON_OUT !== undefined) writeFileSync(JSON_OUT, JSON.stringify({ version, commit: gitDescribe(ROOT), results }, null, 2))
console.log(`commit ${gitDescribe(ROOT)}, HAProxy ${version}, load average at the end ${loadAverageText()}`)
console.log("| HAProxy | services | reloads | same worker | requests (failed) | new → serving p50 / p95 / max | deleted → 404 p50 / max | applies (method: count, median ms) | CPU per new + deleted service (agent + HAProxy) | of it: new / deleted |")
console.log("|---|---|---|---|---|---|---|---|---|---|")
for (const r of results) {
  const serveMax = r.serveMs.some((x) => x === undefined) ? "timeout" : fmt(Math.max(...(r.serveMs as Array<number>)))
  const goneMax = r.goneMs.some((x) => x === undefined) ? "timeout" : fmt(Math.max(...(r.goneMs as Array<number>)))
  console.log(
    `| ${version} | ${r.size} | ${r.reloads} | ${r.workersSame ? "yes" : "no"} | ${r.sent} (${r.failed}) | ${pct(r.serveMs, 50)} / ${pct(r.serveMs, 95)} / ${serveMax} | ${pct(r.goneMs, 50)} / ${goneMax} | ${appliesText(r.applies)} | ${r.cpuMsPerService.toFixed(0)} ms | ${r.cpuMsPerNew.toFixed(0)} ms / ${r.cpuMsPerDeleted.toFixed(0)} ms |`
  )
}
process.exit(0)
