/**
 * The runtime updater adding and removing whole services on the real HAProxy under test, over the
 * agent's own rendering (the named defaults of each option profile): a host-mode service with the
 * defaults, a path-mode one (its path stripped by the profile's rule) and a sticky one (its cookie
 * set by the profile, the server's value passed to `add server`). On 3.4 and later no reload
 * happens (same worker, same reload counter) and everything routes, then leaves; before 3.4 the
 * updater answers false (the applier reloads) and sends nothing.
 */
import { createServer, request } from "node:http"
import type { AddressInfo } from "node:net"
import { join } from "node:path"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { profilesOf } from "../../src/apply/backend-plan.ts"
import { diffDesired } from "../../src/apply/diff.ts"
import { makeRuntimeUpdater } from "../../src/apply/runtime-update.ts"
import { makeHaproxyProcess } from "../../src/haproxy/process.ts"
import { makeRuntimeApi } from "../../src/haproxy/runtime-api.ts"
import { makeRuntimeBackendApi, supportsRuntimeBackends } from "../../src/haproxy/runtime-backend-api.ts"
import { makeRuntimeTransport } from "../../src/haproxy/runtime-transport.ts"
import type { Backend, Desired, Server } from "../../src/model/desired.ts"
import { serverCookie } from "../../src/model/names.ts"
import { DEFAULT_OPTIONS, type ServiceOptions } from "../../src/model/service-options.ts"
import { render } from "../../src/render/render.ts"
import { settings, writeRendered } from "../render/fixtures.ts"
import { haproxyBin, killPids, tempDir } from "../support/haproxy-fixtures.ts"
import { freePort } from "../support/ports.ts"
import { execFileSync } from "node:child_process"

const version = /version (\S+)/.exec(execFileSync(haproxyBin, ["-v"], { encoding: "utf8" }))?.[1] ?? ""
const runtime = supportsRuntimeBackends(version)

const server = (name: string, port: number): Server => ({ name, instanceId: name, address: "127.0.0.1", port, health: undefined, weight: 1, backup: false, zone: undefined })
const STICKY: ServiceOptions = { ...DEFAULT_OPTIONS, balance: "leastconn", cookie: "SRV" }
const hostBackend = (host: string, servers: ReadonlyArray<Server>, options = DEFAULT_OPTIONS): Backend => ({
  name: `be_${host}`, namespace: "apps", service: host, serviceId: host, mode: "host", route: host, servers, options, zone: undefined
})
const pathBackend = (segment: string, servers: ReadonlyArray<Server>): Backend => ({
  name: `be_example.test_${segment}`, namespace: "apps", service: segment, serviceId: segment, mode: "path",
  route: `example.test/${segment}`, servers, options: DEFAULT_OPTIONS, zone: undefined
})
const desired = (backends: ReadonlyArray<Backend>): Desired => {
  const sorted = [...backends].sort((x, y) => (x.name < y.name ? -1 : 1))
  return {
    backends: sorted,
    hostRoutes: sorted.filter((b) => b.mode === "host").map((b) => ({ host: b.route, backend: b.name })).sort((x, y) => (x.host < y.host ? -1 : 1)),
    pathRoutes: sorted.filter((b) => b.mode === "path").map((b) => ({ domain: "example.test", segment: b.service, backend: b.name })),
    quarantined: [],
    ignoredOptions: []
  }
}

/** An HTTP server answering `<name> <path>`. */
const echo = (name: string) =>
  Effect.acquireRelease(
    Effect.callback<{ close: () => void; port: number }>((resume) => {
      const s = createServer((req, res) => res.end(`${name} ${req.url}`))
      s.listen(0, "127.0.0.1", () => resume(Effect.succeed({ port: (s.address() as AddressInfo).port, close: () => { s.closeAllConnections(); s.close() } })))
    }),
    (s) => Effect.sync(s.close)
  )

