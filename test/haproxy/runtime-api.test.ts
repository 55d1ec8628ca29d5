/**
 * RuntimeApi against a real HAProxy (2.6 here): every change is verified by HTTP answers that name the
 * backend server (`a` or `b`), with no reload in between (the worker PID must not change).
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { connect, createServer, type Server } from "node:net"
import { join } from "node:path"
import { makeHaproxyProcess } from "../../src/haproxy/process.ts"
import { makeRuntimeApi } from "../../src/haproxy/runtime-api.ts"
import {
  haproxyBin,
  httpBodies,
  httpGet,
  killPids,
  namedBackend,
  renderConfig,
  tempDir,
  timing,
  writeFile
} from "../support/haproxy-fixtures.ts"
import { freePort } from "../support/ports.ts"

/** One HAProxy with: fe_direct → be_app (s1→a, s2→b), fe_dyn → be_dyn (s1→a). */
const setup = Effect.gen(function*() {
  const tracked: Array<number> = []
  yield* Effect.addFinalizer(() => killPids(tracked))
  const dir = yield* tempDir
  const a = yield* namedBackend("a")
  const b = yield* namedBackend("b")
  const [direct, dyn] = yield* Effect.promise(() => Promise.all([freePort(), freePort()]))
  const adminSocket = join(dir, "admin.sock")
  const userSocket = join(dir, "user.sock")
  const cfg = join(dir, "haproxy.cfg")
  yield* writeFile(
    cfg,
    renderConfig({
      adminSocket,
      globalLines: [`stats socket ${userSocket} mode 600 level user`],
      frontends: [
        { name: "fe_direct", port: direct!, backend: "be_app" },
        { name: "fe_dyn", port: dyn!, backend: "be_dyn" }
      ],
      backends: [
        {
          name: "be_app",
          servers: [
            { name: "s1", addr: "127.0.0.1", port: a.port },
            { name: "s2", addr: "127.0.0.1", port: b.port, extra: "disabled" }
          ]
        },
        { name: "be_dyn", servers: [{ name: "s1", addr: "127.0.0.1", port: a.port }] }
      ]
    })
  )
  const hx = yield* makeHaproxyProcess({ bin: haproxyBin, cfgPath: cfg, masterSocket: join(dir, "master.sock") })
  const proc = yield* hx.showProc
  tracked.push(hx.pid, ...proc.workers.map((w) => w.pid))
  const workerPid = proc.workers[0]!.pid
  /** Asserts that nothing was reloaded: the same single worker is still current. */
  const assertNoReload = Effect.gen(function*() {
    const now = yield* hx.showProc
    assert.deepStrictEqual(now.workers.map((w) => w.pid), [workerPid])
    assert.strictEqual(now.master.reloads, proc.master.reloads)
  })
  return {
    api: makeRuntimeApi(adminSocket),
    userApi: makeRuntimeApi(userSocket),
    a,
    b,
    ports: { direct: direct!, dyn: dyn! },
    assertNoReload,
    hx
  }
})

const sorted = (xs: ReadonlyArray<string>) => [...xs].sort()

