/**
 * The mock against the real @aws-sdk/client-servicediscovery over HTTP (random port on 127.0.0.1).
 */
import {
  CreateHttpNamespaceCommand,
  CreateServiceCommand,
  DeregisterInstanceCommand,
  DiscoverInstancesCommand,
  DiscoverInstancesRevisionCommand,
  GetInstancesHealthStatusCommand,
  GetNamespaceCommand,
  GetOperationCommand,
  GetServiceAttributesCommand,
  GetServiceCommand,
  ListInstancesCommand,
  ListNamespacesCommand,
  ListServicesCommand,
  paginateListInstances,
  paginateListNamespaces,
  paginateListServices,
  RegisterInstanceCommand,
  type ServiceDiscoveryClient,
  UpdateInstanceCustomHealthStatusCommand,
  UpdateServiceAttributesCommand
} from "@aws-sdk/client-servicediscovery"
import { describe, expect, it } from "@effect/vitest"
import { demoFixture, type Fixture, syntheticFixture } from "../../src/mock/fixture.ts"
import { namespaceIdFor, serviceIdFor } from "../../src/mock/state-model.ts"
import { TARGET_PREFIX } from "../../src/mock/server.ts"
import { rejection, withMock } from "./helpers.ts"

const revision = async (client: ServiceDiscoveryClient, ServiceName: string) =>
  (await client.send(new DiscoverInstancesRevisionCommand({ NamespaceName: "apps", ServiceName }))).InstancesRevision

