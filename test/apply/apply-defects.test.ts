/**
 * Defects of the apply loop found by reading, each shown failing before its fix (TestClock, the
 * real applier over a temp CONFIG_DIR, the fake HAProxy): a runtime part that reloads behind the
 * pacing, /status vs what HAProxy serves, a bug in an apply or around it, instance changes on a full disk, and
 * the suspected race between the pacing timer and the channel (refuted).
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect } from "effect"
import { TestClock } from "effect/testing"
import { afterAll } from "vitest"
import { RuntimeCommandFailed } from "../../src/haproxy/runtime-errors.ts"
import { degradedReasons } from "../../src/status/status.ts"
import { removeTempDirs, startApplyLoop } from "../support/apply-loop.ts"
import { backend, desired } from "../support/desired.ts"

afterAll(removeTempDirs)

const SECOND = 1000
const servers = (s: { readonly applied: ReturnType<typeof desired> | undefined }) =>
  s.applied?.backends.map((b) => [b.service, b.servers.length] as const).sort()
const runtimeRefused = () => new RuntimeCommandFailed({ socketPath: "admin.sock", command: "add server be_web/x", answer: "injected" })

describe("apply loop defects", () => {
  it.effect("a runtime part whose runtime update fails does not reload while reloads are paced", () =>
    Effect.gen(function*() {
      const t = yield* startApplyLoop({ reloadMinIntervalMs: 5 * SECOND, rejectedRetryMs: 10 * SECOND })
      yield* t.publish(desired(backend("web", [8080])))
      t.fake.runtime = true
      yield* TestClock.adjust(1 * SECOND)
      // A new service (paced to 5 s) and a new instance of web, whose runtime update fails.
      t.fake.fail.runtime.push(runtimeRefused())
      yield* t.publish(desired(backend("web", [8080, 8081]), backend("shop", [9090])))
      assert.strictEqual(t.reloads(), 1, "no reload 1 s after the start (RELOAD_MIN_INTERVAL 5 s)")
      yield* TestClock.adjust(4 * SECOND)
      yield* t.settle
      assert.strictEqual(t.reloads(), 2)
      assert.deepStrictEqual(servers(yield* t.status), [["shop", 1], ["web", 2]])
      yield* t.stop
    }))

  it.effect("runtime update applied, its generation not installed: /status shows what HAProxy serves, the write is retried", () =>
    Effect.gen(function*() {
      const t = yield* startApplyLoop({ reloadMinIntervalMs: 0, rejectedRetryMs: 10 * SECOND })
      yield* t.publish(desired(backend("web", [8080])))
      t.fake.runtime = true
      // Installing fails: the temporary link `current` is renamed from cannot be created.
      const blocker = join(t.configDir, `.current.link-${process.pid}`)
      t.fake.afterValidate = () => {
        mkdirSync(blocker, { recursive: true })
        writeFileSync(join(blocker, "x"), "")
      }
      yield* t.publish(desired(backend("web", [8080, 8081])))
      const s = yield* t.status
      assert.deepStrictEqual(t.fake.calls.filter((c) => !c.startsWith("validate")), ["start", "runtime"])
      assert.deepStrictEqual(servers(s), [["web", 2]], "HAProxy serves 2 instances (runtime API)")
      assert.strictEqual(s.pending?.served, true)
      assert.strictEqual(s.pending?.stage, "write")
      assert.match(degradedReasons({ ...s, initialSyncAt: 0 }, yield* Clock.currentTimeMillis).join("\n"), /could not be written to CONFIG_DIR/)
      assert.notInclude(readFileSync(join(t.configDir, "haproxy.cfg"), "utf8"), ":8081")
      // Space again: the retry writes the files, nothing is reloaded.
      t.fake.afterValidate = undefined
      rmSync(blocker, { recursive: true, force: true })
      yield* TestClock.adjust(10 * SECOND)
      yield* t.settle
      const after = yield* t.status
      assert.strictEqual(after.pending, undefined)
      assert.include(readFileSync(join(t.configDir, "haproxy.cfg"), "utf8"), ":8081")
      assert.strictEqual(t.reloads(), 1)
      yield* t.stop
    }))

  it.effect("a bug in an apply is reported and retried, not dropped", () =>
    Effect.gen(function*() {
      const t = yield* startApplyLoop({ reloadMinIntervalMs: 0, rejectedRetryMs: 10 * SECOND })
      yield* t.publish(desired(backend("web", [8080])))
      t.knobs.bugs = 1
      yield* t.publish(desired(backend("web", [8080]), backend("shop", [9090])))
      const s = yield* t.status
      assert.deepStrictEqual(servers(s), [["web", 1]])
      assert.match(s.pending?.error ?? "", /unexpected failure/)
      // Nothing new is published: the same state is applied by the retry.
      yield* TestClock.adjust(10 * SECOND)
      yield* t.settle
      const after = yield* t.status
      assert.deepStrictEqual(servers(after), [["shop", 1], ["web", 1]])
      assert.strictEqual(after.pending, undefined)
      yield* t.stop
    }))

  it.effect("a bug outside an apply (in the reporting) keeps the state: retried, and /status catches up with what HAProxy serves", () =>
    Effect.gen(function*() {
      const t = yield* startApplyLoop({ reloadMinIntervalMs: 0, rejectedRetryMs: 10 * SECOND })
      yield* t.publish(desired(backend("web", [8080])))
      t.fake.runtime = true
      t.knobs.reportBugs = 1
      // Applied through the runtime API; the first /status update of its report dies.
      yield* t.publish(desired(backend("web", [8080, 8081])))
      assert.deepStrictEqual(servers(yield* t.status), [["web", 1]])
      // Nothing new is published (Cloud Map is quiet): the retry reports what HAProxy serves.
      yield* TestClock.adjust(10 * SECOND)
      yield* t.settle
      assert.deepStrictEqual(servers(yield* t.status), [["web", 2]])
      assert.strictEqual(t.reloads(), 1, "the retry found the state applied: no reload")
      yield* t.stop
    }))

  it.effect("a full disk does not hold instance changes: applied through the runtime API, files written when space returns", () =>
    Effect.gen(function*() {
      const t = yield* startApplyLoop({ reloadMinIntervalMs: 0, rejectedRetryMs: 10 * SECOND })
      yield* t.publish(desired(backend("web", [8080]), backend("api", [7070])))
      t.fake.runtime = true
      t.knobs.diskFull = true
      // A rolling deploy: web gets a new task.
      yield* t.publish(desired(backend("web", [8080, 8081]), backend("api", [7070])))
      const s = yield* t.status
      assert.deepStrictEqual(servers(s), [["api", 1], ["web", 2]])
      assert.strictEqual(s.pending?.served, true)
      // And a new service with another new instance: the instance is served, the service waits.
      yield* t.publish(desired(backend("web", [8080, 8081]), backend("api", [7070, 7071]), backend("shop", [9090])))
      const held = yield* t.status
      assert.deepStrictEqual(servers(held), [["api", 2], ["web", 2]])
      assert.strictEqual(held.pending?.served, false)
      assert.strictEqual(held.pending?.stage, "write")
      assert.strictEqual(t.reloads(), 1)
      // Space again: the retry reloads with every change, files and runtime agree.
      t.knobs.diskFull = false
      yield* TestClock.adjust(10 * SECOND)
      yield* t.settle
      const after = yield* t.status
      assert.deepStrictEqual(servers(after), [["api", 2], ["shop", 1], ["web", 2]])
      assert.strictEqual(after.pending, undefined)
      const cfg = readFileSync(join(t.configDir, "haproxy.cfg"), "utf8")
      for (const port of [":8081", ":7071", ":9090"]) assert.include(cfg, port)
      yield* t.stop
    }))

  // Suspected: the race between the pacing timer and channel.take consumes the newest state and
  // drops it. Refuted: Queue.take leaves an item in the queue until the taking fiber runs, and
  // an interrupted take takes nothing. Both orders of the two timers at the same instant.
  for (const publisherFirst of [true, false]) {
    it.effect(`a state published at the instant the pacing wait ends is applied (publisher's timer ${publisherFirst ? "first" : "second"})`, () =>
      Effect.gen(function*() {
        const t = yield* startApplyLoop({ reloadMinIntervalMs: 5 * SECOND, rejectedRetryMs: 10 * SECOND })
        const newest = desired(backend("web", [8080]), backend("a", [9090]), backend("b", [9091]))
        const late = Effect.andThen(Effect.sleep(4 * SECOND), t.publishNow(newest))
        if (publisherFirst) yield* Effect.forkChild(late)
        yield* t.publish(desired(backend("web", [8080])))
        yield* TestClock.adjust(1 * SECOND)
        yield* t.publish(desired(backend("web", [8080]), backend("a", [9090])))
        if (!publisherFirst) yield* Effect.forkChild(Effect.andThen(Effect.sleep(3 * SECOND), t.publishNow(newest)))
        yield* TestClock.adjust(4 * SECOND)
        yield* t.settle
        yield* TestClock.adjust(10 * SECOND)
        yield* t.settle
        assert.deepStrictEqual(servers(yield* t.status), [["a", 1], ["b", 1], ["web", 1]])
        yield* t.stop
      }))
  }
})
