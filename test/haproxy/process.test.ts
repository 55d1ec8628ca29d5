/**
 * HaproxyProcess + master CLI against the real HAProxy (2.6 here). Every process is on 127.0.0.1,
 * and a safety-net finalizer SIGKILLs any tracked PID (master, workers) that survived the test.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { createServer } from "node:net"
import { join } from "node:path"
import { type LogLine, makeHaproxyProcess } from "../../src/haproxy/process.ts"
import { showProc } from "../../src/haproxy/master-cli.ts"
import { validateConfig } from "../../src/haproxy/validate.ts"
import {
  haproxyBin,
  httpBodies,
  httpGet,
  isAlive,
  killPids,
  namedBackend,
  procStat,
  renderConfig,
  tempDir,
  timing,
  waitGone,
  writeFile
} from "../support/haproxy-fixtures.ts"
import { freePort } from "../support/ports.ts"

/** Temp dir, two named backends, a frontend port, a config routing to backend `a`, and a PID safety net. */
const setup = Effect.gen(function*() {
  const tracked: Array<number> = []
  // Added first, so it runs last: after the HaproxyProcess scope finalizer.
  yield* Effect.addFinalizer(() => killPids(tracked))
  const dir = yield* tempDir
  const a = yield* namedBackend("a")
  const b = yield* namedBackend("b")
  const port = yield* Effect.promise(freePort)
  const cfg = join(dir, "haproxy.cfg")
  const masterSocket = join(dir, "master.sock")
  const config = (target: "a" | "b", extraFrontends: ReadonlyArray<{ name: string; port: number }> = []) =>
    renderConfig({
      frontends: [{ name: "fe", port, backend: `be_${target}` }, ...extraFrontends.map((f) => ({ ...f, backend: "be_a" }))],
      backends: [
        { name: "be_a", servers: [{ name: "s1", addr: "127.0.0.1", port: a.port }] },
        { name: "be_b", servers: [{ name: "s1", addr: "127.0.0.1", port: b.port }] }
      ]
    })
  yield* writeFile(cfg, config("a"))
  const track = (...pids: ReadonlyArray<number>) => Effect.sync(() => void tracked.push(...pids))
  return { dir, cfg, masterSocket, port, config, track, tracked }
})

