/**
 * The agent's Status (status.ts) as a service: the reconciler, the apply loop and the HAProxy
 * supervisor write it; the HTTP endpoints read it.
 */
import { Clock, Context, Effect, Layer, Ref } from "effect"
import { VERSION } from "../version.ts"
import { initialStatus, type Status } from "./status.ts"

export class StatusStore extends Context.Service<StatusStore, {
  readonly get: Effect.Effect<Status>
  readonly update: (f: (s: Status) => Status) => Effect.Effect<void>
  /** For callers outside the Effect runtime (node:http handlers): the current value, now. */
  readonly current: () => Status
}>()("cloudmap-haproxy/reconcile/StatusStore") {
  static readonly layer = Layer.effect(
    StatusStore,
    Effect.gen(function*() {
      const ref = yield* Ref.make(initialStatus(VERSION, yield* Clock.currentTimeMillis))
      return StatusStore.of({
        get: Ref.get(ref),
        update: (f) => Ref.update(ref, f),
        current: () => Ref.getUnsafe(ref)
      })
    })
  )
}
