/** Recent changes name each instance and the cause (src/apply/instance-changes.ts). */
import { describe, expect, it } from "vitest"
import { diffDesired } from "../../src/apply/diff.ts"
import { instanceChanges, MAX_INSTANCE_CHANGES } from "../../src/apply/instance-changes.ts"
import type { Backend, Desired } from "../../src/model/desired.ts"
import { backend, desired } from "../support/desired.ts"

const changes = (before: Desired, after: Desired) => instanceChanges(diffDesired(before, after), before, after)

const zoned = (b: Backend, inZone: boolean, weights: ReadonlyArray<number>): Backend => ({
  ...b,
  zone: { zone: "us-east-1a", local: 2, localHealthy: inZone ? 2 : 0, inZone },
  servers: b.servers.map((s, i) => ({ ...s, zone: i < 2 ? "us-east-1a" : "us-east-1b", backup: i >= 2, weight: weights[i] ?? 1 }))
})

describe("instanceChanges", () => {
  it("names the instance, its route and address, and why for each added, removed or moved instance", () => {
    const before = desired(backend("web", [8080, 8081]))
    const moved = backend("web", [8080, 9090, 8082])
    expect(changes(before, desired({ ...moved, servers: moved.servers.filter((s) => s.name !== "i-web-0") }))).toEqual([
      "web.example.com: + i-web-2 10.0.0.1:8082: new in Cloud Map's answer (registered, or healthy again)",
      "web.example.com: - i-web-0 10.0.0.1:8080: gone from Cloud Map's answer (deregistered, or no longer healthy there)",
      "web.example.com: ~ i-web-1 10.0.0.1:8081 -> 10.0.0.1:9090: its address or port changed in Cloud Map"
    ])
  })

  it("names new and removed routes", () => {
    expect(changes(desired(backend("web", [1])), desired(backend("api", [2])))).toEqual([
      "new route api.example.com: a new service in Cloud Map",
      "route web.example.com removed: its service is gone from Cloud Map"
    ])
  })

  it("gives the zone as the cause of a weight change by zone affinity, haproxy.weight otherwise", () => {
    const web = backend("web", [1, 2, 3])
    const serving = desired(zoned(web, true, [1, 1, 1]))
    const failing = desired(zoned(web, false, [0, 0, 1]))
    expect(changes(serving, failing)).toEqual([
      "web.example.com: weight of i-web-0 1 -> 0: zone us-east-1a fails over to the other zones (0 of 2 healthy in it by Cloud Map)",
      "web.example.com: weight of i-web-1 1 -> 0: zone us-east-1a fails over to the other zones (0 of 2 healthy in it by Cloud Map)"
    ])
    expect(changes(failing, serving)[0]).toBe("web.example.com: weight of i-web-0 0 -> 1: zone us-east-1a serves again (2 of 2 healthy)")
    const heavier = { ...web, servers: web.servers.map((s, i) => (i === 0 ? { ...s, weight: 5 } : s)) }
    expect(changes(desired(web), desired(heavier))).toEqual(["web.example.com: weight of i-web-0 1 -> 5: its haproxy.weight attribute"])
  })

  it(`keeps at most ${MAX_INSTANCE_CHANGES} lines and counts the rest`, () => {
    const many = changes(desired(backend("web", [])), desired(backend("web", Array.from({ length: 25 }, (_, i) => 9000 + i))))
    expect(many).toHaveLength(MAX_INSTANCE_CHANGES + 1)
    expect(many.at(-1)).toBe("and 15 more")
  })
})