describe("HaproxyProcess (real haproxy)", () => {
  it.live("starts, serves HTTP, parses show proc, forwards logs", () =>
    Effect.gen(function*() {
      const s = yield* setup
      const logs: Array<LogLine> = []
      const started = Date.now()
      const hx = yield* makeHaproxyProcess({
        bin: haproxyBin,
        cfgPath: s.cfg,
        masterSocket: s.masterSocket,
        onLog: (l) => Effect.sync(() => void logs.push(l))
      })
      yield* timing("start → master CLI shows a worker", Date.now() - started)
      yield* s.track(hx.pid)
      const proc = yield* hx.showProc
      yield* s.track(...proc.workers.map((w) => w.pid))
      assert.strictEqual(proc.master.pid, hx.pid)
      assert.strictEqual(proc.master.failed, 0)
      assert.strictEqual(proc.workers.length, 1)
      assert.deepStrictEqual(proc.oldWorkers, [])
      assert.match(proc.master.version, /^\d+\.\d+/)
      // Workers are in the master's process group, which is its own (detached) group.
      assert.strictEqual(procStat(proc.workers[0]!.pid)?.pgrp, hx.pid)
      assert.strictEqual(procStat(hx.pid)?.pgrp, hx.pid)

      const reply = yield* httpGet(s.port)
      assert.deepStrictEqual(reply, { status: 200, body: "a\n" })
      assert.isTrue(yield* hx.isRunning)
      assert.isTrue(logs.some((l) => l.line.includes("Loading success")))
      assert.isTrue((yield* hx.recentLogs).some((l) => /New worker|Initializing new worker/.test(l.line)))
    }).pipe(Effect.provide(NodeServices.layer)))

  it.live("reload() after a config change: new worker pid, new config served", () =>
    Effect.gen(function*() {
      const s = yield* setup
      const hx = yield* makeHaproxyProcess({ bin: haproxyBin, cfgPath: s.cfg, masterSocket: s.masterSocket })
      const before = yield* hx.showProc
      yield* s.track(hx.pid, ...before.workers.map((w) => w.pid))
      assert.deepStrictEqual(yield* httpBodies(s.port, 2), ["200 a", "200 a"])

      yield* writeFile(s.cfg, s.config("b"))
      const result = yield* hx.reload()
      yield* s.track(result.newWorkerPid)
      yield* timing("good reload (reload → verdict)", result.durationMs)
      assert.notStrictEqual(result.newWorkerPid, before.workers[0]!.pid)
      assert.strictEqual(result.masterReloads, before.master.reloads + 1)
      const after = yield* hx.showProc
      assert.strictEqual(after.master.failed, 0)
      assert.deepStrictEqual(after.workers.map((w) => w.pid), [result.newWorkerPid])
      assert.deepStrictEqual(yield* httpBodies(s.port, 3), ["200 b", "200 b", "200 b"])

      // Concurrent reloads are serialised: each one gets its own verdict and its own new worker.
      yield* writeFile(s.cfg, s.config("a"))
      const [r1, r2] = yield* Effect.all([hx.reload(), hx.reload()], { concurrency: "unbounded" })
      yield* s.track(r1.newWorkerPid, r2.newWorkerPid)
      assert.strictEqual(r2.masterReloads, r1.masterReloads + 1)
      assert.notStrictEqual(r1.newWorkerPid, r2.newWorkerPid)
      assert.deepStrictEqual((yield* hx.showProc).workers.map((w) => w.pid), [r2.newWorkerPid])
      assert.deepStrictEqual(yield* httpBodies(s.port, 2), ["200 a", "200 a"])
    }).pipe(Effect.provide(NodeServices.layer)))

  it.live("a reload that passes -c but cannot bind is ReloadFailed and the old worker keeps serving", () =>
    Effect.gen(function*() {
      const s = yield* setup
      // Occupy a port on 127.0.0.1 so the new config's bind fails at reload time only.
      const busyPort = yield* Effect.promise(freePort)
      yield* Effect.acquireRelease(
        Effect.callback<ReturnType<typeof createServer>>((resume) => {
          const server = createServer()
          server.listen(busyPort, "127.0.0.1", () => resume(Effect.succeed(server)))
        }),
        (server) => Effect.callback<void>((resume) => {
        server.close(() => resume(Effect.void))
      })
      )
      const hx = yield* makeHaproxyProcess({ bin: haproxyBin, cfgPath: s.cfg, masterSocket: s.masterSocket })
      const before = yield* hx.showProc
      const oldWorker = before.workers[0]!.pid
      yield* s.track(hx.pid, oldWorker)

      yield* writeFile(s.cfg, s.config("b", [{ name: "fe_busy", port: busyPort }]))
      // The trap in docs/haproxy-facts.md ("haproxy -c does not catch everything"): `haproxy -c` accepts it.
      yield* validateConfig(haproxyBin, s.cfg)

      const started = Date.now()
      const error = yield* Effect.flip(hx.reload())
      yield* timing("failed reload (bind conflict) → ReloadFailed", Date.now() - started)
      assert.strictEqual(error._tag, "ReloadFailed")
      if (error._tag !== "ReloadFailed") return
      // 2.6: no answer, verdict from show proc; 3.x: `Success=0`.
      assert.include(["failed-count", "success-0"], error.reason)
      assert.strictEqual(error.failedCount, 1)
      assert.strictEqual(error.previousWorkerPid, oldWorker)
      // 3.2 lists the surviving worker under "# old workers" after a failed reload: still reported.
      assert.deepStrictEqual(error.currentWorkerPids, [oldWorker])
      assert.isTrue(error.logLines.some((l) => /cannot bind|Address already in use|Loading failure/.test(l)))
      assert.include(error.message, "keeps serving")

      // The old worker still serves the old config.
      const after = yield* hx.showProc
      assert.deepStrictEqual([...after.workers, ...after.oldWorkers].map((w) => w.pid), [oldWorker])
      assert.deepStrictEqual(yield* httpBodies(s.port, 2), ["200 a", "200 a"])

      // Fixing the file and reloading again succeeds and resets the failure count.
      yield* writeFile(s.cfg, s.config("b"))
      const fixed = yield* hx.reload()
      yield* s.track(fixed.newWorkerPid)
      assert.strictEqual((yield* hx.showProc).master.failed, 0)
      assert.deepStrictEqual(yield* httpBodies(s.port, 2), ["200 b", "200 b"])
    }).pipe(Effect.provide(NodeServices.layer)))

  it.live("softStop lets an in-flight slow request finish with 200, then the master exits", () =>
    Effect.gen(function*() {
      const s = yield* setup
      const hx = yield* makeHaproxyProcess({ bin: haproxyBin, cfgPath: s.cfg, masterSocket: s.masterSocket })
      const workers = (yield* hx.showProc).workers.map((w) => w.pid)
      yield* s.track(hx.pid, ...workers)

      const slow = yield* Effect.forkChild(httpGet(s.port, "/?ms=1500"))
      yield* Effect.sleep("300 millis") // the request is now in flight inside the worker
      const started = Date.now()
      const info = yield* hx.softStop("10 seconds")
      const stopMs = Date.now() - started
      yield* timing("softStop with a 1.5 s request in flight", stopMs)
      const reply = yield* Fiber.join(slow)
      assert.deepStrictEqual(reply, { status: 200, body: "a\n" })
      assert.strictEqual(info.signal, null)
      assert.strictEqual(info.code, 0)
      assert.isAbove(stopMs, 800) // it waited for the request instead of cutting it
      assert.isFalse(yield* hx.isRunning)
      assert.deepStrictEqual(yield* waitGone([hx.pid, ...workers]), [])
      // No longer accepting.
      const refused = yield* Effect.flip(httpGet(s.port, "/", { timeoutMs: 2000 }))
      assert.match(refused.message, /ECONNREFUSED/)
    }).pipe(Effect.provide(NodeServices.layer)))

  it.live("closing the scope leaves no HAProxy process (master, worker, draining old worker)", () =>
    Effect.gen(function*() {
      const s = yield* setup
      const pids = yield* Effect.scoped(Effect.gen(function*() {
        const hx = yield* makeHaproxyProcess({ bin: haproxyBin, cfgPath: s.cfg, masterSocket: s.masterSocket })
        yield* s.track(hx.pid)
        // Keep a request in flight across a reload so an old worker is still draining.
        yield* Effect.forkDetach(Effect.ignore(httpGet(s.port, "/?ms=20000")))
        yield* Effect.sleep("200 millis")
        yield* writeFile(s.cfg, s.config("b"))
        const r = yield* hx.reload()
        const proc = yield* hx.showProc
        const all = [hx.pid, ...proc.workers.map((w) => w.pid), ...proc.oldWorkers.map((w) => w.pid)]
        yield* s.track(...all)
        assert.deepStrictEqual(proc.workers.map((w) => w.pid), [r.newWorkerPid])
        assert.strictEqual(proc.oldWorkers.length, 1)
        // The draining worker is reported by reload() too.
        assert.deepStrictEqual(r.oldWorkerPids, proc.oldWorkers.map((w) => w.pid))
        assert.isTrue(all.every(isAlive))
        return all
      }))
      assert.strictEqual(pids.length, 3)
      // The scope's finalizer waits for the group; give the kernel a moment to reap.
      assert.deepStrictEqual(yield* waitGone(pids, 3000), [])
    }).pipe(Effect.provide(NodeServices.layer)))

  it.live("`exited` resolves when the master is killed with SIGKILL", () =>
    Effect.gen(function*() {
      const s = yield* setup
      const hx = yield* makeHaproxyProcess({ bin: haproxyBin, cfgPath: s.cfg, masterSocket: s.masterSocket })
      const workers = (yield* hx.showProc).workers.map((w) => w.pid)
      yield* s.track(hx.pid, ...workers)
      const waiter = yield* Effect.forkChild(hx.exited)
      yield* Effect.sync(() => process.kill(hx.pid, "SIGKILL"))
      const killedAt = Date.now()
      const info = yield* Fiber.join(waiter).pipe(Effect.timeout("5 seconds"))
      yield* timing("SIGKILL → exited resolved", Date.now() - killedAt)
      assert.strictEqual(info.code, null)
      assert.strictEqual(info.signal, "SIGKILL")
      assert.isFalse(yield* hx.isRunning)
      // Workers notice the master's death (closed IPC socketpair) and exit on their own.
      assert.deepStrictEqual(yield* waitGone(workers, 5000), [])
      yield* timing("SIGKILL → orphaned workers gone", Date.now() - killedAt)
    }).pipe(Effect.provide(NodeServices.layer)))

  it.live("a config that cannot start fails with HaproxyStartFailed carrying the ALERT lines", () =>
    Effect.gen(function*() {
      const s = yield* setup
      yield* writeFile(s.cfg, s.config("a").replace("balance roundrobin", "balance roundrobin\n    bogus_keyword 1"))
      const error = yield* Effect.flip(
        makeHaproxyProcess({ bin: haproxyBin, cfgPath: s.cfg, masterSocket: s.masterSocket, startTimeout: "10 seconds" })
      )
      assert.strictEqual(error.reason, "exited")
      assert.isTrue(error.lastLines.some((l) => l.includes("[ALERT]") && l.includes("bogus_keyword")))
      assert.include(error.message, "bogus_keyword")
    }).pipe(Effect.provide(NodeServices.layer)))

  it.live("showProc on a dead socket is SocketUnavailable", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const e = yield* Effect.flip(showProc(join(dir, "none.sock")))
      assert.strictEqual(e._tag, "SocketUnavailable")
    }))
})
