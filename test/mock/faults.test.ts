/**
 * Fault injection and the control API, observed through the real SDK.
 */
import {
  DiscoverInstancesCommand,
  ListServicesCommand,
  RegisterInstanceCommand
} from "@aws-sdk/client-servicediscovery"
import { describe, expect, it } from "@effect/vitest"
import { demoFixture } from "../../src/mock/fixture.ts"
import { namespaceIdFor, serviceIdFor } from "../../src/mock/state-model.ts"
import { rejection, withMock } from "./helpers.ts"

const discoverWeb = new DiscoverInstancesCommand({ NamespaceName: "apps", ServiceName: "web", HealthStatus: "ALL" })
const discoverApi = new DiscoverInstancesCommand({ NamespaceName: "apps", ServiceName: "api", HealthStatus: "ALL" })
const single = { client: { maxAttempts: 1 } }

describe("fault injection (real SDK)", () => {
  it("throttle: the SDK sees RequestLimitExceeded (429) for the next N calls only", async () => {
    await withMock(demoFixture, async ({ client, control }) => {
      const added = await control("POST", "/_mock/faults", { kind: "throttle", operation: "DiscoverInstances", times: 2 })
      expect(added.status).toBe(200)
      expect(added.json.ids).toHaveLength(1)
      for (let i = 0; i < 2; i++) {
        const e = await rejection(client.send(discoverWeb))
        expect(e.name).toBe("RequestLimitExceeded")
        expect(e.$metadata.httpStatusCode).toBe(429)
      }
      expect((await client.send(discoverWeb)).Instances).toHaveLength(2)
      expect((await control("GET", "/_mock/faults")).json.faults).toEqual([])
      const calls = (await control("GET", "/_mock/calls")).json
      expect(calls.operations.DiscoverInstances).toEqual({ total: 3, outcomes: { RequestLimitExceeded: 2, ok: 1 } })
    }, single)
  })

  it("throttle with SDK retries: the call succeeds after the injected failures and the mock counted every attempt", async () => {
    await withMock(demoFixture, async ({ client, control }) => {
      await control("POST", "/_mock/faults", { kind: "throttle", status: 400, operation: "ListServices", times: 2 })
      const out = await client.send(new ListServicesCommand({}))
      expect(out.Services).toHaveLength(4)
      expect(out.$metadata.attempts).toBe(3)
      const calls = (await control("GET", "/_mock/calls")).json
      expect(calls.operations.ListServices).toEqual({ total: 3, outcomes: { RequestLimitExceeded: 2, ok: 1 } })
    }, { client: { maxAttempts: 3 } })
  })

  it("5xx: 500 and 503 arrive as InternalFailure server faults", async () => {
    await withMock(demoFixture, async ({ client, control }) => {
      await control("POST", "/_mock/faults", { faults: [{ kind: "5xx", times: 1 }, { kind: "5xx", status: 503, times: 1 }] })
      const e500 = await rejection(client.send(discoverWeb))
      expect([e500.name, e500.$metadata.httpStatusCode, e500.$fault]).toEqual(["InternalFailure", 500, "server"])
      const e503 = await rejection(client.send(discoverWeb))
      expect([e503.name, e503.$metadata.httpStatusCode]).toEqual(["InternalFailure", 503])
      expect((await client.send(discoverWeb)).Instances).toHaveLength(2)
    }, single)
  })

  it("latency: calls become measurably slower, only for the targeted operation", async () => {
    await withMock(demoFixture, async ({ client, control }) => {
      const time = async (f: () => Promise<unknown>) => {
        const t0 = performance.now()
        await f()
        return performance.now() - t0
      }
      await client.send(discoverWeb) // warm up the connection
      const base = await time(() => client.send(discoverWeb))
      await control("POST", "/_mock/faults", { kind: "latency", latencyMs: 400, operation: "DiscoverInstances" })
      const slow = await time(() => client.send(discoverWeb))
      const other = await time(() => client.send(new ListServicesCommand({})))
      expect(slow).toBeGreaterThanOrEqual(390)
      expect(slow - base).toBeGreaterThan(300)
      expect(other).toBeLessThan(300)
    }, single)
  })

  it("malformed body: HTTP 200 with invalid JSON makes the SDK raise a deserialization error", async () => {
    await withMock(demoFixture, async ({ client, control }) => {
      await control("POST", "/_mock/faults", { kind: "malformed", operation: "DiscoverInstances", times: 1 })
      const e = await rejection(client.send(discoverWeb))
      expect(e.name).toBe("SyntaxError")
      expect(e.message).toContain("Deserialization error")
      expect(e.$metadata.httpStatusCode).toBe(200)
      expect((await client.send(discoverWeb)).Instances).toHaveLength(2)
      const calls = (await control("GET", "/_mock/calls")).json
      expect(calls.operations.DiscoverInstances.outcomes).toEqual({ malformed: 1, ok: 1 })
    }, single)
  })

  it("access denied: AccessDeniedException naming the operation", async () => {
    await withMock(demoFixture, async ({ client, control }) => {
      await control("POST", "/_mock/faults", { kind: "accessDenied", operation: ["ListServices"] })
      const e = await rejection(client.send(new ListServicesCommand({})))
      expect(e.name).toBe("AccessDeniedException")
      expect(e.message).toContain("servicediscovery:ListServices")
      expect((await client.send(discoverWeb)).Instances).toHaveLength(2) // other operations unaffected
    }, single)
  })

  it("a fault scoped to one service leaves other services and operations alone", async () => {
    await withMock(demoFixture, async ({ client, control }) => {
      await control("POST", "/_mock/faults", { kind: "5xx", service: "web" })
      expect((await rejection(client.send(discoverWeb))).name).toBe("InternalFailure")
      expect((await client.send(discoverApi)).Instances).toHaveLength(2)
      expect((await client.send(new ListServicesCommand({}))).Services).toHaveLength(4)
      // ServiceId-addressed calls are matched by the service's name too.
      const webId = serviceIdFor(namespaceIdFor("apps"), "web")
      const reg = rejection(client.send(new RegisterInstanceCommand({ ServiceId: webId, InstanceId: "x", Attributes: {} })))
      expect((await reg).name).toBe("InternalFailure")
      const calls = (await control("GET", "/_mock/calls")).json
      expect(calls.services.web).toEqual({ DiscoverInstances: 1, RegisterInstance: 1 })
      expect(calls.services.api).toEqual({ DiscoverInstances: 1 })
      expect(calls.operations.DiscoverInstances.outcomes).toEqual({ InternalFailure: 1, ok: 1 })
      expect(calls.total).toBe(4)
    }, single)
  })

  it("probabilistic faults fire on some calls and not others (seeded)", async () => {
    await withMock(demoFixture, async ({ client, control }) => {
      await control("POST", "/_mock/faults", { kind: "throttle", probability: 0.5, operation: "DiscoverInstances" })
      let failed = 0
      for (let i = 0; i < 40; i++) {
        try {
          await client.send(discoverApi)
        } catch (e: any) {
          expect(e.name).toBe("RequestLimitExceeded")
          failed++
        }
      }
      expect(failed).toBeGreaterThan(5)
      expect(failed).toBeLessThan(35)
      const rule = (await control("GET", "/_mock/faults")).json.faults[0]
      expect(rule.fired).toBe(failed)
    }, { ...single, seed: 42 })
  })
})

