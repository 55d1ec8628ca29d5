import { describe, expect, it } from "vitest"
import { classifyError } from "../../src/cloudmap/client.ts"

describe("classifyError", () => {
  it("treats throttling (by code or HTTP 429) as throttled", () => {
    expect(classifyError("DiscoverInstances", { name: "RequestLimitExceeded", message: "slow down" }).kind).toBe("throttled")
    expect(classifyError("ListServices", { name: "Whatever", $metadata: { httpStatusCode: 429 } }).kind).toBe("throttled")
  })

  it("names the missing IAM action on access denied", () => {
    const e = classifyError("DiscoverInstancesRevision", { name: "AccessDeniedException", message: "no" })
    expect(e.kind).toBe("denied")
    expect(e.message).toContain("servicediscovery:DiscoverInstancesRevision")
  })

  it("keeps not-found and invalid input out of the retry path; everything else is transient", () => {
    expect(classifyError("DiscoverInstances", { name: "ServiceNotFound" }).kind).toBe("notFound")
    expect(classifyError("DiscoverInstances", { name: "InvalidInput" }).kind).toBe("invalid")
    expect(classifyError("ListNamespaces", { name: "InternalFailure", $metadata: { httpStatusCode: 500 } }).kind).toBe("transient")
    const net = classifyError("ListNamespaces", Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }))
    expect(net.kind).toBe("transient")
    expect(net.code).toBe("ECONNREFUSED")
  })
})
