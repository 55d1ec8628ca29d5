/**
 * Cloud Map's operations in the mock (GetOperation, ListOperations), through the real SDK, with
 * the mock's clock driven by the test.
 */
import {
  CreateHttpNamespaceCommand,
  DeregisterInstanceCommand,
  GetOperationCommand,
  ListInstancesCommand,
  ListOperationsCommand,
  type OperationFilter,
  paginateListOperations,
  RegisterInstanceCommand,
  type ServiceDiscoveryClient
} from "@aws-sdk/client-servicediscovery"
import { describe, expect, it } from "@effect/vitest"
import { Result } from "effect"
import { runOperation } from "../../src/mock/dispatch.ts"
import { demoFixture } from "../../src/mock/fixture.ts"
import { initialState } from "../../src/mock/initial-state.ts"
import type { MockCloudMapOptions } from "../../src/mock/server.ts"
import { namespaceIdFor, serviceIdFor } from "../../src/mock/state-model.ts"
import { type MockSession, rejection, withMock } from "./helpers.ts"

const T0 = 1_700_000_000_000
const nsId = namespaceIdFor("apps")
const webId = serviceIdFor(nsId, "web")
const apiId = serviceIdFor(nsId, "api")

/** A mock whose clock the test moves (`advance(ms)`). */
const withClock = <A>(
  f: (s: MockSession & { advance: (ms: number) => void }) => Promise<A>,
  options: Partial<MockCloudMapOptions> & { client?: { maxAttempts?: number } } = {}
) => {
  let now = T0
  return withMock(demoFixture, (s) => f({ ...s, advance: (ms) => void (now += ms) }), { ...options, clock: () => now })
}

const register = async (client: ServiceDiscoveryClient, ServiceId: string, InstanceId: string) =>
  (await client.send(new RegisterInstanceCommand({ ServiceId, InstanceId, Attributes: { AWS_INSTANCE_IPV4: "127.0.0.1", AWS_INSTANCE_PORT: "9100" } })))
    .OperationId!
const deregister = async (client: ServiceDiscoveryClient, ServiceId: string, InstanceId: string) =>
  (await client.send(new DeregisterInstanceCommand({ ServiceId, InstanceId }))).OperationId!
const getOp = async (client: ServiceDiscoveryClient, OperationId: string) =>
  (await client.send(new GetOperationCommand({ OperationId }))).Operation!
const list = async (client: ServiceDiscoveryClient, Filters?: Array<OperationFilter>, MaxResults?: number) =>
  (await client.send(new ListOperationsCommand({ Filters, MaxResults }))).Operations!.map((o) => o.Id!)
/** Every page of a listing, empty ones included. */
const pages = async (client: ServiceDiscoveryClient, Filters: Array<OperationFilter> | undefined, pageSize: number) => {
  const out: Array<{ ids: Array<string>; token: string | undefined }> = []
  for await (const page of paginateListOperations({ client, pageSize, stopOnSameToken: true }, { Filters })) {
    out.push({ ids: page.Operations!.map((o) => o.Id!), token: page.NextToken })
  }
  return out
}

