/**
 * What changed between two Desired states, per backend and per route. Pure. Used to name the
 * reason of every reload and to decide whether a change can go through the runtime API.
 */
import { Equal } from "effect"
import type { Backend, Desired, Server } from "../model/desired.ts"

export interface ServerMove {
  readonly before: Server
  readonly after: Server
}

export interface BackendChange {
  readonly backend: string
  readonly added: ReadonlyArray<Server>
  readonly removed: ReadonlyArray<Server>
  /** Same server name, new address or port. */
  readonly moved: ReadonlyArray<ServerMove>
  /** Same server name and address, new weight (`haproxy.weight`, zone affinity). */
  readonly reweighted: ReadonlyArray<ServerMove>
}

export interface DesiredDiff {
  readonly addedBackends: ReadonlyArray<string>
  readonly removedBackends: ReadonlyArray<string>
  readonly changedBackends: ReadonlyArray<BackendChange>
  readonly hostRoutesChanged: boolean
  readonly pathRoutesChanged: boolean
  /**
   * Backends whose settings only a reload applies: their options changed, a server became or
   * stopped being a backup, or a server was added to a sticky (cookie) backend (HAProxy 2.6
   * takes no cookie on a server added at runtime). (`balance source` is rendered with
   * `hash-type consistent`, a dynamic algorithm, so its servers change at runtime like any other.)
   */
  readonly reloadBackends: ReadonlyArray<string>
}

const byName = <A extends { readonly name: string }>(xs: ReadonlyArray<A>) => new Map(xs.map((x) => [x.name, x]))

const diffServers = (before: Backend, after: Backend): BackendChange => {
  const a = byName(before.servers)
  const b = byName(after.servers)
  return {
    backend: after.name,
    added: after.servers.filter((s) => !a.has(s.name)),
    removed: before.servers.filter((s) => !b.has(s.name)),
    moved: after.servers.flatMap((s) => {
      const old = a.get(s.name)
      return old !== undefined && (old.address !== s.address || old.port !== s.port) ? [{ before: old, after: s }] : []
    }),
    reweighted: after.servers.flatMap((s) => {
      const old = a.get(s.name)
      return old !== undefined && old.weight !== s.weight ? [{ before: old, after: s }] : []
    })
  }
}

/** Whether `after` differs from `before` in something only a reload applies (see reloadBackends). */
const needsBackendReload = (before: Backend, after: Backend, change: BackendChange): boolean => {
  if (!Equal.equals(before.options, after.options)) return true
  if ((before.zone === undefined) !== (after.zone === undefined)) return true
  if (after.options.cookie !== undefined && change.added.length > 0) return true
  const old = new Map(before.servers.map((s) => [s.name, s]))
  return after.servers.some((s) => {
    const o = old.get(s.name)
    return o !== undefined && o.backup !== s.backup
  })
}

/** Same routes in the same order (structural equality: the order of an entry's fields does not count). */
const sameRoutes = <A>(x: ReadonlyArray<A>, y: ReadonlyArray<A>) => Equal.equals(x, y)

export const diffDesired = (before: Desired | undefined, after: Desired): DesiredDiff => {
  const a = byName(before?.backends ?? [])
  const b = byName(after.backends)
  return {
    addedBackends: after.backends.filter((x) => !a.has(x.name)).map((x) => x.name),
    removedBackends: (before?.backends ?? []).filter((x) => !b.has(x.name)).map((x) => x.name),
    changedBackends: after.backends.flatMap((x) => {
      const old = a.get(x.name)
      if (old === undefined) return []
      const change = diffServers(old, x)
      return change.added.length + change.removed.length + change.moved.length + change.reweighted.length > 0 ? [change] : []
    }),
    reloadBackends: after.backends.flatMap((x) => {
      const old = a.get(x.name)
      return old !== undefined && needsBackendReload(old, x, diffServers(old, x)) ? [x.name] : []
    }),
    hostRoutesChanged: !sameRoutes(before?.hostRoutes ?? [], after.hostRoutes),
    pathRoutesChanged: !sameRoutes(before?.pathRoutes ?? [], after.pathRoutes)
  }
}

/** New or removed backends, changed routes or backend settings: only a reload can apply these (HAProxy 2.6+). */
export const needsReload = (d: DesiredDiff): boolean =>
  d.addedBackends.length > 0 || d.removedBackends.length > 0 || d.hostRoutesChanged || d.pathRoutesChanged ||
  d.reloadBackends.length > 0

/** Short human reason, e.g. `new service be_a.example.com; instances of be_web.example.com (+1 -0 ~0)`. */
export const describeDiff = (d: DesiredDiff, limit = 5): string => {
  const parts: Array<string> = []
  const list = (xs: ReadonlyArray<string>) => xs.slice(0, limit).join(", ") + (xs.length > limit ? ` and ${xs.length - limit} more` : "")
  if (d.addedBackends.length > 0) parts.push(`new service ${list(d.addedBackends)}`)
  if (d.removedBackends.length > 0) parts.push(`removed service ${list(d.removedBackends)}`)
  if (d.reloadBackends.length > 0) parts.push(`options of ${list(d.reloadBackends)}`)
  if (d.changedBackends.length > 0) {
    parts.push(
      `instances of ${
        list(d.changedBackends.map((c) =>
          `${c.backend} (+${c.added.length} -${c.removed.length} ~${c.moved.length}` +
          (c.reweighted.length > 0 ? ` weight ${c.reweighted.length})` : ")")
        ))
      }`
    )
  }
  if (parts.length === 0 && (d.hostRoutesChanged || d.pathRoutesChanged)) parts.push("routes")
  return parts.length === 0 ? "settings" : parts.join("; ")
}

/** A coarse label for metrics (bounded cardinality). */
export const reasonLabel = (d: DesiredDiff): string =>
  d.addedBackends.length > 0
    ? "new_service"
    : d.removedBackends.length > 0
    ? "removed_service"
    : d.reloadBackends.length > 0
    ? "options"
    : d.changedBackends.length > 0
    ? "instances"
    : d.hostRoutesChanged || d.pathRoutesChanged
    ? "routes"
    : "settings"

/**
 * What of `wanted` the runtime API can apply over `served` now, as a whole desired state: the
 * servers (and weights) of every backend both have whose settings did not change; everything
 * else (new and removed backends, routes, backends whose options changed) stays as served. A
 * state that needs a reload the apply loop must pace applies this part at once, so instance
 * changes of existing services never wait for someone else's reload.
 */
export const runtimePart = (served: Desired, wanted: Desired): Desired => {
  const d = diffDesired(served, wanted)
  const later = new Set(d.reloadBackends)
  const next = new Map(wanted.backends.map((b) => [b.name, b]))
  return {
    ...served,
    backends: served.backends.map((b) => {
      const w = next.get(b.name)
      return w === undefined || later.has(b.name) ? b : { ...b, servers: w.servers, zone: w.zone }
    })
  }
}
