/**
 * Each NAMESPACE_MAP entry as the agent last saw it: found by the last listing, and fully read
 * (every service read at least once, so its routes are known). Pure; readiness and /status use it.
 */
import type { Topology } from "../cloudmap/discovery.ts"
import { mappingKey, type NamespaceMapping, type Snapshot } from "../model/snapshot.ts"
import type { NamespaceState } from "../status/status.ts"

export const namespaceStates = (
  mappings: ReadonlyArray<NamespaceMapping>,
  topology: Topology | undefined,
  snapshot: Snapshot | undefined,
  /** Why the listing itself failed, when there is no topology yet. */
  listingError: string | undefined
): ReadonlyArray<NamespaceState> =>
  mappings.map((mapping) => {
    const key = mappingKey(mapping)
    const listed = topology?.find((t) => mappingKey(t.mapping) === key)
    const held = snapshot?.namespaces.find((n) => mappingKey(n.mapping) === key)
    const unread = held?._tag === "Ok" ? held.services.filter((s) => s._tag === "Failed") : []
    const read = held?._tag === "Ok" && unread.length === 0
    const base = { namespace: mapping.namespace, domain: mapping.domain, mode: mapping.mode }
    if (listed === undefined) {
      return { ...base, found: false, read, error: listingError ?? `namespace ${JSON.stringify(mapping.namespace)} not listed yet` }
    }
    if (listed._tag === "Failed") return { ...base, found: false, read, error: listed.error }
    // Its services could not be listed again: reported like a failed listing, its known ones still checked.
    if (listed.listingError !== undefined) return { ...base, found: false, read, error: listed.listingError }
    if (!read) {
      const first = unread[0]
      return {
        ...base,
        found: true,
        read,
        error: first?._tag === "Failed"
          ? `namespace ${JSON.stringify(mapping.namespace)}: ${unread.length} service(s) not read yet (${JSON.stringify(first.name)}: ${first.error})`
          : `namespace ${JSON.stringify(mapping.namespace)} not read yet`
      }
    }
    return { ...base, found: true, read }
  })

/** Every mapped namespace is fully read in this snapshot. */
export const allRead = (states: ReadonlyArray<NamespaceState>): boolean => states.every((n) => n.read)