describe("control API", () => {
  it("lists, deletes one and clears fault rules; rejects invalid rules", async () => {
    await withMock(demoFixture, async ({ client, control }) => {
      const { json } = await control("POST", "/_mock/faults", {
        faults: [{ kind: "5xx", operation: "ListServices" }, { kind: "accessDenied", operation: "DiscoverInstances" }]
      })
      expect(json.ids).toEqual(["f1", "f2"])
      expect((await control("GET", "/_mock/faults")).json.faults.map((f: any) => f.kind)).toEqual(["5xx", "accessDenied"])
      expect((await control("DELETE", "/_mock/faults/f1")).status).toBe(200)
      expect((await control("DELETE", "/_mock/faults/f1")).status).toBe(404)
      expect((await client.send(new ListServicesCommand({}))).Services).toHaveLength(4)
      expect((await rejection(client.send(discoverWeb))).name).toBe("AccessDeniedException")
      expect((await control("DELETE", "/_mock/faults")).json).toEqual({ removed: 1 })
      expect((await client.send(discoverWeb)).Instances).toHaveLength(2)

      const bad = await control("POST", "/_mock/faults", { kind: "explode" })
      expect(bad.status).toBe(400)
      expect(bad.json.error).toContain("kind")
      const noDelay = await control("POST", "/_mock/faults", { kind: "latency" })
      expect(noDelay.status).toBe(400)
      expect(noDelay.json.error).toContain("latencyMs")
      expect((await control("GET", "/_mock/nope")).status).toBe(404)
    }, single)
  })

  it("dumps the state, resets call counts, and resets to the fixture without moving revisions back", async () => {
    await withMock(demoFixture, async ({ client, control }) => {
      const webId = serviceIdFor(namespaceIdFor("apps"), "web")
      await client.send(new RegisterInstanceCommand({ ServiceId: webId, InstanceId: "web-9", Attributes: { AWS_INSTANCE_PORT: "9999" } }))
      const state = (await control("GET", "/_mock/state")).json
      const web = state.namespaces[0].services.find((s: any) => s.name === "web")
      expect(web.instances.map((i: any) => i.id)).toEqual(["web-1", "web-2", "web-9"])
      expect(web.instances[2]).toEqual({ id: "web-9", attributes: { AWS_INSTANCE_PORT: "9999" }, health: "HEALTHY" })
      const revBefore = web.revision

      expect((await control("GET", "/_mock/calls")).json.operations.RegisterInstance.total).toBe(1)
      await control("POST", "/_mock/calls/reset")
      expect((await control("GET", "/_mock/calls")).json).toMatchObject({ total: 0, operations: {} })

      await control("POST", "/_mock/faults", { kind: "5xx" })
      expect((await control("POST", "/_mock/reset")).status).toBe(200)
      const out = await client.send(discoverWeb)
      expect(out.Instances?.map((i) => i.InstanceId).sort()).toEqual(["web-1", "web-2"])
      expect(out.InstancesRevision).toBeGreaterThan(revBefore)
      expect((await control("GET", "/_mock/faults")).json.faults).toEqual([])
    }, single)
  })

  it("switches empty pages on at run time", async () => {
    await withMock(demoFixture, async ({ client, control }) => {
      const filter = { Filters: [{ Name: "NAMESPACE_ID" as const, Values: [namespaceIdFor("apps")] }] }
      const before = await client.send(new ListServicesCommand({ ...filter, MaxResults: 2 }))
      expect(before.Services).toHaveLength(2)
      expect((await control("POST", "/_mock/options", { emptyPages: 1 })).json).toMatchObject({ emptyPages: 1, operationTargets: "service" })
      const after = await client.send(new ListServicesCommand({ ...filter, MaxResults: 2 }))
      expect(after.Services).toHaveLength(1)
      expect(after.NextToken).toBeTruthy()
    }, single)
  })
})
