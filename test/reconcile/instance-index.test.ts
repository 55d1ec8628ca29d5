/** The reads' instance index, by which the change feed places an operation that names no service. */
import { describe, expect, it } from "vitest"
import { makeInstanceIndex } from "../../src/reconcile/instance-index.ts"

const read = (serviceId: string, ...instanceIds: Array<string>) => ({
  mapping: { namespace: "apps", domain: "example.test", mode: "host" as const },
  service: {
    _tag: "Ok" as const,
    id: serviceId,
    name: serviceId,
    revision: 1,
    instances: instanceIds.map((id) => ({ id, attributes: {}, health: "HEALTHY" as const }))
  }
})

describe("instance index", () => {
  it("places an instance in the service it was read in, for at least 10 minutes after its last read", () => {
    const index = makeInstanceIndex()
    index.remember([read("srv-web", "i-1")], 0)
    expect(index.serviceOf("i-1")).toBe("srv-web")
    expect(index.serviceOf("i-2")).toBeUndefined()
    index.remember([read("srv-web")], 600_000)
    expect(index.serviceOf("i-1")).toBe("srv-web")
    // Forgotten at the next pruning (every 10 minutes).
    index.remember([read("srv-web")], 1_200_001)
    expect(index.serviceOf("i-1")).toBeUndefined()
  })

  it("an instance id read in two services (unique per service only) places nothing, never the wrong service", () => {
    const index = makeInstanceIndex()
    index.remember([read("srv-web", "task-1"), read("srv-api", "task-1")], 0)
    expect(index.serviceOf("task-1")).toBeUndefined()
    // Once one of them has not been read for 10 minutes, the other places it again.
    index.remember([read("srv-api", "task-1")], 300_000)
    index.remember([read("srv-api", "task-1")], 600_001)
    expect(index.serviceOf("task-1")).toBe("srv-api")
  })
})