describe("RuntimeApi (real haproxy admin socket)", () => {
  it.live("set server addr/port/state moves traffic without a reload", () =>
    Effect.gen(function*() {
      const s = yield* setup
      const state = yield* s.api.showServersState("be_app")
      assert.deepStrictEqual(
        state.map((r) => [r.serverName, r.address, r.port, r.adminState, r.operationalState]),
        [["s1", "127.0.0.1", s.a.port, "ready", "running"], ["s2", "127.0.0.1", s.b.port, "maint", "stopped"]]
      )
      assert.deepStrictEqual(yield* httpBodies(s.ports.direct, 3), ["200 a", "200 a", "200 a"])

      // Re-point s1 from backend server a to b by address/port.
      const answer = yield* s.api.setServerAddr("be_app", "s1", "127.0.0.1", s.b.port)
      assert.match(answer, /port changed from/)
      assert.deepStrictEqual(yield* httpBodies(s.ports.direct, 3), ["200 b", "200 b", "200 b"])
      const moved = yield* s.api.showServersState("be_app")
      assert.strictEqual(moved[0]!.port, s.b.port)

      // Back to a, then bring s2 (b) in: round robin over both.
      yield* s.api.setServerAddr("be_app", "s1", "127.0.0.1", s.a.port)
      yield* s.api.setServerState("be_app", "s2", "ready")
      assert.deepStrictEqual(sorted(yield* httpBodies(s.ports.direct, 4)), ["200 a", "200 a", "200 b", "200 b"])

      // Drain s1: no new traffic to it; maint: same, and the state is reported.
      yield* s.api.setServerState("be_app", "s1", "drain")
      assert.deepStrictEqual(yield* httpBodies(s.ports.direct, 3), ["200 b", "200 b", "200 b"])
      assert.strictEqual((yield* s.api.showServersState("be_app"))[0]!.adminState, "drain")
      yield* s.api.setServerState("be_app", "s1", "maint")
      assert.strictEqual((yield* s.api.showServersState("be_app"))[0]!.adminState, "maint")
      yield* s.api.setServerState("be_app", "s2", "maint")
      assert.deepStrictEqual(yield* httpBodies(s.ports.direct, 1), ["503 <html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n</body></html>"])
      yield* s.api.setServerState("be_app", "s1", "ready")
      assert.deepStrictEqual(yield* httpBodies(s.ports.direct, 2), ["200 a", "200 a"])
      yield* s.assertNoReload
    }).pipe(Effect.provide(NodeServices.layer)))

  it.live("add server + enable health + ready adds one; drain, wait idle, maint, del removes it", () =>
    Effect.gen(function*() {
      const s = yield* setup
      assert.deepStrictEqual(yield* httpBodies(s.ports.dyn, 2), ["200 a", "200 a"])
      yield* s.api.addServer("be_dyn", "s2", "127.0.0.1", s.b.port, { check: true, interMs: 200, rise: 1 })
      const added = (yield* s.api.showServersState("be_dyn")).find((r) => r.serverName === "s2")
      assert.strictEqual(added?.adminState, "maint") // dynamic servers start in maint
      yield* s.api.enableHealth("be_dyn", "s2")
      yield* s.api.setServerState("be_dyn", "s2", "ready")
      // Wait for the first health check to pass (rise 1, inter 200 ms).
      yield* Effect.sleep("600 millis")
      const stat = (yield* s.api.showStat("be_dyn")).find((r) => r.service === "s2")
      assert.match(stat?.status ?? "", /^UP/)
      assert.deepStrictEqual(sorted(yield* httpBodies(s.ports.dyn, 4)), ["200 a", "200 a", "200 b", "200 b"])

      // A slow request on s2 keeps it busy while it drains.
      yield* s.api.setServerState("be_dyn", "s1", "maint") // so the slow request surely lands on s2
      const slow = yield* Effect.forkChild(httpGet(s.ports.dyn, "/?ms=800"))
      yield* Effect.sleep("150 millis")
      yield* s.api.setServerState("be_dyn", "s1", "ready")
      yield* s.api.setServerState("be_dyn", "s2", "drain")
      assert.strictEqual((yield* s.api.backendSessions("be_dyn")).get("s2"), 1)
      // Deleting now is refused with HAProxy's reason, as a typed error.
      const early = yield* Effect.flip(s.api.delServer("be_dyn", "s2"))
      assert.strictEqual(early._tag, "RuntimeCommandFailed")
      if (early._tag === "RuntimeCommandFailed") {
        assert.strictEqual(early.command, "del server be_dyn/s2")
        assert.match(early.answer, /maintenance mode/)
      }
      const drainStarted = Date.now()
      assert.deepStrictEqual(yield* s.api.waitServersIdle("be_dyn", ["s2"], { timeout: "5 seconds", interval: "50 millis" }), [])
      yield* timing("drain wait for an 800 ms request", Date.now() - drainStarted)
      const reply = yield* Fiber.join(slow)
      assert.deepStrictEqual(reply, { status: 200, body: "b\n" })
      yield* s.api.setServerState("be_dyn", "s2", "maint")
      yield* s.api.delServer("be_dyn", "s2")
      assert.deepStrictEqual((yield* s.api.showServersState("be_dyn")).map((r) => r.serverName), ["s1"])
      assert.deepStrictEqual(yield* httpBodies(s.ports.dyn, 3), ["200 a", "200 a", "200 a"])
      yield* s.assertNoReload
    }).pipe(Effect.provide(NodeServices.layer)))

  it.live("HAProxy's refusals become RuntimeCommandFailed with command and answer", () =>
    Effect.gen(function*() {
      const s = yield* setup
      const noServer = yield* Effect.flip(s.api.setServerState("be_app", "nope", "maint"))
      assert.strictEqual(noServer._tag, "RuntimeCommandFailed")
      if (noServer._tag === "RuntimeCommandFailed") {
        assert.strictEqual(noServer.command, "set server be_app/nope state maint")
        assert.strictEqual(noServer.answer.trim(), "No such server.")
        assert.include(noServer.message, "reload")
      }
      const noBackend = yield* Effect.flip(s.api.showServersState("be_nope"))
      assert.strictEqual(noBackend._tag, "RuntimeCommandFailed")
      const wrongLevel = yield* Effect.flip(s.userApi.setServerState("be_app", "s1", "maint"))
      assert.strictEqual(wrongLevel._tag, "RuntimeCommandFailed")
      if (wrongLevel._tag === "RuntimeCommandFailed") {
        console.log(`[answer] level user → ${JSON.stringify(wrongLevel.answer)}`)
        assert.include(wrongLevel.message, "level admin")
      }
      // Still serving, nothing changed.
      assert.deepStrictEqual(yield* httpBodies(s.ports.direct, 1), ["200 a"])
    }).pipe(Effect.provide(NodeServices.layer)))
})

