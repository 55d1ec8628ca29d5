/**
 * Status.recentChanges: the apply loop records every start, reload, runtime update and refused
 * configuration in a ring of the last RECENT_CHANGES, and /status shows it newest first. The
 * applier is the real one over a temp CONFIG_DIR; HAProxy is the fake HaproxyControl.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Fiber, Layer } from "effect"
import { afterAll } from "vitest"
import { Applier, makeApplier } from "../../src/apply/applier.ts"
import { statusDocument } from "../../src/http/status-document.ts"
import type { Desired } from "../../src/model/desired.ts"
import { makeApplyLoop } from "../../src/apply/apply-loop.ts"
import { DesiredChannel } from "../../src/apply/desired-channel.ts"
import { RECENT_CHANGES, withRecentChange } from "../../src/status/status.ts"
import { StatusStore } from "../../src/status/status-store.ts"
import { settings } from "../render/fixtures.ts"
import { backend, desired } from "../support/desired.ts"
import { candidateInvalid, fakeControl } from "../support/fake-control.ts"

const dirs: Array<string> = []
afterAll(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

const start = Effect.gen(function*() {
  const dir = mkdtempSync(join(tmpdir(), "cmh-recent-"))
  dirs.push(dir)
  const fake = fakeControl(join(dir, "cfg"))
  const applier = makeApplier({ settings: settings({ configDir: join(dir, "cfg") }), dryRun: false, control: fake.control })
  const context = yield* Layer.build(Layer.mergeAll(Layer.succeed(Applier, applier), DesiredChannel.layer, StatusStore.layer))
  const loop = yield* makeApplyLoop({ reloadMinIntervalMs: 0, rejectedRetryMs: 60_000 }).pipe(Effect.provideContext(context))
  const fiber = yield* Effect.forkChild(Effect.forever(loop.iteration).pipe(Effect.provideContext(context)))
  const settle = Effect.repeat(Effect.yieldNow, { times: 50 })
  const publish = (d: Desired) => Effect.andThen(Context.get(context, DesiredChannel).publish({ desired: d, complete: true }), settle)
  return { fake, publish, status: Context.get(context, StatusStore).get, stop: Fiber.interrupt(fiber) }
})

const RULES = { maxHeartbeatAgeMs: 120_000, maxStalenessMs: undefined, dryRun: false }

describe("recent changes", () => {
  it.effect("start, runtime update and a refused configuration are recorded with their reasons, newest first in /status", () =>
    Effect.gen(function*() {
      const t = yield* start
      yield* t.publish(desired(backend("web", [8080])))
      t.fake.runtime = true
      yield* t.publish(desired(backend("web", [8080, 8081])))
      t.fake.fail.validate.push(candidateInvalid("[ALERT] injected: <script>alert(1)</script>"))
      yield* t.publish(desired(backend("web", [8080, 8081]), backend("shop", [9090])))
      const s = yield* t.status
      assert.deepStrictEqual(s.recentChanges.map((c) => [c.method, c.ok]), [["start", true], ["runtime", true], ["reload", false]])
      for (const c of s.recentChanges) assert.isAbove(c.reason.length, 0)
      assert.include(s.recentChanges[2]?.error ?? "", "<script>alert(1)</script>")
      const doc = statusDocument(s, 0, RULES)
      assert.deepStrictEqual(doc.recentChanges.map((c) => c.method), ["reload", "runtime", "start"])
      assert.match(doc.recentChanges[0]?.at ?? "", /^\d{4}-\d\d-\d\dT/)
      yield* t.stop
    }))

  it.effect(`keeps only the last ${RECENT_CHANGES}`, () =>
    Effect.gen(function*() {
      const t = yield* start
      t.fake.runtime = true
      for (let n = 1; n <= RECENT_CHANGES + 5; n++) {
        yield* t.publish(desired(backend("web", Array.from({ length: 1 + (n % 2) }, (_, i) => 8080 + i))))
      }
      const s = yield* t.status
      assert.strictEqual(s.recentChanges.length, RECENT_CHANGES)
      assert.strictEqual(s.recentChanges.at(-1), s.lastApply)
      yield* t.stop
    }))

  it("withRecentChange drops the oldest", () => {
    const record = (at: number) => ({ at, method: "reload" as const, reason: `r${at}`, ok: true, durationMs: 1 })
    let ring = [] as ReturnType<typeof withRecentChange>
    for (let at = 0; at < RECENT_CHANGES + 3; at++) ring = withRecentChange(ring, record(at))
    assert.deepStrictEqual(ring.map((r) => r.at), Array.from({ length: RECENT_CHANGES }, (_, i) => i + 3))
  })
})