describe("operations: recorded by the writes", () => {
  it("RegisterInstance, DeregisterInstance and CreateHttpNamespace record typed operations with targets", async () => {
    await withClock(async ({ client, advance }) => {
      const reg = await register(client, webId, "web-9")
      advance(1000)
      const dereg = await deregister(client, webId, "web-9")
      advance(1000)
      const created = (await client.send(new CreateHttpNamespaceCommand({ Name: "shop" }))).OperationId!
      expect(new Set([reg, dereg, created]).size).toBe(3)
      expect(await getOp(client, reg)).toEqual({
        Id: reg,
        Type: "REGISTER_INSTANCE",
        Status: "SUCCESS",
        CreateDate: new Date(T0),
        UpdateDate: new Date(T0),
        Targets: { INSTANCE: "web-9", SERVICE: webId }
      })
      expect(await getOp(client, dereg)).toMatchObject({
        Type: "DEREGISTER_INSTANCE",
        CreateDate: new Date(T0 + 1000),
        Targets: { INSTANCE: "web-9", SERVICE: webId }
      })
      expect(await getOp(client, created)).toMatchObject({ Type: "CREATE_NAMESPACE", Targets: { NAMESPACE: namespaceIdFor("shop") } })
      const all = await client.send(new ListOperationsCommand({}))
      expect(all.Operations).toEqual([
        { Id: reg, Status: "SUCCESS" },
        { Id: dereg, Status: "SUCCESS" },
        { Id: created, Status: "SUCCESS" }
      ])
      expect(all.NextToken).toBeUndefined()
      const missing = await rejection(getOp(client, "op-nope"))
      expect(missing.name).toBe("OperationNotFound")
    })
  })

  it("status is SUBMITTED, then PENDING, then SUCCESS after operationDelayMs; the change itself is immediate", async () => {
    await withClock(async ({ client, advance }) => {
      const op = await register(client, webId, "web-9")
      const instances = await client.send(new ListInstancesCommand({ ServiceId: webId }))
      expect(instances.Instances?.map((i) => i.Id)).toContain("web-9")
      expect(await getOp(client, op)).toMatchObject({ Status: "SUBMITTED", UpdateDate: new Date(T0) })
      expect(await list(client, [{ Name: "STATUS", Values: ["SUBMITTED"] }])).toEqual([op])
      advance(5_000)
      expect(await getOp(client, op)).toMatchObject({ Status: "PENDING", UpdateDate: new Date(T0 + 5_000) })
      advance(4_999)
      expect((await getOp(client, op)).Status).toBe("PENDING")
      advance(1)
      expect(await getOp(client, op)).toMatchObject({ Status: "SUCCESS", CreateDate: new Date(T0), UpdateDate: new Date(T0 + 10_000) })
      expect(await list(client, [{ Name: "STATUS", Values: ["SUBMITTED", "PENDING"], Condition: "IN" }])).toEqual([])
    }, { operationDelayMs: 10_000 })
  })
})