/**
 * A unix socket in front of HAProxy's admin socket that forwards each connection and records how
 * many were open at once: what HAProxy's CLI (10 slots by default) would see from the client.
 */
const countingProxy = (target: string) =>
  Effect.gen(function*() {
    const dir = yield* tempDir
    const path = join(dir, "proxy.sock")
    let open = 0
    let peak = 0
    let total = 0
    yield* Effect.acquireRelease(
      Effect.callback<Server>((resume) => {
        // allowHalfOpen: the client half-closes after its request and still waits for the answer.
        const server = createServer({ allowHalfOpen: true }, (client) => {
          open++
          total++
          peak = Math.max(peak, open)
          const upstream = connect({ path: target })
          client.pipe(upstream)
          upstream.pipe(client)
          upstream.on("error", () => client.destroy())
          client.on("error", () => upstream.destroy())
          client.on("close", () => {
            open--
            upstream.destroy()
          })
        })
        server.listen({ path, backlog: 1024 }, () => resume(Effect.succeed(server)))
      }),
      (server) => Effect.callback<void>((resume) => {
        server.close(() => resume(Effect.void))
      })
    )
    return { path, peak: () => peak, total: () => total }
  })

describe("RuntimeApi bounds its connections (bulk changes)", () => {
  it.live("a burst of 500 commands at once all succeed (HAProxy's CLI refuses most parallel connections)", () =>
    Effect.gen(function*() {
      const s = yield* setup
      const started = Date.now()
      yield* Effect.forEach(
        Array.from({ length: 500 }, (_, i) => i),
        (i) => s.api.setServerState("be_app", "s2", i % 2 === 0 ? "drain" : "maint"),
        { concurrency: "unbounded", discard: true }
      )
      yield* timing("500 parallel set server state through one RuntimeApi", Date.now() - started)
      assert.strictEqual((yield* s.api.showServersState("be_app"))[1]!.adminState, "maint")
      yield* s.assertNoReload
    }).pipe(Effect.provide(NodeServices.layer)))

  it.live("no more than maxInFlight connections are open at once (default 4)", () =>
    Effect.gen(function*() {
      const s = yield* setup
      const proxy = yield* countingProxy(s.api.socketPath)
      const burst = (api: ReturnType<typeof makeRuntimeApi>) =>
        Effect.forEach(
          Array.from({ length: 200 }, (_, i) => i),
          (i) => i % 10 === 0 ? Effect.asVoid(api.showServersState("be_app")) : api.setServerState("be_app", "s2", "maint"),
          { concurrency: "unbounded", discard: true }
        )
      yield* burst(makeRuntimeApi(proxy.path))
      assert.strictEqual(proxy.total(), 200)
      assert.isAtMost(proxy.peak(), 4)
      assert.isAtLeast(proxy.peak(), 2) // it does run commands in parallel

      const narrow = yield* countingProxy(s.api.socketPath)
      yield* burst(makeRuntimeApi(narrow.path, { maxInFlight: 1 }))
      assert.strictEqual(narrow.peak(), 1)
    }).pipe(Effect.provide(NodeServices.layer)))

  it.live("waitServersIdle polls the backend once per interval and names the servers still busy", () =>
    Effect.gen(function*() {
      const s = yield* setup
      yield* s.api.setServerState("be_dyn", "s1", "ready")
      const slow = yield* Effect.forkChild(httpGet(s.ports.dyn, "/?ms=700"))
      yield* Effect.sleep("150 millis")
      assert.deepStrictEqual(yield* s.api.backendSessions("be_dyn"), new Map([["s1", 1]]))
      yield* s.api.setServerState("be_dyn", "s1", "drain")
      const early = yield* s.api.waitServersIdle("be_dyn", ["s1"], { timeout: "100 millis", interval: "20 millis" })
      assert.deepStrictEqual(early, [{ server: "s1", sessions: 1 }])
      const started = Date.now()
      assert.deepStrictEqual(yield* s.api.waitServersIdle("be_dyn", ["s1"], { timeout: "5 seconds", interval: "50 millis" }), [])
      assert.isBelow(Date.now() - started, 1_500)
      assert.strictEqual((yield* Fiber.join(slow)).status, 200)
      const missing = yield* Effect.flip(s.api.waitServersIdle("be_dyn", ["s1", "nope"]))
      assert.strictEqual(missing._tag, "RuntimeCommandFailed")
      if (missing._tag === "RuntimeCommandFailed") assert.include(missing.answer, "be_dyn/nope")
    }).pipe(Effect.provide(NodeServices.layer)))

  it.live("connect failures are retried with backoff: a socket that appears late is used, a missing one fails in time", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = join(dir, "late.sock")
      // The socket file appears 300 ms after the first attempt (as during a worker's reload).
      const late = yield* Effect.forkChild(Effect.gen(function*() {
        yield* Effect.sleep("300 millis")
        return yield* Effect.acquireRelease(
          Effect.callback<Server>((resume) => {
            const server = createServer((socket) => {
              socket.resume()
              socket.on("end", () => socket.end("\n"))
            })
            server.listen(path, () => resume(Effect.succeed(server)))
          }),
          (server) => Effect.callback<void>((resume) => {
            server.close(() => resume(Effect.void))
          })
        )
      }))
      yield* makeRuntimeApi(path).setServerState("be_app", "s1", "ready")
      yield* Fiber.join(late)

      const started = Date.now()
      const gone = yield* Effect.flip(makeRuntimeApi(join(dir, "missing.sock")).setServerState("be_app", "s1", "ready"))
      const tookMs = Date.now() - started
      assert.strictEqual(gone._tag, "SocketUnavailable")
      if (gone._tag === "SocketUnavailable") assert.deepStrictEqual([gone.phase, gone.code], ["connect", "ENOENT"])
      // 5 retries from 50 ms doubling, jittered: about 1.5 s, and bounded.
      assert.isAtLeast(tookMs, 700)
      assert.isBelow(tookMs, 4_000)
      const none = yield* Effect.flip(makeRuntimeApi(join(dir, "missing.sock"), { connectRetries: 0 }).setServerState("be_app", "s1", "ready"))
      assert.strictEqual(none._tag, "SocketUnavailable")
    }))
})

