import { describe, expect, it } from "vitest"
import { classifyError, isActionDenied } from "../../src/cloudmap/client.ts"

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

  it("tells a missing IAM action from rejected credentials (both denied)", () => {
    expect(isActionDenied(classifyError("ListOperations", { name: "AccessDeniedException" }))).toBe(true)
    expect(isActionDenied(classifyError("GetOperation", { name: "UnauthorizedOperation" }))).toBe(true)
    const rejected = classifyError("ListOperations", { name: "InvalidClientTokenId" })
    expect(rejected.kind).toBe("denied")
    expect(isActionDenied(rejected)).toBe(false)
    expect(isActionDenied(classifyError("GetOperation", { name: "Whatever", $metadata: { httpStatusCode: 403 } }))).toBe(false)
    expect(isActionDenied(classifyError("GetOperation", { name: "OperationNotFound" }))).toBe(false)
  })

  it("keeps not-found and invalid input out of the retry path; everything else is transient", () => {
    expect(classifyError("DiscoverInstances", { name: "ServiceNotFound" }).kind).toBe("notFound")
    expect(classifyError("DiscoverInstances", { name: "InvalidInput" }).kind).toBe("invalid")
    expect(classifyError("ListNamespaces", { name: "InternalFailure", $metadata: { httpStatusCode: 500 } }).kind).toBe("transient")
    const net = classifyError("ListNamespaces", Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }))
    expect(net.kind).toBe("transient")
    expect(net.code).toBe("ECONNREFUSED")
  })

  it("says the agent ran out of file descriptors instead of Bun's \"Was there a typo in the url or port?\"", () => {
    const shapes = [
      Object.assign(new Error("Was there a typo in the url or port?"), { code: "EMFILE" }),
      Object.assign(new TypeError("fetch failed"), { cause: Object.assign(new Error("socket"), { code: "EMFILE" }) }),
      { name: "ProcessFdQuotaExceeded", message: "Was there a typo in the url or port?" },
      Object.assign(new Error("x"), { code: "ENFILE" })
    ]
    for (const shape of shapes) {
      const e = classifyError("DiscoverInstances", shape)
      expect(e.kind).toBe("transient")
      expect(e.code).toBe("EMFILE")
      expect(e.message).toContain("out of file descriptors")
      expect(e.message).not.toContain("typo")
    }
  })
})
