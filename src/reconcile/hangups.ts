/**
 * SIGHUP, as a service: each one is queued (at most one waits) for whoever re-reads Cloud Map.
 * Built first when the agent starts, so a SIGHUP never stops the agent (the default for an
 * unhandled SIGHUP), not even during start-up.
 */
import process from "node:process"
import { Context, Effect, Layer, Queue } from "effect"

export class Hangups extends Context.Service<Hangups, {
  /** Waits for the next SIGHUP. */
  readonly next: Effect.Effect<void>
}>()("cloudmap-haproxy/reconcile/Hangups") {
  static readonly layer = Layer.effect(
    Hangups,
    Effect.gen(function*() {
      const queue = yield* Queue.sliding<"SIGHUP">(1)
      yield* Effect.acquireRelease(
        Effect.sync(() => {
          const onHup = () => void Queue.offerUnsafe(queue, "SIGHUP")
          process.on("SIGHUP", onHup)
          return onHup
        }),
        (onHup) => Effect.sync(() => void process.off("SIGHUP", onHup))
      )
      return Hangups.of({ next: Effect.asVoid(Queue.take(queue)) })
    })
  )
}
