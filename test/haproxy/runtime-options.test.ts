/**
 * Per-service options through the runtime API of a real HAProxy ($HAPROXY_BIN: CI runs this on
 * 2.6 and 3.x): `add server` with weight, maxconn, backup and proto h2 is accepted and takes
 * effect; `set server weight` changes srv_uweight and the traffic split; the runtime updater
 * applies a reweight (and an addition with the backend's options) without a reload and verifies it.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { join } from "node:path"
import { diffDesired, needsReload } from "../../src/apply/diff.ts"
import { makeRuntimeUpdater } from "../../src/apply/runtime-update.ts"
import { makeHaproxyProcess } from "../../src/haproxy/process.ts"
import { makeRuntimeApi } from "../../src/haproxy/runtime-api.ts"
import type { Backend, Desired, Server, ZoneRouting } from "../../src/model/desired.ts"
import { DEFAULT_OPTIONS, type ServiceOptions } from "../../src/model/service-options.ts"
import { haproxyBin, httpBodies, killPids, namedBackend, renderConfig, tempDir, writeFile } from "../support/haproxy-fixtures.ts"
import { freePort } from "../support/ports.ts"

/** be_w (s1 → a) behind fe_w, be_bk (s1 → a) behind fe_bk, be_h2 (no servers), be_src (balance source as rendered, s1 → a). */
const setup = Effect.gen(function*() {
  const tracked: Array<number> = []
  yield* Effect.addFinalizer(() => killPids(tracked))
  const dir = yield* tempDir
  const a = yield* namedBackend("a")
  const b = yield* namedBackend("b")
  const [w, bk] = yield* Effect.promise(() => Promise.all([freePort(), freePort()]))
  const adminSocket = join(dir, "admin.sock")
  const cfg = join(dir, "haproxy.cfg")
  yield* writeFile(cfg, renderConfig({
    adminSocket,
    frontends: [{ name: "fe_w", port: w!, backend: "be_w" }, { name: "fe_bk", port: bk!, backend: "be_bk" }],
    backends: [
      { name: "be_w", servers: [{ name: "s1", addr: "127.0.0.1", port: a.port, extra: "check" }] },
      { name: "be_bk", lines: ["option allbackups"], servers: [{ name: "s1", addr: "127.0.0.1", port: a.port, extra: "check" }] },
      { name: "be_h2", lines: ["option httpchk", "http-check send meth GET uri /"] },
      { name: "be_src", balance: "source", lines: ["hash-type consistent"], servers: [{ name: "s1", addr: "127.0.0.1", port: a.port, extra: "check" }] }
    ]
  }))
  const hx = yield* makeHaproxyProcess({ bin: haproxyBin, cfgPath: cfg, masterSocket: join(dir, "master.sock") })
  const proc = yield* hx.showProc
  tracked.push(hx.pid, ...proc.workers.map((x) => x.pid))
  const assertNoReload = Effect.gen(function*() {
    const now = yield* hx.showProc
    assert.deepStrictEqual(now.workers.map((x) => x.pid), proc.workers.map((x) => x.pid))
    assert.strictEqual(now.master.reloads, proc.master.reloads)
  })
  return { api: makeRuntimeApi(adminSocket), a, b, ports: { w: w!, bk: bk! }, assertNoReload }
})

const count = (replies: ReadonlyArray<string>) => {
  const out: Record<string, number> = {}
  for (const r of replies) out[r] = (out[r] ?? 0) + 1
  return out
}

/** `show stat` columns of one server. */
const statOf = (api: ReturnType<typeof makeRuntimeApi>, backend: string, server: string) =>
  Effect.map(api.showStat(backend), (rows) => rows.find((r) => r.service === server)?.columns ?? {})

const upServer = (api: ReturnType<typeof makeRuntimeApi>, backend: string, server: string) =>
  Effect.gen(function*() {
    yield* api.enableHealth(backend, server)
    yield* api.setServerState(backend, server, "ready")
    for (let i = 0; i < 50; i++) {
      if (/^UP/.test((yield* api.showStat(backend)).find((r) => r.service === server)?.status ?? "")) return
      yield* Effect.sleep("100 millis")
    }
    assert.fail(`${backend}/${server} did not come up`)
  })