describe("mock Cloud Map over the wire (real SDK)", () => {
  it("binds 127.0.0.1 on a random port and answers in awsJson1_1", async () => {
    await withMock(demoFixture, async ({ mock, client }) => {
      expect(mock.url).toBe(`http://127.0.0.1:${mock.port}`)
      expect(mock.port).toBeGreaterThan(0)
      const out = await client.send(new ListNamespacesCommand({}))
      expect(out.Namespaces?.map((n) => n.Name)).toEqual(["apps"])
      expect(out.Namespaces?.[0]?.Properties?.HttpProperties?.HttpName).toBe("apps")
      expect(out.Namespaces?.[0]?.CreateDate).toBeInstanceOf(Date)
      expect(Math.abs(out.Namespaces![0]!.CreateDate!.getTime() - Date.now())).toBeLessThan(60_000)
      expect(out.$metadata.requestId).toMatch(/^[0-9a-f-]{36}$/)
      const raw = await fetch(mock.url + "/", {
        method: "POST",
        headers: { "x-amz-target": `${TARGET_PREFIX}ListNamespaces`, "content-type": "application/x-amz-json-1.1" },
        body: "{}"
      })
      expect(raw.headers.get("content-type")).toBe("application/x-amz-json-1.1")
      expect(raw.headers.get("x-amzn-requestid")).toBeTruthy()
      expect(typeof (await raw.json()).Namespaces[0].CreateDate).toBe("number")
    })
  })

  it("answers unknown targets with UnknownOperationException (400)", async () => {
    await withMock(demoFixture, async ({ mock }) => {
      const res = await fetch(mock.url + "/", {
        method: "POST",
        headers: { "x-amz-target": `${TARGET_PREFIX}FlyToTheMoon` },
        body: "{}"
      })
      expect(res.status).toBe(400)
      expect(res.headers.get("x-amzn-errortype")).toBe("UnknownOperationException")
      expect((await res.json()).__type).toBe("UnknownOperationException")
    })
  })

  it("lists 250 services of one namespace completely with paginateListServices (NAMESPACE_ID filter)", async () => {
    const fixture: Fixture = {
      namespaces: [
        syntheticFixture({ namespaces: 1, servicesPerNamespace: 250, instancesPerService: 1, basePort: 20000 }).namespaces[0]!,
        { name: "other", services: [{ name: "svc0" }, { name: "svc1" }, { name: "lonely" }] }
      ]
    }
    await withMock(fixture, async ({ client }) => {
      const names: Array<string> = []
      let pages = 0
      for await (
        const page of paginateListServices({ client, pageSize: 100 }, {
          Filters: [{ Name: "NAMESPACE_ID", Values: [namespaceIdFor("apps")], Condition: "EQ" }]
        })
      ) {
        pages++
        for (const s of page.Services ?? []) names.push(s.Name!)
      }
      expect(pages).toBe(3)
      expect(names).toHaveLength(250)
      expect(new Set(names)).toEqual(new Set([...Array(250).keys()].map((i) => `svc${i}`)))
      const other = await client.send(
        new ListServicesCommand({ Filters: [{ Name: "NAMESPACE_ID", Values: [namespaceIdFor("other")] }] })
      )
      expect(other.Services?.map((s) => s.Name)).toEqual(["svc0", "svc1", "lonely"])
      expect(other.NextToken).toBeUndefined()
    })
  })

  it("returns 1,000 instances from one DiscoverInstances (MaxResults 1000) and via paginated ListInstances", async () => {
    const fixture = syntheticFixture({ namespaces: 1, servicesPerNamespace: 1, instancesPerService: 1000, basePort: 20000 })
    await withMock(fixture, async ({ client }) => {
      const all = await client.send(
        new DiscoverInstancesCommand({ NamespaceName: "apps", ServiceName: "svc0", MaxResults: 1000, HealthStatus: "ALL" })
      )
      expect(all.Instances).toHaveLength(1000)
      expect(new Set(all.Instances!.map((i) => i.InstanceId)).size).toBe(1000)
      expect(all.Instances!.map((i) => Number(i.Attributes!["AWS_INSTANCE_PORT"])).sort((a, b) => a - b)).toEqual(
        [...Array(1000).keys()].map((i) => 20000 + i)
      )
      expect(typeof all.InstancesRevision).toBe("number")
      const dflt = await client.send(new DiscoverInstancesCommand({ NamespaceName: "apps", ServiceName: "svc0" }))
      expect(dflt.Instances).toHaveLength(100)

      const ids: Array<string> = []
      let pages = 0
      for await (
        const page of paginateListInstances({ client, pageSize: 100 }, { ServiceId: serviceIdFor(namespaceIdFor("apps"), "svc0") })
      ) {
        pages++
        for (const i of page.Instances ?? []) ids.push(i.Id!)
      }
      expect(pages).toBe(10)
      expect(ids).toEqual([...Array(1000).keys()].map((i) => `svc0-${i}`))
    })
  })

  it("follows ListNamespaces through empty pages with a NextToken to the matching namespace", async () => {
    const fixture: Fixture = {
      emptyPages: true,
      namespaces: [...Array(12).keys()].map((i) => ({ name: i === 10 ? "apps" : `team-${i}`, services: [] }))
    }
    await withMock(fixture, async ({ client }) => {
      const pages: Array<{ count: number; token: boolean }> = []
      const found: Array<string> = []
      for await (
        const page of paginateListNamespaces({ client, pageSize: 4 }, {
          Filters: [{ Name: "HTTP_NAME", Values: ["apps"], Condition: "EQ" }]
        })
      ) {
        pages.push({ count: page.Namespaces?.length ?? 0, token: page.NextToken !== undefined })
        for (const ns of page.Namespaces ?? []) found.push(ns.Name!)
      }
      expect(pages).toEqual([{ count: 0, token: true }, { count: 0, token: true }, { count: 1, token: false }])
      expect(found).toEqual(["apps"])
      // BEGINS_WITH on NAME, same behaviour: the empty first page still carries a token.
      const first = await client.send(
        new ListNamespacesCommand({ MaxResults: 2, Filters: [{ Name: "NAME", Values: ["team-9"], Condition: "BEGINS_WITH" }] })
      )
      expect(first.Namespaces).toEqual([])
      expect(first.NextToken).toBeTruthy()
    })
  })

  it("register/deregister bump InstancesRevision, health updates do not", async () => {
    await withMock(demoFixture, async ({ client }) => {
      const webId = serviceIdFor(namespaceIdFor("apps"), "web")
      const r0 = await revision(client, "web")
      const reg = await client.send(
        new RegisterInstanceCommand({
          ServiceId: webId,
          InstanceId: "web-3",
          Attributes: { AWS_INSTANCE_IPV4: "127.0.0.1", AWS_INSTANCE_PORT: "9010" }
        })
      )
      expect(reg.OperationId).toBeTruthy()
      const op = await client.send(new GetOperationCommand({ OperationId: reg.OperationId! }))
      expect(op.Operation?.Status).toBe("SUCCESS")
      expect(op.Operation?.Targets).toEqual({ INSTANCE: "web-3", SERVICE: webId })
      const r1 = await revision(client, "web")
      expect(r1).toBeGreaterThan(r0!)
      const found = await client.send(new DiscoverInstancesCommand({ NamespaceName: "apps", ServiceName: "web", HealthStatus: "ALL" }))
      expect(found.InstancesRevision).toBe(r1)
      expect(found.Instances?.map((i) => i.InstanceId).sort()).toEqual(["web-1", "web-2", "web-3"])

      await client.send(new UpdateInstanceCustomHealthStatusCommand({ ServiceId: webId, InstanceId: "web-3", Status: "UNHEALTHY" }))
      expect(await revision(client, "web")).toBe(r1)
      const health = await client.send(new GetInstancesHealthStatusCommand({ ServiceId: webId }))
      expect(health.Status).toEqual({ "web-1": "HEALTHY", "web-2": "HEALTHY", "web-3": "UNHEALTHY" })

      await client.send(new DeregisterInstanceCommand({ ServiceId: webId, InstanceId: "web-3" }))
      const r2 = await revision(client, "web")
      expect(r2).toBeGreaterThan(r1!)
      expect(await revision(client, "api")).toBe(r0) // other services untouched
    })
  })

  it("HEALTHY_OR_ELSE_ALL fails open only when no instance is healthy", async () => {
    await withMock(demoFixture, async ({ client }) => {
      const webId = serviceIdFor(namespaceIdFor("apps"), "web")
      const discover = async (HealthStatus: "HEALTHY" | "HEALTHY_OR_ELSE_ALL") =>
        (await client.send(new DiscoverInstancesCommand({ NamespaceName: "apps", ServiceName: "web", HealthStatus })))
          .Instances!.map((i) => `${i.InstanceId}:${i.HealthStatus}`).sort()
      await client.send(new UpdateInstanceCustomHealthStatusCommand({ ServiceId: webId, InstanceId: "web-1", Status: "UNHEALTHY" }))
      expect(await discover("HEALTHY_OR_ELSE_ALL")).toEqual(["web-2:HEALTHY"])
      await client.send(new UpdateInstanceCustomHealthStatusCommand({ ServiceId: webId, InstanceId: "web-2", Status: "UNHEALTHY" }))
      expect(await discover("HEALTHY")).toEqual([])
      expect(await discover("HEALTHY_OR_ELSE_ALL")).toEqual(["web-1:UNHEALTHY", "web-2:UNHEALTHY"])
    })
  })

  it("filters DiscoverInstances with QueryParameters", async () => {
    await withMock(demoFixture, async ({ client }) => {
      const out = await client.send(
        new DiscoverInstancesCommand({
          NamespaceName: "apps",
          ServiceName: "api",
          QueryParameters: { AVAILABILITY_ZONE: "us-east-1b" },
          HealthStatus: "HEALTHY_OR_ELSE_ALL"
        })
      )
      expect(out.Instances?.map((i) => i.InstanceId)).toEqual(["api-2"])
      const none = await client.send(
        new DiscoverInstancesCommand({ NamespaceName: "apps", ServiceName: "api", QueryParameters: { AVAILABILITY_ZONE: "mars-1a" } })
      )
      expect(none.Instances).toEqual([])
    })
  })

  it("modeled errors arrive as the SDK's named exceptions", async () => {
    await withMock(demoFixture, async ({ client }) => {
      const e1 = await rejection(client.send(new ListInstancesCommand({ ServiceId: "srv-doesnotexist0000" })))
      expect(e1.name).toBe("ServiceNotFound")
      expect(e1.$metadata.httpStatusCode).toBe(400)
      expect(e1.message).toContain("srv-doesnotexist0000")
      expect((await rejection(client.send(new DiscoverInstancesCommand({ NamespaceName: "apps", ServiceName: "nope" })))).name)
        .toBe("ServiceNotFound")
      expect((await rejection(client.send(new DiscoverInstancesCommand({ NamespaceName: "nope", ServiceName: "web" })))).name)
        .toBe("NamespaceNotFound")
      expect((await rejection(client.send(new GetNamespaceCommand({ Id: "ns-doesnotexist00000" })))).name).toBe("NamespaceNotFound")
      for (const MaxResults of [0, 1001]) {
        const e = await rejection(client.send(new DiscoverInstancesCommand({ NamespaceName: "apps", ServiceName: "web", MaxResults })))
        expect(e.name).toBe("InvalidInput")
      }
      expect((await rejection(client.send(new ListServicesCommand({ MaxResults: 101 })))).name).toBe("InvalidInput")
      expect((await rejection(client.send(new ListNamespacesCommand({ NextToken: "not-a-token" })))).name).toBe("InvalidInput")
    })
  })

  it("answers an input that does not decode with InvalidInput (400), on the wire and through the SDK", async () => {
    await withMock(demoFixture, async ({ mock, client }) => {
      const webId = serviceIdFor(namespaceIdFor("apps"), "web")
      const res = await fetch(mock.url + "/", {
        method: "POST",
        headers: { "x-amz-target": `${TARGET_PREFIX}RegisterInstance`, "content-type": "application/x-amz-json-1.1" },
        body: JSON.stringify({ ServiceId: webId, InstanceId: "web 9", Attributes: { AWS_INSTANCE_PORT: 9009 } })
      })
      expect(res.status).toBe(400)
      expect(res.headers.get("x-amzn-errortype")).toBe("InvalidInput")
      const body = await res.json()
      expect(body.__type).toBe("InvalidInput")
      expect(body.Message).toContain("InstanceId must be 1-64 characters")
      expect(body.Message).toContain("Attributes.AWS_INSTANCE_PORT: Expected string")
      const e = await rejection(
        client.send(new UpdateInstanceCustomHealthStatusCommand({ ServiceId: webId, InstanceId: "web-1", Status: "SICK" as "HEALTHY" }))
      )
      expect(e.name).toBe("InvalidInput")
      expect(e.$metadata.httpStatusCode).toBe(400)
      expect(e.message).toContain("Status must be HEALTHY or UNHEALTHY")
    })
  })

  it("creates a namespace, a service and an instance that DiscoverInstances then finds", async () => {
    await withMock({ namespaces: [] }, async ({ client }) => {
      const created = await client.send(new CreateHttpNamespaceCommand({ Name: "shop", Description: "demo" }))
      expect(created.OperationId).toBeTruthy()
      const ns = (await client.send(new ListNamespacesCommand({}))).Namespaces![0]!
      expect(ns).toMatchObject({ Name: "shop", Type: "HTTP", Description: "demo", ServiceCount: 0 })
      const svc = await client.send(
        new CreateServiceCommand({ Name: "_cart._tcp", NamespaceId: ns.Id!, HealthCheckCustomConfig: { FailureThreshold: 1 } })
      )
      expect(svc.Service).toMatchObject({ Name: "_cart._tcp", NamespaceId: ns.Id, HealthCheckCustomConfig: { FailureThreshold: 1 } })
      expect((await rejection(client.send(new CreateServiceCommand({ Name: "_cart._tcp", NamespaceId: ns.Id! })))).name)
        .toBe("ServiceAlreadyExists")
      await client.send(
        new RegisterInstanceCommand({
          ServiceId: svc.Service!.Id!,
          InstanceId: "task-1",
          Attributes: { AWS_INSTANCE_IPV4: "10.1.2.3", AWS_INSTANCE_PORT: "31000", AWS_INIT_HEALTH_STATUS: "UNHEALTHY" }
        })
      )
      const healthy = await client.send(
        new DiscoverInstancesCommand({ NamespaceName: "shop", ServiceName: "_cart._tcp", HealthStatus: "HEALTHY" })
      )
      expect(healthy.Instances).toEqual([])
      const any = await client.send(
        new DiscoverInstancesCommand({ NamespaceName: "shop", ServiceName: "_cart._tcp", HealthStatus: "HEALTHY_OR_ELSE_ALL" })
      )
      expect(any.Instances?.map((i) => [i.InstanceId, i.HealthStatus, i.Attributes?.["AWS_INSTANCE_PORT"]])).toEqual([
        ["task-1", "UNHEALTHY", "31000"]
      ])
      const got = await client.send(new GetServiceCommand({ Id: svc.Service!.Arn! }))
      expect(got.Service?.InstanceCount).toBe(1)
    })
  })

  it("reads and updates service attributes", async () => {
    await withMock(demoFixture, async ({ client }) => {
      const ServiceId = serviceIdFor(namespaceIdFor("apps"), "api")
      await client.send(new UpdateServiceAttributesCommand({ ServiceId, Attributes: { "haproxy.timeout": "30s" } }))
      const out = await client.send(new GetServiceAttributesCommand({ ServiceId }))
      expect(out.ServiceAttributes?.Attributes).toEqual({ "haproxy.timeout": "30s" })
      expect(out.ServiceAttributes?.ServiceArn).toContain(`:service/${ServiceId}`)
    })
  })
})
