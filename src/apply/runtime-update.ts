/**
 * Instance changes without a reload, through the admin socket: new instances become dynamic
 * servers (`add server` with the same options the file gives them, `enable health`, ready),
 * moved ones get `set server addr/port`, removed ones are drained (no new requests, in-flight
 * ones finish) before they go to maintenance and are deleted. Every change is verified by
 * reading `show servers state` back. New and removed services (backends) and route changes go
 * through runtime-backends.ts on HAProxy 3.4 and later, when the plan allows (backend-plan.ts);
 * otherwise the updater answers false and the applier reloads.
 *
 * Bulk changes (hundreds of servers at once) are batched: every leaving server is set to drain,
 * then each backend is polled once per interval (one `show stat` for all of its servers) until
 * they are idle or the drain timeout passes, then they all go to maintenance, and the removed ones
 * are deleted in rounds (a refused `del server` is retried in the next round). Work runs with
 * bounded concurrency; the runtime API client bounds the connections to the socket.
 */
import { Clock, Duration, Effect } from "effect"
import type { Desired, Server } from "../model/desired.ts"
import { DEFAULT_OPTIONS } from "../model/service-options.ts"
import type { RuntimeApiShape } from "../haproxy/runtime-api.ts"
import type { RuntimeBackendApi } from "../haproxy/runtime-backend-api.ts"
import type { RuntimeError } from "../haproxy/runtime-errors.ts"
import { serverCookie } from "../model/names.ts"
import { SERVER_CHECK } from "../render/render.ts"
import { type LoadedConfig, planRuntimeBackends } from "./backend-plan.ts"
import { type BackendChange, type DesiredDiff, needsReload } from "./diff.ts"
import { makeBackendSteps } from "./runtime-backends.ts"
import { RuntimeStateMismatch, verifyBackend } from "./runtime-verify.ts"

export interface RuntimeUpdaterOptions {
  readonly runtime: RuntimeApiShape
  /** Backends and maps at runtime (used only when the loaded HAProxy is 3.4 or later). */
  readonly backends?: RuntimeBackendApi | undefined
  /** How long a removed server may take to finish its requests before it is deleted. */
  readonly drainTimeout?: Duration.Input
  /** Servers (and backends) worked on at once. Default 8; connections are bounded by the client. */
  readonly concurrency?: number
  /** Rounds of `del server` for servers HAProxy still holds connections to (100 ms apart). Default 20. */
  readonly deleteRounds?: number
}

export type RuntimeUpdateError = RuntimeError | RuntimeStateMismatch

/** At most this many server names in one log line. */
const sample = (names: ReadonlyArray<string>) => names.length <= 10 ? names : [...names.slice(0, 10), `... (${names.length} in all)`]