describe("runtime API with per-service options (real haproxy)", () => {
  it.live("add server with weight and maxconn: accepted, reported, and the traffic follows the weights", () =>
    Effect.gen(function*() {
      const s = yield* setup
      yield* s.api.addServer("be_w", "s2", "127.0.0.1", s.b.port, { check: true, interMs: 200, rise: 1, fall: 3, weight: 3, maxconn: 5 })
      yield* upServer(s.api, "be_w", "s2")
      const state = (yield* s.api.showServersState("be_w")).find((r) => r.serverName === "s2")!
      assert.deepStrictEqual([state.userWeight, state.adminState], [3, "ready"])
      const stat = yield* statOf(s.api, "be_w", "s2")
      assert.deepStrictEqual([stat["weight"], stat["slim"], stat["bck"]], ["3", "5", "0"])
      // Smooth weighted round robin: 1:3 over every 4 requests.
      assert.deepStrictEqual(count(yield* httpBodies(s.ports.w, 8)), { "200 a": 2, "200 b": 6 })

      // set server weight: srv_uweight changes, and weight 0 takes the server out of rotation.
      yield* s.api.setServerWeight("be_w", "s2", 0)
      assert.strictEqual((yield* s.api.showServersState("be_w")).find((r) => r.serverName === "s2")!.userWeight, 0)
      assert.deepStrictEqual(count(yield* httpBodies(s.ports.w, 4)), { "200 a": 4 })
      yield* s.api.setServerWeight("be_w", "s1", 256)
      yield* s.api.setServerWeight("be_w", "s2", 256)
      const weights = (yield* s.api.showServersState("be_w")).map((r) => [r.serverName, r.userWeight])
      assert.deepStrictEqual(weights, [["s1", 256], ["s2", 256]])
      assert.deepStrictEqual(count(yield* httpBodies(s.ports.w, 4)), { "200 a": 2, "200 b": 2 })
      yield* s.assertNoReload
    }).pipe(Effect.provide(NodeServices.layer)), 60_000)

  it.live("add server backup: used only when no active server is up", () =>
    Effect.gen(function*() {
      const s = yield* setup
      yield* s.api.addServer("be_bk", "s2", "127.0.0.1", s.b.port, { check: true, interMs: 200, rise: 1, fall: 3, backup: true, weight: 2 })
      yield* upServer(s.api, "be_bk", "s2")
      assert.strictEqual((yield* statOf(s.api, "be_bk", "s2"))["bck"], "1")
      assert.deepStrictEqual(count(yield* httpBodies(s.ports.bk, 4)), { "200 a": 4 })
      // The active server's weight to 0 (zone failover): the backup serves.
      yield* s.api.setServerWeight("be_bk", "s1", 0)
      assert.deepStrictEqual(count(yield* httpBodies(s.ports.bk, 4)), { "200 b": 4 })
      yield* s.api.setServerWeight("be_bk", "s1", 1)
      assert.deepStrictEqual(count(yield* httpBodies(s.ports.bk, 4)), { "200 a": 4 })
      yield* s.api.setServerState("be_bk", "s1", "maint")
      assert.deepStrictEqual(count(yield* httpBodies(s.ports.bk, 4)), { "200 b": 4 })
      yield* s.assertNoReload
    }).pipe(Effect.provide(NodeServices.layer)), 60_000)

  it.live("add server with proto h2 (and check-proto h2 for an HTTP check) is accepted", () =>
    Effect.gen(function*() {
      const s = yield* setup
      yield* s.api.addServer("be_h2", "h2a", "127.0.0.1", s.a.port, { check: true, interMs: 2000, rise: 2, fall: 3, protoH2: true, checkProtoH2: true, maxconn: 100 })
      yield* s.api.addServer("be_h2", "h2b", "::1", s.b.port, { check: true, protoH2: true, weight: 0, backup: true })
      assert.deepStrictEqual((yield* s.api.showServersState("be_h2")).map((r) => [r.serverName, r.userWeight]), [["h2a", 1], ["h2b", 0]])
      yield* s.assertNoReload
    }).pipe(Effect.provide(NodeServices.layer)), 60_000)

  it.live("values outside HAProxy's ranges are refused before anything is sent", () =>
    Effect.gen(function*() {
      const s = yield* setup
      for (const bad of [
        s.api.setServerWeight("be_w", "s1", 257),
        s.api.setServerWeight("be_w", "s1", -1),
        s.api.setServerWeight("be_w", "s1", 1.5),
        s.api.addServer("be_w", "s9", "127.0.0.1", s.b.port, { weight: 300 }),
        s.api.addServer("be_w", "s9", "127.0.0.1", s.b.port, { maxconn: 0 })
      ]) {
        const e = yield* Effect.flip(bad)
        assert.notStrictEqual(e._tag, "RuntimeCommandFailed")
      }
      assert.deepStrictEqual((yield* s.api.showServersState("be_w")).map((r) => [r.serverName, r.userWeight]), [["s1", 1]])
    }).pipe(Effect.provide(NodeServices.layer)), 60_000)
})

const server = (name: string, port: number, over: Partial<Server> = {}): Server =>
  ({ name, instanceId: name, address: "127.0.0.1", port, health: undefined, weight: 1, backup: false, zone: undefined, ...over })
const backend = (name: string, servers: ReadonlyArray<Server>, options: Partial<ServiceOptions> = {}, zone?: ZoneRouting): Backend => ({
  name, namespace: "apps", service: name, serviceId: name, mode: "host", route: `${name}.example.test`, servers,
  options: { ...DEFAULT_OPTIONS, ...options }, zone
})
const desired = (...backends: ReadonlyArray<Backend>): Desired => ({
  backends,
  hostRoutes: backends.map((x) => ({ host: x.route, backend: x.name })),
  pathRoutes: [],
  quarantined: [],
  ignoredOptions: []
})
const ZONE: ZoneRouting = { zone: "us-east-1a", local: 1, localHealthy: 1, inZone: true }

