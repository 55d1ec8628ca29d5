/**
 * readDueAttributes against a scripted Cloud Map: only due services are read, first reads can be
 * spread (backdated by a random share of the interval, deterministic here with a scripted
 * Random), a failed read keeps what was read before and is retried RETRY_MS later, services no
 * longer listed are forgotten, and `changed` counts services whose attributes are new or different.
 */
import { Effect, Layer, Logger, Random } from "effect"
import { describe, expect, it } from "vitest"
import { CloudMap, CloudMapError } from "../../src/cloudmap/client.ts"
import type { IgnoredOption } from "../../src/model/service-options.ts"
import {
  type AttributeBook,
  emptyAttributeBook,
  readDueAttributes,
  reportIgnoredOptions,
  RETRY_MS,
  serviceIdsOf
} from "../../src/reconcile/service-attributes.ts"

interface World {
  attributes: Record<string, Record<string, string>>
  /** Service ids whose read fails. */
  failing: Set<string>
  calls: Array<string>
  inFlight: number
  peak: number
}

const world = (attributes: Record<string, Record<string, string>> = {}): World =>
  ({ attributes, failing: new Set(), calls: [], inFlight: 0, peak: 0 })

const fakeCloudMap = (w: World, concurrency = 8) =>
  Layer.succeed(CloudMap, {
    getServiceAttributes: (id: string) =>
      Effect.gen(function*() {
        w.calls.push(id)
        w.inFlight++
        w.peak = Math.max(w.peak, w.inFlight)
        yield* Effect.sleep(1)
        w.inFlight--
        if (w.failing.has(id)) {
          return yield* Effect.fail(new CloudMapError({ operation: "GetServiceAttributes", code: "Throttling", message: `throttled ${id}`, kind: "throttled" }))
        }
        return { ...w.attributes[id] }
      }),
    concurrency
  } as unknown as CloudMap["Service"])

/** Random.next answers these values in turn. */
const scriptedRandom = (values: ReadonlyArray<number>): Random.Random => {
  let i = 0
  return { nextDoubleUnsafe: () => values[i++ % values.length]!, nextIntUnsafe: () => 0 }
}

const read = (
  w: World,
  book: AttributeBook,
  ids: ReadonlyArray<string>,
  now: number,
  options: { readonly intervalMs?: number; readonly spread?: boolean; readonly random?: ReadonlyArray<number>; readonly concurrency?: number } = {}
) =>
  Effect.runPromise(
    readDueAttributes(book, ids, now, options.intervalMs ?? 60_000, options.spread ?? false).pipe(
      Effect.provide(fakeCloudMap(w, options.concurrency)),
      Effect.provideService(Random.Random, scriptedRandom(options.random ?? [0]))
    )
  )

const T = 1_000_000

