/**
 * Keeps the idle agent's memory flat. The compiled binary exposes `gc()` (it is built with
 * `--compile-exec-argv=--expose-gc`); collecting every 10 s returns the garbage of the
 * polling round at once instead of letting the heap grow by several MiB between the engine's own
 * collections. Under Node or Deno without that flag there is no `gc()` and this does nothing.
 */
import { Effect, Layer, Schedule } from "effect"

const exposedGc = (): (() => void) | undefined => {
  const gc = (globalThis as { readonly gc?: unknown }).gc
  return typeof gc === "function" ? () => gc() : undefined
}

export const HeapCompactionLive = Layer.effectDiscard(Effect.suspend(() => {
  const gc = exposedGc()
  return gc === undefined ? Effect.void : Effect.forkScoped(Effect.repeat(Effect.sync(gc), Schedule.spaced("10 seconds")))
}))