const get = (port: number, host: string, path = "/") =>
  Effect.callback<{ status: number; body: string; cookie: string }>((resume) => {
    const req = request({ host: "127.0.0.1", port, path, agent: false, headers: { host, connection: "close" } }, (res) => {
      let body = ""
      res.on("data", (c: Buffer) => (body += c.toString()))
      res.on("end", () => resume(Effect.succeed({ status: res.statusCode ?? 0, body, cookie: String(res.headers["set-cookie"] ?? "") })))
    })
    req.on("error", (e) => resume(Effect.die(e)))
    req.end()
  })

describe(`runtime backends on HAProxy ${version}`, () => {
  it.live(runtime ? "adds host, path and sticky services and removes them, with no reload" : "answers false for new services (the reload path)", () =>
    Effect.gen(function*() {
      const tracked: Array<number> = []
      yield* Effect.addFinalizer(() => killPids(tracked))
      const dir = yield* tempDir
      const old = yield* echo("old")
      const fresh = yield* echo("fresh")
      const port = yield* Effect.promise(() => freePort())
      const config = settings({ configDir: dir, listenPort: port, nbthread: 1, stats: undefined, metrics: undefined })
      // Every profile the new services use is loaded: one existing service of each.
      const before = desired([
        hostBackend("web.example.test", [server("w-1", old.port)]),
        hostBackend("shop.example.test", [server("s-1", old.port)], STICKY),
        pathBackend("docs", [server("d-1", old.port)])
      ])
      const cfg = writeRendered(dir, render(before, config))
      const hx = yield* makeHaproxyProcess({ bin: haproxyBin, cfgPath: cfg, masterSocket: join(dir, "master.sock") })
      const proc = yield* hx.showProc
      tracked.push(hx.pid, ...proc.workers.map((w) => w.pid))

      const transport = makeRuntimeTransport(join(dir, "admin.sock"))
      const backends = makeRuntimeBackendApi(transport)
      const update = makeRuntimeUpdater({ runtime: makeRuntimeApi(join(dir, "admin.sock"), undefined, transport), backends, drainTimeout: "1 second" })
      const after = desired([
        ...before.backends,
        hostBackend("new.example.test", [server("n-1", fresh.port)]),
        hostBackend("cart.example.test", [server("c-1", fresh.port)], STICKY),
        pathBackend("blog", [server("b-1", fresh.port)])
      ])
      const loaded = { runtimeBackends: runtime, profiles: profilesOf(before) }
      const applied = yield* update(before, after, diffDesired(before, after), loaded)
      if (!runtime) {
        assert.strictEqual(applied, false)
        assert.strictEqual((yield* get(port, "new.example.test")).status, 404)
        return
      }
      assert.strictEqual(applied, true)

      assert.strictEqual((yield* get(port, "new.example.test", "/x")).body, "fresh /x")
      // The path-mode profile strips /blog, as the file's backend does.
      assert.strictEqual((yield* get(port, "example.test", "/blog/a?q=1")).body, "fresh /a?q=1")
      const cart = yield* get(port, "cart.example.test")
      assert.strictEqual(cart.body, "fresh /")
      assert.include(cart.cookie, `SRV=${serverCookie("c-1")}`)
      assert.strictEqual((yield* get(port, "web.example.test")).body, "old /")
      assert.strictEqual((yield* get(port, "other.example.test")).status, 404)

      const removed = yield* update(after, before, diffDesired(after, before), loaded)
      assert.strictEqual(removed, true)
      for (const host of ["new.example.test", "cart.example.test"]) assert.strictEqual((yield* get(port, host)).status, 404)
      assert.strictEqual((yield* get(port, "example.test", "/blog/a")).status, 404)
      assert.strictEqual((yield* get(port, "example.test", "/docs/a")).body, "old /a")
      const left = yield* backends.showBackends
      for (const b of before.backends) assert.include(left, b.name)
      for (const b of ["be_new.example.test", "be_cart.example.test", "be_example.test_blog"]) assert.notInclude(left, b)

      const now = yield* hx.showProc
      assert.deepStrictEqual(now.workers.map((w) => w.pid), proc.workers.map((w) => w.pid))
      assert.strictEqual(now.master.reloads, proc.master.reloads)
    }).pipe(Effect.provide(NodeServices.layer)), 60_000)
})
