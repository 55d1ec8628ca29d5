/**
 * The apply loop running in the background (TestClock) over a fresh CONFIG_DIR, the real applier
 * and the fake HaproxyControl, guarded like ApplyLoopLive (an iteration that fails is logged and
 * the loop goes on). Knobs: a full disk (every write answers ENOSPC), a bug in the next apply, and
 * a bug in the loop's next /status update.
 */
import { mkdtempSync, rmSync, writeSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Context, Effect, Fiber, Layer } from "effect"
import { Applier, makeApplier } from "../../src/apply/applier.ts"
import type { WriteFn } from "../../src/apply/files.ts"
import type { Desired } from "../../src/model/desired.ts"
import { makeApplyLoop } from "../../src/apply/apply-loop.ts"
import { DesiredChannel } from "../../src/apply/desired-channel.ts"
import { StatusStore } from "../../src/status/status-store.ts"
import { settings } from "../render/fixtures.ts"
import { fakeControl } from "./fake-control.ts"

export const tempDirs: Array<string> = []
export const removeTempDirs = () => {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true })
}

export const startApplyLoop = (options: { readonly reloadMinIntervalMs: number; readonly rejectedRetryMs: number }) =>
  Effect.gen(function*() {
    const dir = mkdtempSync(join(tmpdir(), "cmh-apply-loop-"))
    tempDirs.push(dir)
    const configDir = join(dir, "cfg")
    const fake = fakeControl(configDir)
    // bugs: the next applies die; reportBugs: the next /status updates of the loop die (a bug outside an apply).
    const knobs = { diskFull: false, bugs: 0, reportBugs: 0 }
    const write: WriteFn = (fd, buffer, offset, length, position) => {
      if (knobs.diskFull) throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" })
      return writeSync(fd, buffer, offset, length, position)
    }
    const real = makeApplier({ settings: settings({ configDir }), dryRun: false, control: fake.control, write })
    const applier: typeof real = {
      ...real,
      apply: (previous, desired, o) =>
        Effect.suspend(() => {
          if (knobs.bugs === 0) return real.apply(previous, desired, o)
          knobs.bugs--
          return Effect.die(new TypeError("injected: cannot read properties of undefined"))
        })
    }
    const store = yield* Layer.build(StatusStore.layer).pipe(Effect.map((c) => Context.get(c, StatusStore)))
    const buggyStore = StatusStore.of({
      ...store,
      update: (f) => Effect.suspend(() => {
        if (knobs.reportBugs === 0) return store.update(f)
        knobs.reportBugs--
        return Effect.die(new TypeError("injected: a bug while reporting"))
      })
    })
    const context = yield* Layer.build(Layer.mergeAll(Layer.succeed(Applier, applier), DesiredChannel.layer, Layer.succeed(StatusStore, buggyStore)))
    const loop = yield* makeApplyLoop(options).pipe(Effect.provideContext(context))
    const guarded = loop.iteration.pipe(Effect.catchCause((cause) => Effect.logDebug("apply loop iteration failed", cause)))
    const fiber = yield* Effect.forkChild(Effect.forever(guarded).pipe(Effect.provideContext(context)))
    const channel = Context.get(context, DesiredChannel)
    const status = Context.get(context, StatusStore)
    /** Lets the loop run until it waits (for the clock or the next state). */
    const settle = Effect.repeat(Effect.yieldNow, { times: 50 })
    const publish = (d: Desired, complete = true) => Effect.andThen(channel.publish({ desired: d, complete }), settle)
    const reloads = () => fake.calls.filter((c) => c === "reload" || c === "start").length
    return { fake, knobs, configDir, publish, publishNow: (d: Desired) => channel.publish({ desired: d, complete: true }), status: status.get, settle, reloads, stop: Fiber.interrupt(fiber) }
  })
