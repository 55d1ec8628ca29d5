/**
 * An extra host name (`haproxy.hosts`) never outranks a service's own name or a path-mode domain
 * (issue 19, point 5). Every service of a fixture has the same CreateDate (as parallel IaC gives
 * in AWS): `api`, whose service id sorts first, asks for `web`'s own host and for the path-mode
 * domain `docs.example.test` as extra names. Real agent, real HAProxy, mock Cloud Map: `web` and
 * the path-mode service keep their routes, `api` gets only the free extra name.
 */
import { afterEach, describe, expect, it } from "vitest"
import { startMockCloudMap } from "../../../src/mock/server.ts"
import { eventually, startAgent, viaHaproxy } from "../../support/agent.ts"
import { startBackends } from "../../support/backends.ts"

const cleanups: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined)
})

const at = (port: number) => ({ AWS_INSTANCE_IPV4: "127.0.0.1", AWS_INSTANCE_PORT: String(port) })

describe("extra host names at equal age", () => {
  it("never take a service's own name or a path-mode domain; the free one is granted", async () => {
    const backends = await startBackends([{ name: "web-1" }, { name: "api-1" }, { name: "guide-1" }])
    cleanups.push(() => backends.close())
    const mock = await startMockCloudMap({
      fixture: {
        namespaces: [
          {
            name: "apps",
            services: [
              { name: "web", id: "srv-web", instances: [{ id: "web-1", attributes: at(backends.byName("web-1").port) }] },
              {
                name: "api",
                id: "srv-a-api",
                attributes: { "haproxy.hosts": "web.example.test,docs.example.test,www.example.test" },
                instances: [{ id: "api-1", attributes: at(backends.byName("api-1").port) }]
              }
            ]
          },
          {
            name: "docs",
            services: [{ name: "guide", id: "srv-guide", instances: [{ id: "guide-1", attributes: at(backends.byName("guide-1").port) }] }]
          }
        ]
      }
    })
    cleanups.push(() => mock.close())
    const agent = await startAgent({
      AWS_ENDPOINT_URL_SERVICEDISCOVERY: mock.url,
      ALLOW_INSTANCE_NETWORKS: "127.0.0.0/8",
      NAMESPACE_MAP: JSON.stringify([
        { namespace: "apps", domainname: "example.test", mode: "host" },
        { namespace: "docs", domainname: "docs.example.test", mode: "path" }
      ])
    })
    cleanups.push(() => agent.stop())
    await agent.ready(30_000)
    // The free extra name shows the options were read and applied.
    await eventually("www.example.test routed to api", async () =>
      (await viaHaproxy(agent.listenPort, "www.example.test")).body.includes("api-1"), 30_000)

    const server = async (host: string, path = "/") => JSON.parse((await viaHaproxy(agent.listenPort, host, path)).body).server as string
    expect(await server("web.example.test")).toBe("web-1")
    expect(await server("docs.example.test", "/guide/")).toBe("guide-1")
    expect(await server("api.example.test")).toBe("api-1")
    const status = JSON.parse((await agent.get("/status")).body) as Record<string, unknown>
    const ignored = JSON.stringify(status["ignoredOptions"] ?? status)
    expect(ignored).toContain("web.example.test is the own name of service")
    expect(ignored).toContain("docs.example.test is a path-mode domain")
  }, 90_000)
})