describe("ListOperations filters", () => {
  it("each filter and condition", async () => {
    await withClock(async ({ client, advance }) => {
      const a = await register(client, webId, "web-9") // T0
      advance(10_000)
      const b = await register(client, apiId, "api-9") // T0+10s
      advance(10_000)
      const c = await deregister(client, webId, "web-9") // T0+20s
      advance(10_000)
      const d = (await client.send(new CreateHttpNamespaceCommand({ Name: "shop" }))).OperationId! // T0+30s
      advance(3_000) // a, b, c SUCCESS; d PENDING (delay 5 s)
      const s = (ms: number) => String((T0 + ms) / 1000)

      expect(await list(client, [{ Name: "SERVICE_ID", Values: [webId] }])).toEqual([a, c])
      expect(await list(client, [{ Name: "SERVICE_ID", Values: [`arn:aws:servicediscovery:us-east-1:123456789012:service/${apiId}`], Condition: "EQ" }]))
        .toEqual([b])
      expect(await list(client, [{ Name: "NAMESPACE_ID", Values: [nsId] }])).toEqual([a, b, c])
      expect(await list(client, [{ Name: "NAMESPACE_ID", Values: [namespaceIdFor("shop")] }])).toEqual([d])
      expect(await list(client, [{ Name: "TYPE", Values: ["DEREGISTER_INSTANCE"] }])).toEqual([c])
      expect(await list(client, [{ Name: "TYPE", Values: ["CREATE_NAMESPACE", "REGISTER_INSTANCE"], Condition: "IN" }])).toEqual([a, b, d])
      expect(await list(client, [{ Name: "STATUS", Values: ["PENDING"] }])).toEqual([d])
      expect(await list(client, [{ Name: "STATUS", Values: ["SUCCESS", "FAIL"], Condition: "IN" }])).toEqual([a, b, c])
      // UpdateDate = CreateDate + 5 s for the finished ones (a: T0+5s, b: T0+15s, c: T0+25s), d: T0+32.5s (PENDING)
      expect(await list(client, [{ Name: "UPDATE_DATE", Values: [s(15_000), s(32_500)], Condition: "BETWEEN" }])).toEqual([b, c, d])
      expect(await list(client, [{ Name: "UPDATE_DATE", Values: [s(5_001), s(15_000)], Condition: "BETWEEN" }])).toEqual([b])
      // filters are ANDed
      expect(await list(client, [
        { Name: "SERVICE_ID", Values: [webId] },
        { Name: "TYPE", Values: ["REGISTER_INSTANCE"] }
      ])).toEqual([a])
    }, { operationDelayMs: 5_000 })
  })

  it("rejects unsupported names, conditions and values with InvalidInput", async () => {
    await withClock(async ({ client }) => {
      const invalid = async (Filters: Array<OperationFilter>, fragment: string) => {
        const e = await rejection(client.send(new ListOperationsCommand({ Filters })))
        expect(e.name).toBe("InvalidInput")
        expect(e.message).toContain(fragment)
      }
      await invalid([{ Name: "SERVICE_ID", Values: [webId, apiId], Condition: "IN" }], "Condition IN is not supported for filter SERVICE_ID")
      await invalid([{ Name: "NAMESPACE_ID", Values: [nsId, nsId] }], "Condition EQ takes exactly one value")
      await invalid([{ Name: "STATUS", Values: ["SUCCESS"], Condition: "BETWEEN" }], "Condition BETWEEN is not supported for filter STATUS")
      await invalid([{ Name: "STATUS", Values: ["DONE"] }], "Invalid STATUS value: DONE")
      await invalid([{ Name: "TYPE", Values: ["REGISTER_INSTANCE", "UPSERT"], Condition: "IN" }], "Invalid TYPE value: UPSERT")
      await invalid([{ Name: "TYPE", Values: [] }], "must not be empty")
      await invalid([{ Name: "UPDATE_DATE", Values: ["1700000000"] }], "Condition EQ is not supported for filter UPDATE_DATE")
      await invalid([{ Name: "UPDATE_DATE", Values: ["1700000000"], Condition: "BETWEEN" }], "Condition BETWEEN takes exactly two values")
      await invalid([{ Name: "UPDATE_DATE", Values: ["yesterday", "1700000000"], Condition: "BETWEEN" }], "epoch seconds")
      await invalid([{ Name: "UPDATE_DATE", Values: ["1700000010", "1700000000"], Condition: "BETWEEN" }], "start must not be after")
      await invalid([{ Name: "INSTANCE_ID" as never, Values: ["x"] }], "must be one of NAMESPACE_ID, SERVICE_ID, STATUS, TYPE, UPDATE_DATE")
      for (const MaxResults of [0, 101]) {
        expect((await rejection(client.send(new ListOperationsCommand({ MaxResults })))).name).toBe("InvalidInput")
      }
      const badToken = await rejection(client.send(new ListOperationsCommand({ NextToken: "bm9wZQ" })))
      expect(badToken.name).toBe("InvalidInput")
    })
  })
})

describe("ListOperations paging", () => {
  it("takes MaxResults operations, then filters: empty pages with a NextToken, every match in the end", async () => {
    await withClock(async ({ client, advance }) => {
      const web: Array<string> = []
      // 3 api operations, then 4 web operations, then 3 api operations
      for (let i = 0; i < 3; i++) await register(client, apiId, `api-x${i}`)
      for (let i = 0; i < 4; i++) web.push(await register(client, webId, `web-x${i}`))
      for (let i = 3; i < 6; i++) await register(client, apiId, `api-x${i}`)
      advance(1)
      const filtered = await pages(client, [{ Name: "SERVICE_ID", Values: [webId] }], 3)
      expect(filtered).toEqual([
        { ids: [], token: expect.any(String) },
        { ids: web.slice(0, 3), token: expect.any(String) },
        { ids: web.slice(3), token: expect.any(String) },
        { ids: [], token: undefined }
      ])
      const unfiltered = await pages(client, undefined, 4)
      expect(unfiltered.map((p) => p.ids.length)).toEqual([4, 4, 2])
      expect(unfiltered.flatMap((p) => p.ids).filter((id) => web.includes(id))).toEqual(web)
      // a token belongs to its filters
      const first = await client.send(new ListOperationsCommand({ MaxResults: 3, Filters: [{ Name: "SERVICE_ID", Values: [webId] }] }))
      const other = await rejection(client.send(new ListOperationsCommand({ MaxResults: 3, NextToken: first.NextToken })))
      expect(other.name).toBe("InvalidInput")
    })
  })
})

