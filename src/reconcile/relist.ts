/**
 * Re-listing namespaces and services within a polling round (every SERVICE_LIST_RATE): services
 * that were deleted leave the snapshot, namespaces listed again after a failure are adopted. A
 * listing that fails keeps the known services (logged); a namespace that fails keeps its own.
 */
import { Effect } from "effect"
import type { CloudMap } from "../cloudmap/client.ts"
import { readTopology, type Topology } from "../cloudmap/discovery.ts"
import type { NamespaceMapping, Snapshot } from "../model/snapshot.ts"
import { adoptListedNamespaces, retainListedServices } from "./snapshot-update.ts"

export interface Relisted {
  readonly topology: Topology
  readonly snapshot: Snapshot
  /** Services removed plus namespaces adopted: changes that must be planned this round. */
  readonly structural: number
}

/**
 * Undefined when the listing failed (the known topology and snapshot stay). A namespace whose
 * services could not be listed keeps its entry of `previous` (its services are still checked,
 * not dropped from the rounds until a listing succeeds).
 */
export const relist = (
  snapshot: Snapshot,
  previous: Topology,
  mappings: ReadonlyArray<NamespaceMapping>,
  region: string
): Effect.Effect<Relisted | undefined, never, CloudMap> =>
  Effect.gen(function*() {
    const listed = yield* Effect.result(readTopology(mappings, region))
    if (listed._tag === "Failure") {
      yield* Effect.logWarning("Cloud Map service listing failed; keeping the known services", { error: listed.failure.message })
      return undefined
    }
    const topology: Topology = listed.success.map((t) => {
      if (t._tag !== "Failed" || t.listing !== true) return t
      const before = previous.find((p) => p._tag === "Ok" && p.mapping.namespace === t.mapping.namespace)
      return before?._tag === "Ok" ? { ...before, listingError: t.error } : t
    })
    const adopted = adoptListedNamespaces(snapshot, topology)
    const retained = retainListedServices(
      adopted.snapshot,
      topology.map((t) => ({
        mapping: t.mapping,
        serviceIds: t._tag === "Ok" ? new Set(t.services.map((s) => s.id)) : undefined
      }))
    )
    for (const t of listed.success) {
      if (t._tag === "Failed") {
        yield* Effect.logWarning("Cloud Map namespace could not be listed; keeping its known services", {
          namespace: t.mapping.namespace,
          error: t.error
        })
      }
    }
    return { topology, snapshot: retained.snapshot, structural: adopted.adopted + retained.removed }
  })