describe("readDueAttributes", () => {
  it("reads every never-read service; a first read counts as changed, even an empty one", async () => {
    const w = world({ "srv-a": { "haproxy.check": "http" }, "srv-b": {} })
    const r = await read(w, emptyAttributeBook, ["srv-a", "srv-b"], T)
    expect(w.calls.sort()).toEqual(["srv-a", "srv-b"])
    expect(r.changed).toBe(2)
    expect([r.failed, r.firstError]).toEqual([0, undefined])
    expect(r.book.values).toEqual(new Map([["srv-a", { "haproxy.check": "http" }], ["srv-b", {}]]))
    expect(r.book.readAt).toEqual(new Map([["srv-a", T], ["srv-b", T]]))
  })

  it("reads again only what is due: at intervalMs after the last read, not before", async () => {
    const w = world({ "srv-a": { x: "1" }, "srv-b": { y: "2" } })
    const book: AttributeBook = { values: new Map([["srv-a", { x: "1" }], ["srv-b", { y: "2" }]]), readAt: new Map([["srv-a", T], ["srv-b", T - 30_000]]) }
    const early = await read(w, book, ["srv-a", "srv-b"], T + 29_999)
    expect(w.calls).toEqual([])
    expect(early.changed).toBe(0)
    expect(early.book).toEqual(book)
    const due = await read(w, book, ["srv-a", "srv-b"], T + 30_000)
    expect(w.calls).toEqual(["srv-b"])
    expect(due.changed).toBe(0) // same attributes
    expect(due.book.readAt).toEqual(new Map([["srv-a", T], ["srv-b", T + 30_000]]))
  })

  it("changed counts services whose attributes differ: a value, an added key, a removed key", async () => {
    const old = { "haproxy.check": "http", "haproxy.maxconn": "5" }
    const w = world({
      same: { "haproxy.maxconn": "5", "haproxy.check": "http" }, // other key order
      value: { "haproxy.check": "tcp", "haproxy.maxconn": "5" },
      added: { ...old, "haproxy.cookie": "S" },
      removed: { "haproxy.check": "http" },
      emptied: {}
    })
    const ids = ["same", "value", "added", "removed", "emptied"]
    const book: AttributeBook = { values: new Map(ids.map((id) => [id, old])), readAt: new Map(ids.map((id) => [id, T - 60_000])) }
    const r = await read(w, book, ids, T)
    expect(r.changed).toBe(4)
    expect(r.book.values.get("emptied")).toEqual({})
    expect(r.book.values.get("added")).toEqual(w.attributes["added"])
  })

  it("spread: first reads are backdated by a random share of the interval (so they fall due apart)", async () => {
    const w = world({ a: {}, b: {}, c: {} })
    const r = await read(w, emptyAttributeBook, ["a", "b", "c"], T, { spread: true, random: [0, 0.5, 0.999] })
    expect(r.book.readAt).toEqual(new Map([["a", T], ["b", T - 30_000], ["c", T - 59_940]]))
    // Next time they fall due at different rounds: c after 60 ms, b after 30 s, a after 60 s.
    const next = await read(world({ a: {}, b: {}, c: {} }), r.book, ["a", "b", "c"], T + 60)
    expect([...next.book.readAt].filter(([, at]) => at === T + 60).map(([id]) => id)).toEqual(["c"])
  })

  it("without spread every read is recorded at `now`, whatever Random says", async () => {
    const r = await read(world({ a: {} }), emptyAttributeBook, ["a"], T, { spread: false, random: [0.7] })
    expect(r.book.readAt.get("a")).toBe(T)
  })

  it("a failed read keeps the values from before (fail static), counts, and is retried RETRY_MS later, not every round", async () => {
    const w = world({ a: { v: "new" }, b: { v: "b" }, c: { v: "c" } })
    w.failing = new Set(["a", "c"])
    const book: AttributeBook = { values: new Map([["a", { v: "old" }]]), readAt: new Map([["a", T - 60_000]]) }
    const r = await read(w, book, ["a", "b", "c"], T)
    expect(r.failed).toBe(2)
    expect(r.firstError).toBe("throttled a")
    expect(r.changed).toBe(1) // b's first read
    expect(r.book.values).toEqual(new Map([["a", { v: "old" }], ["b", { v: "b" }]]))
    // Recorded so that they fall due RETRY_MS from now.
    expect(r.book.readAt).toEqual(new Map([["a", T - 60_000 + RETRY_MS], ["b", T], ["c", T - 60_000 + RETRY_MS]]))
    w.failing.clear()
    w.calls = []
    const soon = await read(w, r.book, ["a", "b", "c"], T + RETRY_MS - 1)
    expect(w.calls).toEqual([])
    expect(soon.book.values.get("a")).toEqual({ v: "old" })
    const again = await read(w, r.book, ["a", "b", "c"], T + RETRY_MS)
    expect(w.calls.sort()).toEqual(["a", "c"])
    expect([again.failed, again.changed]).toEqual([0, 2])
    expect(again.book.values.get("a")).toEqual({ v: "new" })
    expect(again.book.readAt.get("a")).toBe(T + RETRY_MS)
  })

  it("with an interval shorter than RETRY_MS a failed read is retried after the interval", async () => {
    const w = world({ a: {} })
    w.failing = new Set(["a"])
    const r = await read(w, emptyAttributeBook, ["a"], T, { intervalMs: 5_000 })
    expect(r.book.readAt.get("a")).toBe(T)
    expect(r.book.values.has("a")).toBe(false)
    w.calls = []
    await read(w, r.book, ["a"], T + 4_999, { intervalMs: 5_000 })
    expect(w.calls).toEqual([])
    await read(w, r.book, ["a"], T + 5_000, { intervalMs: 5_000 })
    expect(w.calls).toEqual(["a"])
  })

  it("services no longer listed are forgotten, values and read times", async () => {
    const book: AttributeBook = {
      values: new Map([["a", { k: "1" }], ["gone", { k: "2" }]]),
      readAt: new Map([["a", T], ["gone", T]])
    }
    const w = world({ a: { k: "1" } })
    const r = await read(w, book, ["a"], T + 1)
    expect(w.calls).toEqual([])
    expect(r.book.values).toEqual(new Map([["a", { k: "1" }]]))
    expect(r.book.readAt).toEqual(new Map([["a", T]]))
    expect(r.changed).toBe(0)
    const none = await read(w, book, [], T + 1)
    expect([none.book.values.size, none.book.readAt.size]).toEqual([0, 0])
  })

  it("a failed service that is no longer listed is forgotten too", async () => {
    const w = world({})
    w.failing = new Set(["a"])
    const book: AttributeBook = { values: new Map([["a", { k: "1" }]]), readAt: new Map([["a", T - 60_000]]) }
    const r = await read(w, book, [], T)
    expect(w.calls).toEqual([])
    expect(r.book).toEqual({ values: new Map(), readAt: new Map() })
  })

  it("reads at most the client's concurrency at once", async () => {
    const ids = Array.from({ length: 20 }, (_, i) => `s${i}`)
    const w = world(Object.fromEntries(ids.map((id) => [id, {}])))
    await read(w, emptyAttributeBook, ids, T, { concurrency: 3 })
    expect(w.calls.length).toBe(20)
    expect(w.peak).toBeLessThanOrEqual(3)
    expect(w.peak).toBeGreaterThan(1)
  })

  it("does not change the book it was given", async () => {
    const book: AttributeBook = { values: new Map([["a", { k: "1" }], ["gone", {}]]), readAt: new Map([["a", T - 60_000], ["gone", T]]) }
    const copy = structuredClone(book)
    await read(world({ a: { k: "2" } }), book, ["a"], T)
    expect(book).toEqual(copy)
  })
})

