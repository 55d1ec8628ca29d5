/**
 * Watchdog latency benchmark: `npm run bench:watchdog` (= `bun scripts/bench-watchdog.ts`). Runs
 * `bench:churn --quick --no-write` (the agent and the reload-every-change baseline under churn and
 * keep-alive load, scripts/bench-churn.ts) and meanwhile asks every HAProxy it starts what the
 * agent's watchdog asks (src/haproxy/watchdog.ts): `show info` on the admin socket and `show proc`
 * on the master CLI, every 100 ms each, with a 10 s timeout. Prints the latency percentiles and the
 * longest run of consecutive failed or slow (> 2 s) answers, from which HAPROXY_WATCHDOG's defaults
 * are chosen (BENCHMARKS.md "HAProxy watchdog"). `--seconds=N` stops after N seconds (default:
 * when the churn run ends, at most 900 s).
 */
import { spawn } from "node:child_process"
import { readdirSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import process from "node:process"
import { Effect } from "effect"
import { sendCommand } from "../src/haproxy/socket-client.ts"
import { ROOT } from "./bench/agent-binary.ts"

const argSeconds = process.argv.find((a) => a.startsWith("--seconds="))
const LIMIT_MS = (argSeconds === undefined ? 900 : Number(argSeconds.split("=")[1])) * 1000
const SLOW_MS = 2_000
const started = Date.now()

/** Every admin.sock / master.sock under `dir` (the churn run's work directory). */
const sockets = (dir: string, found: Array<string> = [], depth = 0): Array<string> => {
  if (depth > 6) return found
  let names: Array<string> = []
  try {
    names = readdirSync(dir)
  } catch {
    return found
  }
  for (const name of names) {
    const path = join(dir, name)
    if (name === "admin.sock" || name === "master.sock") found.push(path)
    else if (!name.startsWith(".")) {
      try {
        if (statSync(path).isDirectory()) sockets(path, found, depth + 1)
      } catch {
        // gone meanwhile
      }
    }
  }
  return found
}

const newestChurnDir = (): string | undefined =>
  readdirSync(tmpdir())
    .filter((n) => n.startsWith("bench-churn-"))
    .map((n) => join(tmpdir(), n))
    .filter((p) => statSync(p).mtimeMs >= started - 1000)
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0]

interface Samples {
  readonly ok: Array<number>
  failed: number
  slow: number
  /** The longest time from the last good answer to the next one (ms), while probing. */
  longestGapMs: number
  lastGoodAt: number | undefined
}
const byKind: Record<string, Samples> = {}

const probe = async (path: string) => {
  const kind = path.endsWith("admin.sock") ? "admin socket: show info" : "master CLI: show proc"
  const s = (byKind[kind] ??= { ok: [], failed: 0, slow: 0, longestGapMs: 0, lastGoodAt: undefined })
  const t0 = performance.now()
  const command = kind.startsWith("admin") ? "show info" : "show proc"
  const result = await Effect.runPromise(Effect.result(sendCommand(path, command, { connectTimeout: 10_000, responseTimeout: 10_000 })))
  const ms = performance.now() - t0
  const now = Date.now()
  if (result._tag === "Failure") {
    // A socket that is gone (its HAProxy stopped, or the master re-executing) is not a latency.
    if (result.failure._tag === "SocketUnavailable") return
    s.failed++
    return
  }
  if (ms > SLOW_MS) s.slow++
  s.ok.push(ms)
  if (s.lastGoodAt !== undefined) s.longestGapMs = Math.max(s.longestGapMs, now - s.lastGoodAt)
  s.lastGoodAt = now
}

const churn = spawn(process.execPath, ["scripts/bench-churn.ts", "--quick", "--no-write"], { cwd: ROOT, stdio: ["ignore", "inherit", "inherit"] })
let done = false
churn.once("exit", () => void (done = true))
const stop = () => {
  if (!done && churn.pid !== undefined) process.kill(churn.pid, "SIGTERM")
}
process.once("SIGINT", stop)
process.once("SIGTERM", stop)

const inFlight = new Set<string>()
while (!done && Date.now() - started < LIMIT_MS) {
  const dir = newestChurnDir()
  for (const path of dir === undefined ? [] : sockets(dir)) {
    if (inFlight.has(path)) continue
    inFlight.add(path)
    void probe(path).finally(() => inFlight.delete(path))
  }
  await new Promise((r) => setTimeout(r, 100))
}
stop()
await new Promise((r) => setTimeout(r, 2000))

const pct = (xs: Array<number>, p: number) => {
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}
console.log(`\nbench:watchdog: ${Math.round((Date.now() - started) / 1000)} s under bench:churn --quick load`)
for (const [kind, s] of Object.entries(byKind)) {
  console.log(
    `${kind}: ${s.ok.length} answers, p50 ${pct(s.ok, 50).toFixed(2)} ms, p99 ${pct(s.ok, 99).toFixed(2)} ms, p99.9 ${
      pct(s.ok, 99.9).toFixed(2)
    } ms, max ${Math.max(...s.ok).toFixed(2)} ms; over ${SLOW_MS} ms: ${s.slow}; timed out or failed (socket there): ${s.failed}; longest gap between answers ${
      (s.longestGapMs / 1000).toFixed(2)
    } s`
  )
}
