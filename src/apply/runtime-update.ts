/**
 * Instance changes without a reload, through the admin socket: new instances become dynamic
 * servers (`add server` with the same options the file gives them, `enable health`, ready),
 * moved ones get `set server addr/port`, removed ones are drained (no new requests, in-flight
 * ones finish) before they go to maintenance and are deleted. Every change is verified by
 * reading `show servers state` back. New or removed services (backends) need a reload: the
 * updater then answers false and the applier reloads.
 */
import { Duration, Effect, Schedule } from "effect"
import type { Desired, Server } from "../model/desired.ts"
import type { RenderSettings } from "../model/render-settings.ts"
import type { RuntimeApiShape, ServerStateRecord } from "../haproxy/runtime-api.ts"
import { SERVER_CHECK } from "../render/render.ts"
import type { DesiredDiff } from "./diff.ts"

export interface RuntimeUpdaterOptions {
  readonly runtime: RuntimeApiShape
  readonly settings: RenderSettings
  /** How long a removed server may take to finish its requests before it is deleted. */
  readonly drainTimeout?: Duration.Input
}

const errorText = (e: { readonly message: string }) => e.message

export const makeRuntimeUpdater = (options: RuntimeUpdaterOptions) =>
(_before: Desired, after: Desired, diff: DesiredDiff): Effect.Effect<boolean, string> =>
  Effect.gen(function*() {
    if (diff.addedBackends.length > 0 || diff.removedBackends.length > 0) return false
    if (diff.changedBackends.length === 0) return !diff.hostRoutesChanged && !diff.pathRoutesChanged
    if (diff.hostRoutesChanged || diff.pathRoutesChanged) return false
    const api = options.runtime
    const drainTimeout = options.drainTimeout ?? Duration.seconds(10)

    // An instance that comes back before the next reload may still have its server, left in
    // maintenance because HAProxy refused to delete it: that server is re-pointed and reused.
    const reuse = (backend: string, s: Server) =>
      Effect.gen(function*() {
        yield* api.setServerState(backend, s.name, "maint")
        yield* api.setServerAddr(backend, s.name, s.address, s.port)
        yield* api.setServerState(backend, s.name, "ready")
      })

    const add = (backend: string, s: Server) =>
      Effect.gen(function*() {
        const added = yield* Effect.result(api.addServer(backend, s.name, s.address, s.port, {
          check: true,
          interMs: SERVER_CHECK.interMs,
          rise: SERVER_CHECK.rise,
          fall: SERVER_CHECK.fall,
          slowstartMs: SERVER_CHECK.slowstartMs
        }))
        if (added._tag === "Failure") {
          const e = added.failure
          if (e._tag === "RuntimeCommandFailed" && /already exists/i.test(e.answer)) return yield* reuse(backend, s)
          return yield* Effect.fail(e)
        }
        yield* api.enableHealth(backend, s.name)
        yield* api.setServerState(backend, s.name, "ready")
      })

    const remove = (backend: string, s: Server) =>
      Effect.gen(function*() {
        yield* api.setServerState(backend, s.name, "drain")
        const idle = yield* Effect.result(api.waitServerIdle(backend, s.name, { timeout: drainTimeout }))
        if (idle._tag === "Failure") {
          yield* Effect.logWarning("server still busy after the drain timeout; removing it anyway", { backend, server: s.name })
        }
        yield* api.setServerState(backend, s.name, "maint")
        // HAProxy purges idle connections after `maint` asynchronously: until then `del server`
        // answers "Server still has connections attached to it".
        const deleted = yield* Effect.result(
          api.delServer(backend, s.name).pipe(Effect.retry({ schedule: Schedule.spaced("100 millis"), times: 20 }))
        )
        if (deleted._tag === "Failure") {
          // Left in maintenance (no traffic); the next reload drops it for good.
          yield* Effect.logWarning("server kept in maintenance until the next reload", { backend, server: s.name, error: deleted.failure.message })
        }
      })

    // Same instance, new address. HAProxy keeps reusing pooled connections to the old address after
    // `set server addr`, so the server is drained and put in maintenance (which closes its idle
    // connections) before it is re-pointed and made ready again.
    const move = (backend: string, s: Server) =>
      Effect.gen(function*() {
        yield* api.setServerState(backend, s.name, "drain")
        const idle = yield* Effect.result(api.waitServerIdle(backend, s.name, { timeout: drainTimeout }))
        if (idle._tag === "Failure") {
          yield* Effect.logWarning("moved server still busy after the drain timeout; re-pointing it anyway", { backend, server: s.name })
        }
        yield* api.setServerState(backend, s.name, "maint")
        yield* api.setServerAddr(backend, s.name, s.address, s.port)
        yield* api.setServerState(backend, s.name, "ready")
      })

    // Additions first (capacity before removal), then moves and removals, drained in parallel.
    yield* Effect.forEach(diff.changedBackends, (c) => Effect.forEach(c.added, (s) => add(c.backend, s), { discard: true }), {
      discard: true
    }).pipe(Effect.mapError(errorText))
    yield* Effect.forEach(
      diff.changedBackends.flatMap((c) => [
        ...c.moved.map((m) => move(c.backend, m.after)),
        ...c.removed.map((s) => remove(c.backend, s))
      ]),
      (work) => work,
      { concurrency: "unbounded", discard: true }
    ).pipe(Effect.mapError(errorText))

    // Read back: every desired server of a changed backend is there, at its address, ready.
    const wanted = new Map(after.backends.map((b) => [b.name, b]))
    for (const change of diff.changedBackends) {
      const state = yield* api.showServersState(change.backend).pipe(Effect.mapError(errorText))
      const problem = verifyBackend(state, wanted.get(change.backend)?.servers ?? [], change.removed)
      if (problem !== undefined) return yield* Effect.fail(`runtime state of ${change.backend} does not match: ${problem}`)
    }
    return true
  })

/** Undefined when the servers HAProxy reports match what should be there. Pure. */
export const verifyBackend = (
  state: ReadonlyArray<ServerStateRecord>,
  servers: ReadonlyArray<Server>,
  removed: ReadonlyArray<Server>
): string | undefined => {
  const byName = new Map(state.map((r) => [r.serverName, r]))
  for (const s of servers) {
    const r = byName.get(s.name)
    if (r === undefined) return `${s.name} missing`
    if (r.address !== s.address || r.port !== s.port) return `${s.name} at ${r.address}:${r.port}, expected ${s.address}:${s.port}`
    if (r.adminState === "maint") return `${s.name} in maintenance`
  }
  for (const s of removed) {
    const r = byName.get(s.name)
    if (r !== undefined && r.adminState !== "maint") return `${s.name} still receives traffic`
  }
  return undefined
}
