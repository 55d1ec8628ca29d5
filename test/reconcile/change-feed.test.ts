import { describe, expect, it } from "vitest"
import {
  afterFailure,
  afterWalk,
  AHEAD_MS,
  classifyListing,
  FAILURES_BEFORE_FALLBACK,
  feedDue,
  initialFeedState,
  OVERLAP_MS,
  problemOf,
  SEEN_FOR_MS,
  windowAt
} from "../../src/reconcile/change-feed.ts"

const settings = { retrySeconds: 300 }

describe("change feed state", () => {
  it("lists from the last walked round's start minus the overlap, to a minute ahead", () => {
    const s = { ...initialFeedState(true), since: 100_000 }
    expect(windowAt(s, 102_000)).toEqual({ from: 100_000 - OVERLAP_MS, to: 102_000 + AHEAD_MS, unit: "seconds" })
    // No round yet: from now (minus the overlap).
    expect(windowAt(initialFeedState(true), 5_000).from).toBe(5_000 - OVERLAP_MS)
  })

  it("counts an operation once when first listed and again when its status changes, never for a repeat", () => {
    let s = initialFeedState(true)
    const first = classifyListing(s, [{ id: "op-1", status: "SUBMITTED" }, { id: "op-1", status: "SUBMITTED" }])
    expect(first.fresh.map((o) => o.id)).toEqual(["op-1"])
    s = afterWalk(s, 1_000, [{ id: "op-1", status: "SUBMITTED" }], new Map([["op-1", { serviceId: "srv-web", instanceId: "web-9" }]]), new Set())
    // Listed again in the overlapping window, same status: nothing.
    expect(classifyListing(s, [{ id: "op-1", status: "SUBMITTED" }])).toEqual({ fresh: [], statusChanged: [] })
    // It ended: its service (known from the first lookup) changed again, no new lookup.
    expect(classifyListing(s, [{ id: "op-1", status: "SUCCESS" }])).toEqual({
      fresh: [],
      statusChanged: [{ id: "op-1", status: "SUCCESS", serviceId: "srv-web", instanceId: "web-9" }]
    })
    s = afterWalk(s, 3_000, [{ id: "op-1", status: "SUCCESS" }], new Map(), new Set())
    expect(s.seen.get("op-1")).toEqual({ status: "SUCCESS", serviceId: "srv-web", instanceId: "web-9", listedAt: 3_000, firstListedAt: 1_000 })
    expect(s.since).toBe(3_000)
  })

  it("forgets operations that left every window, and does not record lookups that failed", () => {
    let s = afterWalk(initialFeedState(true), 0, [{ id: "a", status: "SUCCESS" }, { id: "b", status: "SUCCESS" }], new Map([["a", { serviceId: "srv-a", instanceId: undefined }]]), new Set(["b"]))
    expect([...s.seen.keys()]).toEqual(["a"])
    s = afterWalk(s, SEEN_FOR_MS - 1, [], new Map(), new Set())
    expect(s.seen.has("a")).toBe(true)
    s = afterWalk(s, SEEN_FOR_MS, [], new Map(), new Set())
    expect(s.seen.has("a")).toBe(false)
  })

  it("becomes unavailable at once when denied, throttled or paging too far, and is retried later", () => {
    for (const problem of ["denied", "throttled", "pages"] as const) {
      const s = afterFailure(initialFeedState(true), 10_000, { problem, detail: "x" }, settings)
      expect(s.mode).toEqual({ _tag: "Unavailable", problem, detail: "x", since: 10_000, retryAt: 310_000 })
      expect(feedDue(s, 309_999)).toBe(false)
      expect(feedDue(s, 310_000)).toBe(true)
    }
  })

  it("tolerates transient failures until FAILURES_BEFORE_FALLBACK in a row; a walk resets the count", () => {
    let s = initialFeedState(true)
    for (let i = 1; i < FAILURES_BEFORE_FALLBACK; i++) {
      s = afterFailure(s, i, { problem: "transient", detail: "5xx" }, settings)
      expect(s.mode._tag).toBe("Active")
    }
    expect(afterWalk(s, 10, [], new Map(), new Set()).failuresInARow).toBe(0)
    s = afterFailure(s, 10, { problem: "transient", detail: "5xx" }, settings)
    expect(s.mode).toMatchObject({ _tag: "Unavailable", problem: "failing" })
  })

  it("keeps the first unavailable time across failed retries and is active again after a walk", () => {
    let s = afterFailure(initialFeedState(true), 1_000, { problem: "denied", detail: "no" }, settings)
    s = afterFailure(s, 301_000, { problem: "transient", detail: "5xx" }, settings)
    expect(s.mode).toMatchObject({ _tag: "Unavailable", problem: "failing", since: 1_000, retryAt: 601_000 })
    expect(afterWalk(s, 601_000, [], new Map(), new Set()).mode).toEqual({ _tag: "Active" })
  })

  it("off stays off and is never due", () => {
    const s = initialFeedState(false)
    expect(feedDue(s, 0)).toBe(false)
    expect(afterWalk(s, 0, [], new Map(), new Set()).mode).toEqual({ _tag: "Off" })
  })

  it("maps Cloud Map's error kinds to problems", () => {
    expect(problemOf("denied")).toBe("denied")
    expect(problemOf("throttled")).toBe("throttled")
    expect(problemOf("transient")).toBe("transient")
    expect(problemOf("invalid")).toBe("failing")
  })
})