describe("runtime updater with weights and options (real haproxy)", () => {
  it.live("applies a reweight and an addition with the backend's options, verifies them, no reload", () =>
    Effect.gen(function*() {
      const s = yield* setup
      const opts: Partial<ServiceOptions> = { maxconn: 7, check: { _tag: "Tcp", intervalMs: 200 } }
      const before = desired(
        backend("be_w", [server("s1", s.a.port)], opts),
        backend("be_bk", [server("s1", s.a.port)], {}, ZONE)
      )
      const after = desired(
        backend("be_w", [server("s1", s.a.port, { weight: 3 }), server("s2", s.b.port, { weight: 2 })], opts),
        backend("be_bk", [server("s1", s.a.port, { weight: 0 }), server("s2", s.b.port, { backup: true, weight: 4 })], {}, ZONE)
      )
      const diff = diffDesired(before, after)
      assert.isFalse(needsReload(diff))
      assert.deepStrictEqual(diff.changedBackends.map((c) => [c.backend, c.added.length, c.reweighted.length]), [["be_w", 1, 1], ["be_bk", 1, 1]])
      const update = makeRuntimeUpdater({ runtime: s.api, drainTimeout: "1 second" })
      assert.isTrue(yield* update(before, after, diff))

      const w = yield* s.api.showServersState("be_w")
      assert.deepStrictEqual(w.map((r) => [r.serverName, r.userWeight, r.adminState]), [["s1", 3, "ready"], ["s2", 2, "ready"]])
      assert.strictEqual((yield* statOf(s.api, "be_w", "s2"))["slim"], "7")
      const bk = yield* s.api.showServersState("be_bk")
      assert.deepStrictEqual(bk.map((r) => [r.serverName, r.userWeight]), [["s1", 0], ["s2", 4]])
      assert.strictEqual((yield* statOf(s.api, "be_bk", "s2"))["bck"], "1")
      // be_bk's only active server has weight 0 (zone failover): its backup serves once it is up.
      for (let i = 0; i < 50 && !/^UP/.test((yield* statOf(s.api, "be_bk", "s2"))["status"] ?? ""); i++) yield* Effect.sleep("100 millis")
      assert.deepStrictEqual(count(yield* httpBodies(s.ports.bk, 3)), { "200 b": 3 })

      // A weight-only change back: reweighted only, verified.
      const back = desired(backend("be_w", [server("s1", s.a.port), server("s2", s.b.port, { weight: 2 })], opts), after.backends[1]!)
      const d2 = diffDesired(after, back)
      assert.deepStrictEqual(d2.changedBackends.map((c) => [c.added.length, c.removed.length, c.moved.length, c.reweighted.length]), [[0, 0, 0, 1]])
      assert.isTrue(yield* update(after, back, d2))
      assert.deepStrictEqual((yield* s.api.showServersState("be_w")).map((r) => [r.serverName, r.userWeight]), [["s1", 1], ["s2", 2]])
      yield* s.assertNoReload
    }).pipe(Effect.provide(NodeServices.layer)), 60_000)

  it.live("balance source, rendered with hash-type consistent: servers are added and reweighted at runtime, without a reload", () =>
    Effect.gen(function*() {
      const s = yield* setup
      const update = makeRuntimeUpdater({ runtime: s.api })
      const before = desired(backend("be_src", [server("s1", s.a.port)], { balance: "source" }))
      const after = desired(backend("be_src", [server("s1", s.a.port, { weight: 2 }), server("s2", s.b.port, { weight: 3 })], { balance: "source" }))
      const diff = diffDesired(before, after)
      assert.deepStrictEqual(diff.reloadBackends, [])
      assert.isTrue(yield* update(before, after, diff))
      const state = yield* s.api.showServersState("be_src")
      assert.deepStrictEqual(state.map((r) => [r.serverName, r.userWeight]).sort(), [["s1", 2], ["s2", 3]])
      yield* s.assertNoReload
    }).pipe(Effect.provide(NodeServices.layer)), 60_000)

  it.live("a weight HAProxy does not hold is reported as a mismatch", () =>
    Effect.gen(function*() {
      const s = yield* setup
      const before = desired(backend("be_w", [server("s1", s.a.port)]))
      const after = desired(backend("be_w", [server("s1", s.a.port, { weight: 9 })]))
      // A runtime API that accepts the weight command but changes nothing.
      const update = makeRuntimeUpdater({ runtime: { ...s.api, setServerWeight: () => Effect.void } })
      const error = yield* Effect.flip(update(before, after, diffDesired(before, after)))
      assert.strictEqual(error._tag, "RuntimeStateMismatch")
      assert.include(error.message, "s1 has weight 1, expected 9")
    }).pipe(Effect.provide(NodeServices.layer)), 60_000)
})