describe("retention", () => {
  it("operations older than operationRetentionMs are gone from GetOperation and ListOperations", async () => {
    await withClock(async ({ client, advance }) => {
      const old = await register(client, webId, "web-9")
      advance(30_000)
      const recent = await deregister(client, webId, "web-9")
      advance(30_000)
      expect(await list(client)).toEqual([old, recent])
      advance(1)
      expect((await rejection(getOp(client, old))).name).toBe("OperationNotFound")
      expect(await list(client)).toEqual([recent])
      expect(await list(client, undefined, 1)).toEqual([recent])
      expect((await getOp(client, recent)).Type).toBe("DEREGISTER_INSTANCE")
      advance(30_000)
      expect(await list(client)).toEqual([])
    }, { operationRetentionMs: 60_000 })
  })

  it("a reset forgets the operations but never reuses an OperationId", async () => {
    await withClock(async ({ client, control }) => {
      const before = await register(client, webId, "web-9")
      await control("POST", "/_mock/reset")
      expect(await list(client)).toEqual([])
      expect((await rejection(getOp(client, before))).name).toBe("OperationNotFound")
      const after = await register(client, webId, "web-9")
      expect(after).not.toBe(before)
    })
  })
})

describe("faults on the operation calls", () => {
  it("throttles ListOperations and denies GetOperation, leaving the other calls alone", async () => {
    await withClock(async ({ client, control }) => {
      const op = await register(client, webId, "web-9")
      await control("POST", "/_mock/faults", { faults: [
        { kind: "throttle", operation: "ListOperations", times: 1 },
        { kind: "accessDenied", operation: "GetOperation", times: 1 }
      ] })
      const throttled = await rejection(list(client))
      expect(throttled.name).toBe("RequestLimitExceeded")
      expect(throttled.$metadata.httpStatusCode).toBe(429)
      const denied = await rejection(getOp(client, op))
      expect(denied.name).toBe("AccessDeniedException")
      expect(denied.message).toContain("servicediscovery:GetOperation")
      expect(await list(client)).toEqual([op])
      expect((await getOp(client, op)).Id).toBe(op)
      const calls = (await control("GET", "/_mock/calls")).json
      expect(calls.operations.ListOperations.outcomes).toEqual({ RequestLimitExceeded: 1, ok: 1 })
      expect(calls.operations.GetOperation.outcomes).toEqual({ AccessDeniedException: 1, ok: 1 })
    }, { client: { maxAttempts: 1 } })
  })
})

describe("the operation log is part of the state value", () => {
  it("two writes from the same state each see only their own operation", () => {
    const ctx = { now: T0, random: () => 0.5 }
    const base = initialState(demoFixture, ctx)
    const run = (state: typeof base, op: string, input: Record<string, unknown>) => {
      const r = runOperation(state, op, input, ctx)
      if (Result.isFailure(r)) throw new Error(r.failure.message)
      return r.success
    }
    const attrs = { AWS_INSTANCE_IPV4: "127.0.0.1", AWS_INSTANCE_PORT: "9100" }
    const left = run(base, "RegisterInstance", { ServiceId: webId, InstanceId: "left", Attributes: attrs })
    const right = run(base, "RegisterInstance", { ServiceId: webId, InstanceId: "right", Attributes: attrs })
    const ids = (state: typeof base) => run(state, "ListOperations", {}).output["Operations"]
    expect(ids(base)).toEqual([])
    expect(ids(left.state)).toEqual([{ Id: left.output["OperationId"], Status: "SUCCESS" }])
    expect(ids(right.state)).toEqual([{ Id: right.output["OperationId"], Status: "SUCCESS" }])
    const target = (state: typeof base, id: unknown) => (run(state, "GetOperation", { OperationId: id }).output["Operation"] as any).Targets
    expect(target(left.state, left.output["OperationId"])).toEqual({ INSTANCE: "left", SERVICE: webId })
    expect(target(right.state, right.output["OperationId"])).toEqual({ INSTANCE: "right", SERVICE: webId })
  })
})

