/** The resumed listing's pure rules: where the next round starts, and which operations are followed. */
import { describe, expect, it } from "vitest"
import type { SeenOperation } from "../../src/reconcile/change-feed.ts"
import { afterTailPages, FOLLOW_MS, startTail, TAIL_SPAN_MS, toFollow } from "../../src/reconcile/feed-tail.ts"

const seen = (status: string, serviceId: string | undefined, firstListedAt: number): SeenOperation => ({
  status,
  serviceId,
  instanceId: undefined,
  listedAt: firstListedAt,
  firstListedAt
})

describe("resumed listing", () => {
  it("fixes its window from where the feed stood to far ahead, and starts from the first page", () => {
    expect(startTail(1_000, 5_000, "seconds")).toEqual({
      window: { from: 1_000, to: 5_000 + TAIL_SPAN_MS, unit: "seconds" },
      token: undefined,
      caughtUp: false,
      since: 5_000
    })
  })

  it("starts the next round at the last page read (it may grow), or at the next page when it stopped short", () => {
    const tail = startTail(0, 0, "seconds")
    expect(afterTailPages(tail, "t-3", undefined)).toMatchObject({ token: "t-3", caughtUp: true })
    expect(afterTailPages(tail, "t-3", "t-4")).toMatchObject({ token: "t-4", caughtUp: false })
    // A listing of one page: its token is none, read from the start again.
    expect(afterTailPages(tail, undefined, undefined)).toMatchObject({ token: undefined, caughtUp: true })
  })

  it("follows unfinished operations not listed this round, oldest first, not foreign ones, not finished ones, not for ever", () => {
    const ops = new Map<string, SeenOperation>([
      ["listed", seen("SUBMITTED", "srv-a", 10)],
      ["done", seen("SUCCESS", "srv-a", 10)],
      ["foreign", seen("PENDING", "srv-x", 10)],
      ["newer", seen("PENDING", "srv-a", 30)],
      ["older", seen("SUBMITTED", undefined, 20)],
      ["stale", seen("SUBMITTED", "srv-a", 0)]
    ])
    const now = FOLLOW_MS + 5
    expect(toFollow(ops, new Set(["listed"]), (id) => id === "srv-x", now, 10)).toEqual(["older", "newer"])
    expect(toFollow(ops, new Set(["listed"]), (id) => id === "srv-x", now, 1)).toEqual(["older"])
  })
})
