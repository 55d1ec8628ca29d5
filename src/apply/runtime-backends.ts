/**
 * New and removed services without a reload (HAProxy 3.4), carrying out a BackendPlan
 * (backend-plan.ts) in the order that never routes a request to something half-built:
 *
 * 1. new backends: `add backend <name> from <profile>` (unpublished), its servers added with their
 *    checks enabled and made ready, read back (`show servers state`), then `publish backend`,
 *    read back (its status no longer `UP (UNPUB)`);
 * 2. routes: every changed map entry added, re-pointed or deleted, then both maps read back and
 *    compared whole with what the files say (so what HAProxy routes is what /status shows);
 * 3. (the caller applies instance changes of existing backends here)
 * 4. removed backends, whose routes are gone by now: servers drained until idle or the drain
 *    timeout, `unpublish backend`, servers to maintenance and deleted, `del backend` (retried
 *    while HAProxy still holds streams), and `show backend` read back.
 *
 * Any refused command or mismatch fails the whole update: the applier then reloads with the
 * generation's files, which say the same as the plan (docs/haproxy-runtime-backends.md).
 */
import { Clock, Duration, Effect, Equal } from "effect"
import type { Backend, Desired, Server } from "../model/desired.ts"
import type { RuntimeApiShape } from "../haproxy/runtime-api.ts"
import type { RouteMap, RuntimeBackendApi } from "../haproxy/runtime-backend-api.ts"
import type { RuntimeError } from "../haproxy/runtime-errors.ts"
import { type BackendPlan, wantedMap } from "./backend-plan.ts"
import { RuntimeStateMismatch, verifyBackend } from "./runtime-verify.ts"

export interface BackendSteps {
  readonly api: RuntimeApiShape
  readonly backends: RuntimeBackendApi
  /** Adds one server with its options, checks enabled, ready (runtime-update.ts). */
  readonly addServer: (backend: string, server: Server) => Effect.Effect<void, RuntimeError>
  /** Deletes servers in rounds (runtime-update.ts). */
  readonly deleteServers: (servers: ReadonlyArray<{ readonly backend: string; readonly name: string }>) => Effect.Effect<void>
  readonly drainTimeout: Duration.Duration
  readonly concurrency: number
  /** Rounds of `del backend`, 100 ms apart, while HAProxy still holds streams. */
  readonly deleteRounds: number
}

type StepError = RuntimeError | RuntimeStateMismatch

const mismatch = (backend: string, problem: string) => Effect.fail(new RuntimeStateMismatch({ backend, problem }))

export const makeBackendSteps = (steps: BackendSteps) => {
  const { api, backends } = steps
  const each = <A, E>(items: ReadonlyArray<A>, f: (a: A) => Effect.Effect<unknown, E>) =>
    Effect.forEach(items, f, { concurrency: steps.concurrency, discard: true })

  const addOne = (backend: Backend, profile: string): Effect.Effect<void, StepError> =>
    Effect.gen(function*() {
      yield* backends.addBackend(backend.name, profile)
      yield* each(backend.servers, (s) => steps.addServer(backend.name, s))
      const state = yield* api.showServersState(backend.name)
      const problem = verifyBackend(state, backend.servers, [])
      if (problem !== undefined) return yield* mismatch(backend.name, problem)
      if (state.length !== backend.servers.length) return yield* mismatch(backend.name, `${state.length} servers, expected ${backend.servers.length}`)
      yield* backends.publishBackend(backend.name)
      if (!(yield* backends.isPublished(backend.name))) return yield* mismatch(backend.name, "still unpublished")
    })

  /** Added, re-pointed or deleted; then the touched maps read back whole and compared with `after`. */
  const routes = (plan: BackendPlan, after: Desired): Effect.Effect<void, StepError> =>
    Effect.gen(function*() {
      yield* each(plan.maps, (c) =>
        c.after === undefined
          ? backends.delMapEntry(c.map, c.key)
          : c.before === undefined
          ? backends.addMapEntry(c.map, c.key, c.after)
          : backends.setMapEntry(c.map, c.key, c.after))
      const touched = [...new Set(plan.maps.map((c) => c.map))] as ReadonlyArray<RouteMap>
      yield* each(touched, (map) =>
        Effect.gen(function*() {
          const held = [...(yield* backends.showMap(map))].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0))
          const wanted = wantedMap(after, map)
          if (Equal.equals(held, wanted)) return
          const heldKeys = new Map(held)
          const wrong = wanted.find(([k, v]) => heldKeys.get(k) !== v)?.[0] ?? held.find(([k]) => !wanted.some((w) => w[0] === k))?.[0]
          return yield* mismatch(map, `${held.length} entries, expected ${wanted.length}${wrong === undefined ? " (a key twice)" : `; first wrong key ${wrong}`}`)
        }))
    })

  const removeAll = (removed: ReadonlyArray<Backend>): Effect.Effect<void, StepError> =>
    Effect.gen(function*() {
      if (removed.length === 0) return
      // Routes are gone already: only requests in flight still reach these servers.
      yield* each(removed.flatMap((b) => b.servers.map((s) => ({ b: b.name, s: s.name }))), ({ b, s }) => api.setServerState(b, s, "drain"))
      const deadline = (yield* Clock.currentTimeMillis) + Duration.toMillis(steps.drainTimeout)
      yield* each(removed, (b) =>
        Effect.gen(function*() {
          if (b.servers.length > 0) {
            const timeout = Duration.millis(Math.max(0, deadline - (yield* Clock.currentTimeMillis)))
            const busy = yield* api.waitServersIdle(b.name, b.servers.map((s) => s.name), { timeout })
            if (busy.length > 0) {
              yield* Effect.logWarning("removed service still busy after the drain timeout; removing it anyway", {
                backend: b.name,
                servers: busy.slice(0, 10).map((x) => `${x.server} (${x.sessions} sessions)`)
              })
            }
          }
          yield* backends.unpublishBackend(b.name)
          yield* each(b.servers, (s) => api.setServerState(b.name, s.name, "maint"))
        }))
      yield* steps.deleteServers(removed.flatMap((b) => b.servers.map((s) => ({ backend: b.name, name: s.name }))))
      yield* each(removed, (b) => delBackend(b.name))
      const left = new Set(yield* backends.showBackends)
      const still = removed.find((b) => left.has(b.name))
      if (still !== undefined) return yield* mismatch(still.name, "still present after del backend")
    })

  /** `del backend`, retried while HAProxy still holds its servers or streams. */
  const delBackend = (name: string): Effect.Effect<void, RuntimeError> =>
    Effect.gen(function*() {
      for (let round = 1;; round++) {
        const r = yield* Effect.result(backends.delBackend(name))
        if (r._tag === "Success") return
        // Deleted by an earlier round whose answer was lost (`show backend` verifies it after).
        if (round > 1 && r.failure._tag === "RuntimeCommandFailed" && /No such backend/i.test(r.failure.answer)) return
        if (round >= steps.deleteRounds) return yield* Effect.fail(r.failure)
        yield* Effect.logDebug("del backend refused; retrying", { backend: name, round, error: r.failure.message })
        yield* Effect.sleep("100 millis")
      }
    })

  return {
    addAll: (plan: BackendPlan) => each(plan.added, ({ backend, profile }) => addOne(backend, profile)),
    routes,
    removeAll
  }
}