describe("RuntimeApi argument checks", () => {
  /** A unix socket that only counts connections: proves a rejected command never reached the wire. */
  const countingSocket = Effect.gen(function*() {
    const dir = yield* tempDir
    const path = join(dir, "count.sock")
    let connections = 0
    yield* Effect.acquireRelease(
      Effect.callback<Server>((resume) => {
        const server = createServer((socket) => {
          connections++
          socket.resume() // read (and drop) the request so the peer's FIN is seen and the socket closes
          socket.end()
        })
        server.listen(path, () => resume(Effect.succeed(server)))
      }),
      (server) => Effect.callback<void>((resume) => {
        server.close(() => resume(Effect.void))
      })
    )
    return { path, connections: () => connections }
  })

  it.live("rejects ';', newlines, spaces and non-literals before anything is sent", () =>
    Effect.gen(function*() {
      const sock = yield* countingSocket
      const api = makeRuntimeApi(sock.path)
      const attempts = [
        api.setServerState("be_app", "s1;set server be_app/s2 state maint", "ready"),
        api.setServerState("be_app\nshow info", "s1", "ready"),
        api.setServerState("be_app", "s1", "ready;" as "ready"),
        api.setServerAddr("be_app", "s1", "127.0.0.1 port 1", 80),
        api.setServerAddr("be_app", "s1", "example.com", 80),
        api.setServerAddr("be_app", "s1", "127.0.0.1", 80.5),
        api.setServerAddr("be_app", "s1", "127.0.0.1", 70000),
        api.addServer("be_dyn", "s2", "127.0.0.1", 80, { interMs: 1e12 }),
        api.addServer("be_dyn", "s2 weight 0", "127.0.0.1", 80),
        api.enableHealth("be_dyn\nshow info", "s2"),
        api.delServer("be_dyn", "s2;del server be_dyn/s1"),
        api.waitServersIdle("be_dyn", ["s1", "../s2"]),
        api.showServersState("be app")
      ]
      for (const attempt of attempts) {
        const e = yield* Effect.flip(attempt)
        assert.strictEqual(e._tag, "InvalidRuntimeArgument", String(e))
      }
      assert.strictEqual(sock.connections(), 0)
      // A valid command does reach the socket (the counter works).
      yield* Effect.ignore(api.setServerState("be_app", "s1", "ready"))
      assert.strictEqual(sock.connections(), 1)
    }))
})
