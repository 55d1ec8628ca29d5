/**
 * What changed, instance by instance, in words an operator can act on: which instance of which
 * route, and why the agent changed it (as far as Cloud Map's answer tells). Shown in
 * `recentChanges` on /status and the status page. Pure.
 */
import type { Backend, Desired, Server } from "../model/desired.ts"
import type { DesiredDiff } from "./diff.ts"

/** At most this many lines per change; the rest is counted. */
export const MAX_INSTANCE_CHANGES = 10

const at = (s: Server) => `${s.address.includes(":") ? `[${s.address}]` : s.address}:${s.port}${s.zone === undefined ? "" : ` (${s.zone})`}`

/** Why a server's weight changed: zone affinity moved traffic, or the instance's haproxy.weight. */
const weightCause = (backend: Backend | undefined, before: Server, after: Server): string => {
  const zone = backend?.zone
  if (zone !== undefined && after.zone === zone.zone && !after.backup) {
    if (after.weight === 0 && !zone.inZone) {
      return `zone ${zone.zone} fails over to the other zones (${zone.localHealthy} of ${zone.local} healthy in it by Cloud Map)`
    }
    if (before.weight === 0 && zone.inZone) return `zone ${zone.zone} serves again (${zone.localHealthy} of ${zone.local} healthy)`
  }
  return "its haproxy.weight attribute"
}

/** One line per instance added, removed, moved or reweighted, and per service added or removed. */
export const instanceChanges = (diff: DesiredDiff, before: Desired | undefined, after: Desired): ReadonlyArray<string> => {
  const routeOf = (desired: Desired | undefined, backend: string) => desired?.backends.find((b) => b.name === backend)?.route ?? backend
  const lines: Array<string> = [
    ...diff.addedBackends.map((b) => `new route ${routeOf(after, b)}: a new service in Cloud Map`),
    ...diff.removedBackends.map((b) => `route ${routeOf(before, b)} removed: its service is gone from Cloud Map`)
  ]
  for (const change of diff.changedBackends) {
    const route = routeOf(after, change.backend)
    const backend = after.backends.find((b) => b.name === change.backend)
    for (const s of change.added) lines.push(`${route}: + ${s.instanceId} ${at(s)}: new in Cloud Map's answer (registered, or healthy again)`)
    for (const s of change.removed) {
      lines.push(`${route}: - ${s.instanceId} ${at(s)}: gone from Cloud Map's answer (deregistered, or no longer healthy there)`)
    }
    for (const m of change.moved) lines.push(`${route}: ~ ${m.after.instanceId} ${at(m.before)} -> ${at(m.after)}: its address or port changed in Cloud Map`)
    for (const m of change.reweighted) {
      lines.push(`${route}: weight of ${m.after.instanceId} ${m.before.weight} -> ${m.after.weight}: ${weightCause(backend, m.before, m.after)}`)
    }
  }
  return lines.length <= MAX_INSTANCE_CHANGES
    ? lines
    : [...lines.slice(0, MAX_INSTANCE_CHANGES), `and ${lines.length - MAX_INSTANCE_CHANGES} more`]
}