describe("serviceIdsOf", () => {
  it("every service id of the namespaces that could be listed", () => {
    expect(serviceIdsOf([
      { _tag: "Ok", services: [{ id: "a" }, { id: "b" }] },
      { _tag: "Failed" },
      { _tag: "Ok", services: [{ id: "c" }] }
    ])).toEqual(["a", "b", "c"])
  })
})

describe("reportIgnoredOptions", () => {
  const option = (key: string, reason = "bad"): IgnoredOption => ({ namespace: "apps", service: "web", key, reason })
  const logged = async (before: ReadonlyArray<IgnoredOption>, now: ReadonlyArray<IgnoredOption>) => {
    const lines: Array<unknown> = []
    const logger = Logger.make(({ message }) => lines.push(message))
    await Effect.runPromise(reportIgnoredOptions(before, now).pipe(Effect.provide(Logger.layer([logger]))))
    return lines
  }

  it("logs each ignored option once, when it first appears (a new reason is new)", async () => {
    expect(await logged([], [option("haproxy.chek")])).toHaveLength(1)
    expect(await logged([option("haproxy.chek")], [option("haproxy.chek")])).toHaveLength(0)
    expect(await logged([option("haproxy.chek")], [option("haproxy.chek"), option("haproxy.cokie")])).toHaveLength(1)
    expect(await logged([option("haproxy.maxconn", "a")], [option("haproxy.maxconn", "b")])).toHaveLength(1)
    expect(await logged([option("haproxy.weight")], [{ ...option("haproxy.weight"), instanceId: "i-1" }])).toHaveLength(1)
  })
})
