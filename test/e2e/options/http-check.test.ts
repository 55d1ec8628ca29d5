/**
 * Per-service options: HTTP health checks from service attributes. The real agent and HAProxy
 * against the mock Cloud Map; instance B answers 500 on /health and 200 everywhere else.
 * - default TCP checks: both instances serve;
 * - `haproxy.check=http`, `haproxy.check.path=/health`, `haproxy.check.interval=500ms` set with
 *   UpdateServiceAttributes: within the attribute cadence (SERVICE_ATTRIBUTES_RATE 5 s) plus
 *   fall 3 × 500 ms, every request reaches A;
 * - a service created with the options already set has them on its first route;
 * - a bad value (`haproxy.check=htp`) and an unknown key (`haproxy.chek`) are ignored: the service
 *   keeps routing to both instances, and /status `ignoredOptions` and the
 *   `cloudmap_haproxy_ignored_options` gauge report them (the unknown key with its closest key).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type MockCloudMapHandle, startMockCloudMap } from "../../../src/mock/server.ts"
import { type AgentProcess, eventually, startAgent, viaHaproxy } from "../../support/agent.ts"
import { createService, namespaceId, sdkFor } from "../../support/cloudmap-sdk.ts"
import { type ControllableBackend, controllableBackend, stopAll } from "../../support/controllable-backend.ts"
import {
  backendOf,
  backendSection,
  ignoredOptions,
  liveConfig,
  metricValue,
  NAMESPACE_MAP,
  OPTIONS_ENV,
  registerWith,
  setServiceAttributes,
  show,
  whoAnswers
} from "../../support/options.ts"

const HTTP_CHECK = { "haproxy.check": "http", "haproxy.check.path": "/health", "haproxy.check.interval": "500ms" }

describe("options: HTTP health checks", () => {
  let a: ControllableBackend
  let b: ControllableBackend
  let mock: MockCloudMapHandle
  let agent: AgentProcess

  const instances = (prefix: string) => [
    { id: `${prefix}-a`, attributes: { AWS_INSTANCE_IPV4: "127.0.0.1", AWS_INSTANCE_PORT: String(a.port) } },
    { id: `${prefix}-b`, attributes: { AWS_INSTANCE_IPV4: "127.0.0.1", AWS_INSTANCE_PORT: String(b.port) } }
  ]

  beforeAll(async () => {
    a = await controllableBackend("a")
    b = await controllableBackend("b", { failPath: "/health" })
    mock = await startMockCloudMap({
      fixture: {
        namespaces: [{
          name: "apps",
          id: "ns-apps",
          services: [
            { name: "web", id: "srv-web", instances: instances("web") },
            {
              name: "typo",
              id: "srv-typo",
              // A bad value for the check kind and a misspelt key: neither may turn HTTP checks on.
              attributes: { "haproxy.check": "htp", "haproxy.chek": "http", "haproxy.check.path": "/health" },
              instances: instances("typo")
            }
          ]
        }]
      }
    })
    agent = await startAgent({ AWS_ENDPOINT_URL_SERVICEDISCOVERY: mock.url, NAMESPACE_MAP, ...OPTIONS_ENV })
    await agent.ready()
  })

  afterAll(async () => {
    await agent?.stop()
    await mock?.close()
    await stopAll([a, b])
  })

  it("with default TCP checks both instances serve, /health failures or not", async () => {
    const counts = await whoAnswers(agent.listenPort, "web.example.test", 20)
    expect(counts.get("a"), show(counts)).toBeGreaterThanOrEqual(5)
    expect(counts.get("b"), show(counts)).toBeGreaterThanOrEqual(5)
  })

  it("haproxy.check=http with a path and interval takes the instance failing it out of rotation", async () => {
    await setServiceAttributes(sdkFor(mock.url), "srv-web", HTTP_CHECK)
    // Attribute cadence 5 s, a reload, then fall 3 × 500 ms.
    const counts = await eventually("every request on a (b fails /health)", async () => {
      const c = await whoAnswers(agent.listenPort, "web.example.test", 40)
      return c.get("a") === 40 ? c : undefined
    }, 30_000)
    expect(show(counts)).toBe(show(new Map([["a", 40]])))
    const section = backendSection(liveConfig(agent), backendOf("web"))
    expect(section).toContain("/health")
    // The ignored options of the other service are its own; web has none.
    expect((await ignoredOptions(agent)).filter((o) => o.service === "web")).toEqual([])
  })

  it("a new service with the options already set has them on its first route", async () => {
    const sdk = sdkFor(mock.url)
    const id = await createService(sdk, await namespaceId(sdk, "apps"), "fresh")
    await setServiceAttributes(sdk, id, HTTP_CHECK)
    await registerWith(sdk, id, "fresh-a", a.port)
    await registerWith(sdk, id, "fresh-b", b.port)
    await eventually("fresh routed", async () => (await viaHaproxy(agent.listenPort, "fresh.example.test")).status === 200, 20_000)
    // Read before it was first routed: the backend HAProxy got was written with the HTTP check. (On
    // 3.4 the runtime steps route it just before its generation's files are installed: wait for them.)
    const section = await eventually("fresh in the live config", async () => backendSection(liveConfig(agent), backendOf("fresh")) || undefined, 10_000)
    expect(section).toContain("/health")
    await eventually("fresh: every request on a", async () => (await whoAnswers(agent.listenPort, "fresh.example.test", 20)).get("a") === 20, 15_000)
  })

  it("a bad value and an unknown key are ignored and reported; the service keeps routing to both", async () => {
    const ignored = await eventually("typo's options reported", async () => {
      const all = (await ignoredOptions(agent)).filter((o) => o.service === "typo")
      return all.some((o) => o.key === "haproxy.check") && all.some((o) => o.key === "haproxy.chek") ? all : undefined
    })
    for (const o of ignored) {
      expect(o.namespace).toBe("apps")
      expect(o.instanceId).toBeUndefined()
      expect(o.reason.length).toBeGreaterThan(5)
    }
    const bad = ignored.find((o) => o.key === "haproxy.check")!
    // Says what is expected.
    expect(bad.reason).toMatch(/tcp|http/)
    const unknown = ignored.find((o) => o.key === "haproxy.chek")!
    expect(unknown.reason).toContain("haproxy.check")
    // Routing with the default (TCP) check: b still serves, /health failures notwithstanding.
    const counts = await whoAnswers(agent.listenPort, "typo.example.test", 20)
    expect(counts.get("a"), show(counts)).toBeGreaterThanOrEqual(5)
    expect(counts.get("b"), show(counts)).toBeGreaterThanOrEqual(5)
    expect(metricValue((await agent.get("/metrics")).body, "cloudmap_haproxy_ignored_options")).toBeGreaterThanOrEqual(2)
    // Logged too, naming the key.
    expect(agent.logs.some((l) => l.includes("haproxy.chek"))).toBe(true)
  })
})