export const makeRuntimeUpdater = (options: RuntimeUpdaterOptions) =>
(before: Desired, after: Desired, diff: DesiredDiff, loaded?: LoadedConfig): Effect.Effect<boolean, RuntimeUpdateError> =>
  Effect.gen(function*() {
    const planned = needsReload(diff) ? planRuntimeBackends(before, after, diff, loaded) : undefined
    if (planned !== undefined && (planned._tag === "Reload" || options.backends === undefined)) return false
    const plan = planned?.plan
    if (plan === undefined && diff.changedBackends.length === 0) return true
    const api = options.runtime
    const drainTimeout = options.drainTimeout ?? Duration.seconds(10)
    const concurrency = Math.max(1, options.concurrency ?? 8)
    const deleteRounds = Math.max(1, options.deleteRounds ?? 20)
    const each = <A, E>(items: ReadonlyArray<A>, f: (a: A) => Effect.Effect<unknown, E>) =>
      Effect.forEach(items, f, { concurrency, discard: true })

    // An instance that comes back before the next reload may still have its server, left in
    // maintenance because HAProxy refused to delete it: that server is re-pointed and reused.
    const reuse = (backend: string, s: Server) =>
      Effect.gen(function*() {
        yield* api.setServerState(backend, s.name, "maint")
        yield* api.setServerAddr(backend, s.name, s.address, s.port)
        yield* api.setServerWeight(backend, s.name, s.weight)
        yield* api.enableHealth(backend, s.name)
        yield* api.setServerState(backend, s.name, "ready")
      })

    const backends = new Map(after.backends.map((b) => [b.name, b]))
    const add = (backend: string, s: Server) =>
      Effect.gen(function*() {
        // The same settings as the server's line in haproxy.cfg (render.ts serverWords).
        const options = backends.get(backend)?.options ?? DEFAULT_OPTIONS
        const added = yield* Effect.result(api.addServer(backend, s.name, s.address, s.port, {
          check: true,
          interMs: options.check.intervalMs,
          rise: SERVER_CHECK.rise,
          fall: SERVER_CHECK.fall,
          weight: s.weight,
          maxconn: options.maxconn,
          backup: s.backup,
          // Only servers of backends added at runtime (3.4) get here with a cookie (diff.ts).
          ...(options.cookie !== undefined ? { cookie: serverCookie(s.name) } : {}),
          protoH2: options.protocol === "h2c",
          checkProtoH2: options.protocol === "h2c" && options.check._tag === "Http"
        }))
        if (added._tag === "Failure") {
          const e = added.failure
          if (e._tag === "RuntimeCommandFailed" && /already exists/i.test(e.answer)) return yield* reuse(backend, s)
          return yield* Effect.fail(e)
        }
        yield* api.enableHealth(backend, s.name)
        yield* api.setServerState(backend, s.name, "ready")
      })

    // `del server` in rounds over every removed server: HAProxy purges idle connections after
    // `maint` asynchronously, and until then answers "Server still has connections attached to it".
    // A server that cannot be deleted stays in maintenance (no traffic); the next reload drops it.
    const deleteAll = (servers: ReadonlyArray<{ readonly backend: string; readonly name: string }>) =>
      Effect.gen(function*() {
        let pending = servers
        let lastError = ""
        for (let round = 1; pending.length > 0 && round <= deleteRounds; round++) {
          if (round > 1) yield* Effect.sleep("100 millis")
          const results = yield* Effect.forEach(
            pending,
            (s) => Effect.map(Effect.result(api.delServer(s.backend, s.name)), (r) => ({ s, r })),
            { concurrency }
          )
          pending = results.flatMap(({ s, r }) => {
            if (r._tag === "Success") return []
            // Already gone (deleted by an earlier attempt whose answer was lost, or by hand).
            if (r.failure._tag === "RuntimeCommandFailed" && /No such server/i.test(r.failure.answer)) return []
            lastError = r.failure.message
            return [s]
          })
        }
        if (pending.length > 0) {
          yield* Effect.logWarning("servers kept in maintenance until the next reload", {
            servers: sample(pending.map((s) => `${s.backend}/${s.name}`)),
            error: lastError
          })
        }
      })

    // Moved and removed servers leave together. All of them are set to drain first, so they share
    // one deadline however many backends there are. Then backend by backend: one wait for all of
    // its servers (until the deadline), maintenance (which also closes idle pooled connections:
    // HAProxy would otherwise keep reusing them after `set server addr`), moved ones re-pointed and
    // made ready. Removed ones are deleted last, all backends together.
    const leavingOf = (c: BackendChange) => [...c.moved.map((m) => m.after), ...c.removed].map((s) => s.name)
    const retire = (change: BackendChange, deadline: number) =>
      Effect.gen(function*() {
        const backend = change.backend
        const leaving = leavingOf(change)
        const timeout = Duration.millis(Math.max(0, deadline - (yield* Clock.currentTimeMillis)))
        const idle = yield* Effect.result(api.waitServersIdle(backend, leaving, { timeout }))
        if (idle._tag === "Failure") {
          yield* Effect.logWarning("could not watch the drain; going on", { backend, error: idle.failure.message })
        } else if (idle.success.length > 0) {
          yield* Effect.logWarning("servers still busy after the drain timeout; removing or re-pointing them anyway", {
            backend,
            servers: sample(idle.success.map((b) => `${b.server} (${b.sessions} sessions)`))
          })
        }
        yield* each(leaving, (name) => api.setServerState(backend, name, "maint"))
        yield* each(change.moved, ({ after: s }) =>
          Effect.andThen(
            api.setServerAddr(backend, s.name, s.address, s.port),
            api.setServerState(backend, s.name, "ready")
          ))
      })

    const steps = plan === undefined || options.backends === undefined ? undefined : makeBackendSteps({
      api,
      backends: options.backends,
      addServer: add,
      deleteServers: deleteAll,
      drainTimeout: Duration.fromInputUnsafe(drainTimeout),
      concurrency,
      deleteRounds
    })
    // New services are built and published, then every route changes; removed ones leave last.
    if (steps !== undefined && plan !== undefined) {
      yield* steps.addAll(plan)
      yield* steps.routes(plan, after)
    }

    // Additions first (capacity before removal), with new weights, then moves and removals.
    yield* each(
      diff.changedBackends.flatMap((c) => c.added.map((s) => ({ backend: c.backend, s }))),
      ({ backend, s }) => add(backend, s)
    )
    yield* each(
      diff.changedBackends.flatMap((c) => c.reweighted.map((m) => ({ backend: c.backend, s: m.after }))),
      ({ backend, s }) => api.setServerWeight(backend, s.name, s.weight)
    )
    const retiring = diff.changedBackends.filter((c) => c.moved.length + c.removed.length > 0)
    yield* each(
      retiring.flatMap((c) => leavingOf(c).map((name) => ({ backend: c.backend, name }))),
      ({ backend, name }) => api.setServerState(backend, name, "drain")
    )
    const deadline = (yield* Clock.currentTimeMillis) + Duration.toMillis(drainTimeout)
    yield* each(retiring, (c) => retire(c, deadline))
    yield* deleteAll(retiring.flatMap((c) => c.removed.map((s) => ({ backend: c.backend, name: s.name }))))

    // Read back: every desired server of a changed backend is there, at its address, ready.
    const wanted = new Map(after.backends.map((b) => [b.name, b]))
    yield* each(diff.changedBackends, (change) =>
      Effect.flatMap(api.showServersState(change.backend), (state) => {
        const problem = verifyBackend(state, wanted.get(change.backend)?.servers ?? [], change.removed)
        return problem === undefined ? Effect.void : Effect.fail(new RuntimeStateMismatch({ backend: change.backend, problem }))
      }))
    if (steps !== undefined && plan !== undefined) yield* steps.removeAll(plan.removed)
    return true
  })
