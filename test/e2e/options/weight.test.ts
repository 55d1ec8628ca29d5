/**
 * Per-instance option `haproxy.weight` (0–256): re-registering an instance with a new weight is
 * applied through the runtime API, without a reload. A and B start equal (about 50/50); B at
 * weight 3 takes about 75 %; A at weight 0 gets nothing. A bad weight is ignored (the instance
 * keeps serving at weight 1) and reported with its instance id.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type MockCloudMapHandle, startMockCloudMap } from "../../../src/mock/server.ts"
import { type AgentProcess, eventually, masterReloads, startAgent } from "../../support/agent.ts"
import { type Backends, startBackends } from "../../support/backends.ts"
import { appsFixture } from "../../support/fixtures.ts"
import { sdkFor } from "../../support/cloudmap-sdk.ts"
import {
  backendOf,
  ignoredOptions,
  NAMESPACE_MAP,
  OPTIONS_ENV,
  registerWith,
  serverWeight,
  show,
  whoAnswers
} from "../../support/options.ts"

const HOST = "web.example.test"
const BACKEND = backendOf("web")
const N = 200

describe("options: instance weight", () => {
  let backends: Backends
  let mock: MockCloudMapHandle
  let agent: AgentProcess

  const reRegister = (id: "web-a" | "web-b", weight: string) =>
    registerWith(sdkFor(mock.url), "srv-web", id, backends.byName(id).port, { "haproxy.weight": weight })

  beforeAll(async () => {
    backends = await startBackends([{ name: "web-a" }, { name: "web-b" }])
    mock = await startMockCloudMap({ fixture: appsFixture(backends, { web: ["web-a", "web-b"] }) })
    agent = await startAgent({ AWS_ENDPOINT_URL_SERVICEDISCOVERY: mock.url, NAMESPACE_MAP, ...OPTIONS_ENV })
    await agent.ready()
  })

  afterAll(async () => {
    await agent?.stop()
    await mock?.close()
    await backends?.close()
  })

  it("equal (default) weights share about 50/50", async () => {
    const counts = await whoAnswers(agent.listenPort, HOST, N)
    expect(counts.get("web-a"), show(counts)).toBeGreaterThanOrEqual(N * 0.4)
    expect(counts.get("web-b"), show(counts)).toBeGreaterThanOrEqual(N * 0.4)
  })

  it("B re-registered with haproxy.weight=3 takes about 75 %, without a reload", async () => {
    const before = await masterReloads(agent)
    await reRegister("web-b", "3")
    await eventually("B at weight 3 in HAProxy", async () => (await serverWeight(agent, BACKEND, "i-web-b")) === 3, 15_000)
    const counts = await whoAnswers(agent.listenPort, HOST, N)
    const b = counts.get("web-b") ?? 0
    expect(b, show(counts)).toBeGreaterThanOrEqual(N * 0.65)
    expect(b, show(counts)).toBeLessThanOrEqual(N * 0.85)
    expect((counts.get("web-a") ?? 0) + b, show(counts)).toBe(N)
    expect(await masterReloads(agent)).toBe(before)
  })

  it("A re-registered with haproxy.weight=0 gets no request, without a reload", async () => {
    const before = await masterReloads(agent)
    await reRegister("web-a", "0")
    await eventually("A at weight 0 in HAProxy", async () => (await serverWeight(agent, BACKEND, "i-web-a")) === 0, 15_000)
    const counts = await whoAnswers(agent.listenPort, HOST, 60)
    expect(show(counts)).toBe(show(new Map([["web-b", 60]])))
    expect(await masterReloads(agent)).toBe(before)
  })

  it("a bad weight is ignored (weight 1, serving) and reported with the instance id", async () => {
    await reRegister("web-a", "1000")
    const ignored = await eventually("A's weight reported", async () =>
      (await ignoredOptions(agent)).find((o) => o.service === "web" && o.instanceId === "web-a" && o.key === "haproxy.weight"), 15_000)
    expect(ignored.namespace).toBe("apps")
    expect(ignored.reason).toMatch(/256/)
    // Ignored means the default, not the last good value.
    await eventually("A back at weight 1", async () => (await serverWeight(agent, BACKEND, "i-web-a")) === 1, 15_000)
    const counts = await whoAnswers(agent.listenPort, HOST, 40)
    expect(counts.get("web-a"), show(counts)).toBeGreaterThanOrEqual(4)
    // Fixed: the report goes away.
    await reRegister("web-a", "1")
    await eventually("report cleared", async () =>
      !(await ignoredOptions(agent)).some((o) => o.instanceId === "web-a"), 15_000)
  })
})
