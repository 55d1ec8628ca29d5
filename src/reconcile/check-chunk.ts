/**
 * One chunk of a polling round, as the round's plan says (./round-plan.ts): DiscoverInstances for
 * the services it reads outright (named by the change feed, or due by REFRESH_RATE),
 * DiscoverInstancesRevision for the others as one batch, then DiscoverInstances where the
 * revision differs from the one held (a service not in the snapshot yet has none: it is read).
 */
import { Effect } from "effect"
import type { CloudMap, NamespaceInfo, ServiceInfo } from "../cloudmap/client.ts"
import { readService } from "../cloudmap/discovery.ts"
import type { DiscoveredService, HealthFilter, NamespaceMapping } from "../model/snapshot.ts"
import { revisionIn, serviceKey, type ServiceUpdate } from "./snapshot-update.ts"

export interface KnownService {
  readonly mapping: NamespaceMapping
  readonly namespace: NamespaceInfo
  readonly service: ServiceInfo
}

export interface Checked {
  /** Cloud Map answered this call. */
  readonly reached: boolean
  readonly key: string
  /** The read, when the service was read. */
  readonly update: ServiceUpdate | undefined
}

export interface ChunkContext {
  readonly cloudMap: CloudMap["Service"]
  readonly healthFilter: HealthFilter
  /** The services read outright, by serviceKey; the others' revisions are checked first. */
  readonly reads: ReadonlySet<string>
  /** The snapshot's services by serviceKey (their revisions). */
  readonly held: ReadonlyMap<string, DiscoveredService>
  /** Services the change feed named (by serviceKey): read now, ahead of the others in the token buckets. */
  readonly first: ReadonlySet<string>
}

export const checkChunk = (chunk: ReadonlyArray<KnownService>, c: ChunkContext) =>
  Effect.gen(function*() {
    const keys = chunk.map((k) => serviceKey(k.mapping, k.service.id))
    const due: Array<number> = []
    const rest: Array<number> = []
    chunk.forEach((_, i) => (c.reads.has(keys[i]!) ? due : rest).push(i))
    const revisions = yield* c.cloudMap.discoverRevisions(
      rest.map((i) => ({ httpName: chunk[i]!.namespace.httpName, serviceName: chunk[i]!.service.name }))
    )
    const out: Array<Checked> = []
    const toRead = [...due]
    rest.forEach((i, j) => {
      const r = revisions[j]!
      const { mapping, service } = chunk[i]!
      if (r._tag === "Success" && r.success !== revisionIn(c.held, mapping, service.id)) toRead.push(i)
      else out.push({ reached: r._tag === "Success", key: keys[i]!, update: undefined })
    })
    const reads = yield* Effect.forEach(toRead, (i) => {
      const { mapping, namespace, service } = chunk[i]!
      return Effect.map(readService(namespace, service, c.healthFilter, c.first.has(keys[i]!)), (fresh): Checked => ({
        reached: fresh._tag === "Ok",
        key: keys[i]!,
        update: { mapping, service: fresh }
      }))
    }, { concurrency: c.cloudMap.concurrency })
    return [...out, ...reads]
  })
