/**
 * The newest desired state, from the polling rounds to the apply loop: a sliding queue of one.
 * Polling never waits for an apply; the apply loop always takes the latest state and skips the
 * ones that were overtaken while it was busy (or pacing reloads).
 */
import { Context, Effect, Layer, Queue } from "effect"
import type { Desired } from "../model/desired.ts"

export interface Planned {
  readonly desired: Desired
  /** Every mapped namespace was found and all its services read: applying it makes the agent ready. */
  readonly complete: boolean
  /** `JSON.stringify(desired)`, when the publisher has it (compares states without serialising again). */
  readonly json?: string | undefined
}

/**
 * Whether two states are the same desired state, by their JSON (computed once by the publisher):
 * for a whole state this is the faster test (3,000 services: about 9 ms to serialise and compare
 * two states, 68 ms for Equal.equals), where Equal.equals fits the small values in apply/diff.ts.
 */
export const samePlanned = (a: Planned, b: Planned): boolean =>
  a.desired === b.desired || (a.json ?? JSON.stringify(a.desired)) === (b.json ?? JSON.stringify(b.desired))

export class DesiredChannel extends Context.Service<DesiredChannel, {
  readonly publish: (planned: Planned) => Effect.Effect<void>
  /** Waits for the next state published after the last one taken. */
  readonly take: Effect.Effect<Planned>
}>()("cloudmap-haproxy/reconcile/DesiredChannel") {
  static readonly layer = Layer.effect(
    DesiredChannel,
    Effect.map(Queue.sliding<Planned>(1), (queue) =>
      DesiredChannel.of({
        publish: (planned) => Effect.asVoid(Queue.offer(queue, planned)),
        take: Queue.take(queue)
      }))
  )
}