describe("the feed's unpublished readings (feed-readings.ts)", () => {
  it("operationTargets instance: GetOperation's Targets carry INSTANCE only", async () => {
    await withClock(async ({ client, control }) => {
      const a = await register(client, webId, "web-9")
      expect((await getOp(client, a)).Targets).toEqual({ INSTANCE: "web-9", SERVICE: webId })
      expect((await control("POST", "/_mock/options", { operationTargets: "instance" })).json).toMatchObject({ operationTargets: "instance" })
      expect((await getOp(client, a)).Targets).toEqual({ INSTANCE: "web-9" })
    })
  })

  it("updateDateUnit milliseconds: UPDATE_DATE values are read as epoch milliseconds", async () => {
    await withClock(async ({ client, control }) => {
      const a = await register(client, webId, "web-9")
      const seconds = [String(T0 / 1000 - 1), String(T0 / 1000 + 1)]
      const millis = [String(T0 - 1000), String(T0 + 1000)]
      const window = (values: Array<string>) => [{ Name: "UPDATE_DATE" as const, Condition: "BETWEEN" as const, Values: values }]
      expect(await list(client, window(seconds))).toEqual([a])
      expect(await list(client, window(millis))).toEqual([])
      await control("POST", "/_mock/options", { updateDateUnit: "milliseconds" })
      expect(await list(client, window(seconds))).toEqual([])
      expect(await list(client, window(millis))).toEqual([a])
    })
  })

  it("operationRetentionMs at run time: an operation listed a moment ago is OperationNotFound once past it", async () => {
    await withClock(async ({ client, control, advance }) => {
      const a = await register(client, webId, "web-9")
      await control("POST", "/_mock/options", { operationRetentionMs: 1_000 })
      expect(await list(client)).toEqual([a])
      advance(1_500)
      expect((await rejection(client.send(new GetOperationCommand({ OperationId: a })))).name).toBe("OperationNotFound")
    })
  })

  it("foreignChurn: operations at the given rate in the mock's own namespace, none in the fixture's", async () => {
    await withMock(demoFixture, async ({ client, control }) => {
      expect((await control("POST", "/_mock/options", { foreignChurn: 40 })).json).toMatchObject({ foreignChurn: 40 })
      await new Promise((r) => setTimeout(r, 1_000))
      await control("POST", "/_mock/options", { foreignChurn: 0 })
      const ops = await list(client, undefined, 100)
      expect(ops.length).toBeGreaterThanOrEqual(20)
      expect(ops.length).toBeLessThanOrEqual(60)
      const foreignNs = namespaceIdFor("foreign-churn")
      expect(await list(client, [{ Name: "NAMESPACE_ID", Values: [foreignNs] }, { Name: "TYPE", Values: ["REGISTER_INSTANCE"] }], 100)).not.toHaveLength(0)
      expect(await list(client, [{ Name: "NAMESPACE_ID", Values: [nsId] }], 100)).toEqual([])
      expect((await control("POST", "/_mock/options", { foreignChurn: -1 })).status).toBe(400)
    })
  })
})

describe("what ListOperations pages through (operationScan)", () => {
  it("retained: pages follow every retained operation; updateDate: only those from the window's start", async () => {
    await withClock(async ({ client, control, advance }) => {
      for (let i = 0; i < 250; i++) await register(client, webId, `old-${i}`)
      advance(3_600_000)
      const recent = await register(client, webId, "web-9")
      const filters = [{ Name: "UPDATE_DATE" as const, Condition: "BETWEEN" as const, Values: [String((T0 + 3_500_000) / 1000), String((T0 + 3_700_000) / 1000)] }]
      const all = await pages(client, filters, 100)
      expect(all).toHaveLength(3)
      expect(all.flatMap((p) => p.ids)).toEqual([recent])
      await control("POST", "/_mock/options", { operationScan: "updateDate" })
      expect(await pages(client, filters, 100)).toEqual([{ ids: [recent], token: undefined }])
    })
  })
})
