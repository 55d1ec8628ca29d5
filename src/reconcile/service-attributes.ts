/**
 * Service attributes (GetServiceAttributes), where the routing options live. They change
 * rarely, so each service's are read on their own slow cadence (SERVICE_ATTRIBUTES_RATE), each
 * service at its own phase, and a new service's before it is first routed. A failed read keeps
 * what was read before (fail static) and is tried again after RETRY_MS (or the interval, when
 * shorter), not every round: a missing IAM permission must not double the calls; a service
 * that was never read is routed with the defaults meanwhile.
 */
import { Effect, Random } from "effect"
import { CloudMap } from "../cloudmap/client.ts"
import type { IgnoredOption } from "../model/service-options.ts"
import { isDue, spreadReadAt } from "./read-schedule.ts"

export interface AttributeBook {
  /** By service id. */
  readonly values: ReadonlyMap<string, Readonly<Record<string, string>>>
  /** When each service's attributes were last read (epoch ms, backdated to spread the reads). */
  readonly readAt: ReadonlyMap<string, number>
}

/** A failed read is tried again this long after (at most the interval). */
export const RETRY_MS = 30_000

export const emptyAttributeBook: AttributeBook = { values: new Map(), readAt: new Map() }

export interface AttributeRead {
  readonly book: AttributeBook
  /** Services whose attributes are not what they were (a new service's first read counts). */
  readonly changed: number
  /** Reads that failed, with the first error. */
  readonly failed: number
  readonly firstError: string | undefined
}

const sameAttributes = (a: Readonly<Record<string, string>> | undefined, b: Readonly<Record<string, string>>) => {
  if (a === undefined) return Object.keys(b).length === 0
  const ka = Object.keys(a)
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k])
}

/**
 * Of `serviceIds`, those whose attributes are due: never read, or read `intervalMs` ago. `which`:
 * "new" only services never read (routed with their options from the start), "known" only the
 * others. Pure.
 */
export const dueAttributes = (
  readAt: ReadonlyMap<string, number>,
  serviceIds: ReadonlyArray<string>,
  now: number,
  intervalMs: number,
  which: "all" | "new" | "known" = "all"
): ReadonlyArray<string> =>
  serviceIds.filter((id) => {
    const at = readAt.get(id)
    return (which === "all" || (which === "new") === (at === undefined)) && isDue(at, now, intervalMs)
  })

/**
 * Reads the attributes of the listed services that are due (never read, or read `intervalMs`
 * ago) and forgets services no longer listed. `spread`: the reads of services read together for
 * the first time are backdated by a random share of the interval, so they fall due apart.
 */
export const readDueAttributes = (
  book: AttributeBook,
  serviceIds: ReadonlyArray<string>,
  now: number,
  intervalMs: number,
  spread: boolean,
  /** "new": only services never read (routed with their options from the start); "known": only the others. */
  which: "all" | "new" | "known" = "all"
): Effect.Effect<AttributeRead, never, CloudMap> =>
  readAttributes(book, serviceIds, dueAttributes(book.readAt, serviceIds, now, intervalMs, which), now, intervalMs, spread)

/**
 * Reads the attributes of `due` (which a round planned: ./round-plan.ts) and forgets services no
 * longer listed (`serviceIds`). A failed read is tried again after RETRY_MS (or `intervalMs`).
 */
export const readAttributes = (
  book: AttributeBook,
  serviceIds: ReadonlyArray<string>,
  due: ReadonlyArray<string>,
  now: number,
  intervalMs: number,
  spread: boolean
): Effect.Effect<AttributeRead, never, CloudMap> =>
  Effect.gen(function*() {
    const cloudMap = yield* CloudMap
    const results = yield* Effect.forEach(due, (id) => Effect.result(cloudMap.getServiceAttributes(id)), {
      concurrency: cloudMap.concurrency
    })
    const listed = new Set(serviceIds)
    const values = new Map([...book.values].filter(([id]) => listed.has(id)))
    const readAt = new Map([...book.readAt].filter(([id]) => listed.has(id)))
    let changed = 0
    let failed = 0
    let firstError: string | undefined
    for (let i = 0; i < due.length; i++) {
      const id = due[i]!
      const r = results[i]!
      if (r._tag === "Failure") {
        failed++
        firstError ??= r.failure.message
        readAt.set(id, now - intervalMs + Math.min(intervalMs, RETRY_MS))
        continue
      }
      if (!values.has(id) || !sameAttributes(values.get(id), r.success)) changed++
      values.set(id, r.success)
      readAt.set(id, spread ? spreadReadAt(now, intervalMs, yield* Random.next) : now)
    }
    return { book: { values, readAt }, changed, failed, firstError }
  })

/** Every service id of a topology (Topology from ../cloudmap/discovery.ts). */
export const serviceIdsOf = (
  topology: ReadonlyArray<{ readonly _tag: "Ok"; readonly services: ReadonlyArray<{ readonly id: string }> } | { readonly _tag: "Failed" }>
): ReadonlyArray<string> => topology.flatMap((t) => (t._tag === "Ok" ? t.services.map((s) => s.id) : []))

export const reportAttributeFailures = (read: AttributeRead): Effect.Effect<void> =>
  read.failed === 0 ? Effect.void : Effect.logWarning("service attributes could not be read; keeping the options read before", {
    failed: read.failed,
    error: read.firstError
  })

const optionKey = (o: IgnoredOption) => JSON.stringify([o.namespace, o.service, o.instanceId ?? null, o.key, o.reason])

/** Logs each ignored option once, when it first appears (the gauge follows what is applied: ../apply/apply-loop.ts). */
export const reportIgnoredOptions = (
  before: ReadonlyArray<IgnoredOption>,
  now: ReadonlyArray<IgnoredOption>
): Effect.Effect<void> =>
  Effect.gen(function*() {
    const seen = new Set(before.map(optionKey))
    for (const o of now) if (!seen.has(optionKey(o))) yield* Effect.logWarning("routing option ignored", { ...o })
  })
