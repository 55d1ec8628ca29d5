/**
 * Cross-runtime smoke check of src/haproxy (not a vitest file: vitest only runs under Node).
 *
 *   node_modules/.bin/node test/haproxy/runtime-smoke.ts     # Node 22 type stripping
 *   npx bun test/haproxy/runtime-smoke.ts
 *   npx deno run -A test/haproxy/runtime-smoke.ts
 *
 * Starts HAProxy on 127.0.0.1, validates, reloads, re-points a server at runtime, soft-stops
 * (or, with `--scope-close`, just closes the scope), and checks that no process is left. Prints one
 * line per step and exits non-zero on failure.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Effect } from "effect"
import { join } from "node:path"
import { makeHaproxyProcess } from "../../src/haproxy/process.ts"
import { makeRuntimeApi } from "../../src/haproxy/runtime-api.ts"
import { validateConfig } from "../../src/haproxy/validate.ts"
import {
  haproxyBin,
  httpBodies,
  killPids,
  namedBackend,
  renderConfig,
  tempDir,
  waitGone,
  writeFile
} from "../support/haproxy-fixtures.ts"
import { freePort } from "../support/ports.ts"

const runtime = "Bun" in globalThis ? "bun" : "Deno" in globalThis ? "deno" : `node ${process.version}`

const scopeClose = process.argv.includes("--scope-close")
const tracked: Array<number> = []

const program = Effect.gen(function*() {
  const dir = yield* tempDir
  const a = yield* namedBackend("a")
  const b = yield* namedBackend("b")
  const port = yield* Effect.promise(freePort)
  const cfg = join(dir, "haproxy.cfg")
  const mapPath = join(dir, "hosts.map")
  const adminSocket = join(dir, "admin.sock")
  yield* writeFile(mapPath, "a.example.com be_a\n")
  const config = (fallback: string) =>
    renderConfig({
      adminSocket,
      frontends: [{ name: "fe", port, map: { path: mapPath, fallback } }],
      backends: [
        { name: "be_a", servers: [{ name: "s1", addr: "127.0.0.1", port: a.port }] },
        { name: "be_b", servers: [{ name: "s1", addr: "127.0.0.1", port: b.port }] }
      ]
    })
  yield* writeFile(cfg, config("be_a"))
  const ok = yield* validateConfig(haproxyBin, cfg)
  console.log(`[${runtime}] validate ok in ${ok.durationMs} ms`)

  const hx = yield* makeHaproxyProcess({ bin: haproxyBin, cfgPath: cfg, masterSocket: join(dir, "master.sock") })
  const proc = yield* hx.showProc
  tracked.push(hx.pid, ...proc.workers.map((w) => w.pid))
  console.log(`[${runtime}] started master ${hx.pid}, worker ${proc.workers.map((w) => w.pid).join(",")}`)
  const first = yield* httpBodies(port, 1, { host: "x.example.com" })
  if (first[0] !== "200 a") return yield* Effect.die(`expected 200 a, got ${first[0]}`)

  yield* writeFile(cfg, config("be_b"))
  const r = yield* hx.reload()
  tracked.push(r.newWorkerPid)
  const second = yield* httpBodies(port, 1, { host: "x.example.com" })
  if (second[0] !== "200 b") return yield* Effect.die(`expected 200 b after reload, got ${second[0]}`)
  console.log(`[${runtime}] reload ok in ${r.durationMs} ms, new worker ${r.newWorkerPid}`)

  const api = makeRuntimeApi(adminSocket)
  yield* api.setServerAddr("be_b", "s1", "127.0.0.1", a.port)
  const third = yield* httpBodies(port, 1, { host: "x.example.com" })
  if (third[0] !== "200 a") return yield* Effect.die(`expected 200 a after set server addr, got ${third[0]}`)
  console.log(`[${runtime}] runtime set server addr ok`)

  if (!scopeClose) {
    const info = yield* hx.softStop("5 seconds")
    console.log(`[${runtime}] soft stop: master exited with code ${info.code}`)
  }
})

const checked = Effect.gen(function*() {
  yield* program.pipe(Effect.scoped)
  // The scope is closed here: HAProxy must be gone whichever way it was stopped.
  const left = yield* waitGone(tracked, 3000)
  yield* killPids(left)
  if (left.length > 0) return yield* Effect.die(`processes left after ${scopeClose ? "scope close" : "soft stop"}: ${left}`)
  console.log(`[${runtime}] ${scopeClose ? "scope close" : "soft stop"}: no HAProxy process left (${tracked.join(",")})`)
})

Effect.runPromise(checked.pipe(Effect.provide(NodeServices.layer))).then(
  () => process.exit(0),
  (error) => {
    console.error(`[${runtime}] FAILED`, error)
    process.exit(1)
  }
)
