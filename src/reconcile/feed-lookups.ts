/**
 * The change feed's GetOperation calls: the services of operations listed for the first time, and
 * the status of unfinished ones a resumed listing has passed (./feed-tail.ts). An operation whose
 * service GetOperation does not name is placed by its instance (the reads' index); what cannot be
 * placed is counted, and makes the round check every revision (./feed-round.ts decides).
 */
import { Effect } from "effect"
import type { CloudMap, OperationSummary } from "../cloudmap/client.ts"
import { type FeedProblem, type PlacedOperation, placeByInstance, problemOf, type SeenOperation } from "./change-feed.ts"

/** GetOperation calls in flight at most. */
const LOOKUPS_IN_FLIGHT = 8

/**
 * The services of `fresh` operations by GetOperation, at most `max`; the rest wait (`skipped`, not
 * recorded, so a later round looks them up). `refused`: GetOperation was denied or refused.
 */
export const lookUp = (
  cloudMap: CloudMap["Service"],
  fresh: ReadonlyArray<OperationSummary>,
  serviceOfInstance: (id: string) => string | undefined,
  max: number
) =>
  Effect.gen(function*() {
    const budget = fresh.slice(0, max)
    const looked = yield* Effect.forEach(budget, (op) => Effect.result(cloudMap.getOperation(op.id)), { concurrency: LOOKUPS_IN_FLIGHT })
    const placed = new Map<string, PlacedOperation>()
    const skipped = new Set(fresh.slice(max).map((op) => op.id))
    let unplaced = 0
    let refused: { readonly problem: FeedProblem; readonly detail: string } | undefined
    looked.forEach((r, i) => {
      const id = budget[i]!.id
      if (r._tag === "Success") {
        const op = placeByInstance({ serviceId: r.success.serviceId, instanceId: r.success.instanceId }, serviceOfInstance)
        placed.set(id, op)
        if (op.serviceId === undefined) unplaced++
      } else if (r.failure.kind === "notFound") {
        // Gone already (retention): nothing tells its service; the round checks every revision.
        placed.set(id, { serviceId: undefined, instanceId: undefined })
        unplaced++
      } else {
        skipped.add(id)
        unplaced++
        const problem = problemOf(r.failure.kind)
        if (problem !== "transient") refused ??= { problem, detail: r.failure.message }
      }
    })
    return { placed, skipped, unplaced, refused }
  })

/**
 * Unfinished operations a resumed listing has passed, by GetOperation: a status change names its
 * service again (`operations` holds the new statuses to record). A failed lookup is tried again
 * next round.
 */
export const follow = (
  cloudMap: CloudMap["Service"],
  seen: ReadonlyMap<string, SeenOperation>,
  ids: ReadonlyArray<string>,
  serviceOfInstance: (id: string) => string | undefined
) =>
  Effect.gen(function*() {
    const looked = yield* Effect.forEach(ids, (id) => Effect.result(cloudMap.getOperation(id)), { concurrency: LOOKUPS_IN_FLIGHT })
    const operations: Array<OperationSummary> = []
    const placed = new Map<string, PlacedOperation>()
    const serviceIds = new Set<string>()
    let unplaced = 0
    looked.forEach((r, i) => {
      const id = ids[i]!
      const before = seen.get(id)
      if (r._tag === "Failure" || before === undefined || r.success.status === before.status) return
      const at = placeByInstance(
        { serviceId: before.serviceId ?? r.success.serviceId, instanceId: before.instanceId ?? r.success.instanceId },
        serviceOfInstance
      )
      operations.push({ id, status: r.success.status })
      placed.set(id, at)
      if (at.serviceId !== undefined) serviceIds.add(at.serviceId)
      else unplaced++
    })
    return { operations, placed, serviceIds, unplaced }
  })
