/**
 * Adversity: a frozen HAProxy. The real agent and HAProxy against the mock Cloud Map; HAProxy's
 * master and worker are stopped (SIGSTOP), so requests hang and its sockets do not answer.
 * Required: /readyz fails after HAPROXY_WATCHDOG with the reason, /healthz after
 * HAPROXY_WATCHDOG_LIVENESS (the container health check would replace the task), both logged
 * once, shown in /status and the metric; after SIGCONT both recover by themselves and the same
 * HAProxy processes serve (nothing restarted). The rules over time: test/haproxy/watchdog.test.ts.
 */
import { afterAll, beforeAll, expect, it } from "vitest"
import { type MockCloudMapHandle, startMockCloudMap } from "../../../src/mock/server.ts"
import { type AgentProcess, eventually, startAgent, viaHaproxy } from "../../support/agent.ts"
import { type Backends, startBackends } from "../../support/backends.ts"
import { appsFixture } from "../../support/fixtures.ts"

const APPS = { namespace: "apps", domainname: "example.test", mode: "host" }

let backends: Backends
let mock: MockCloudMapHandle
beforeAll(async () => {
  backends = await startBackends([{ name: "web-1" }])
  mock = await startMockCloudMap({ fixture: appsFixture(backends, { web: ["web-1"] }) })
})
afterAll(async () => {
  await mock?.close()
  await backends?.close()
})

const signal = (pids: ReadonlyArray<number>, name: NodeJS.Signals) => {
  for (const pid of pids) {
    try {
      process.kill(pid, name)
    } catch {
      // gone
    }
  }
}

const metric = (text: string, name: string) =>
  Number(text.split("\n").find((l) => l.startsWith(`${name} `))?.trim().split(/\s+/).pop() ?? NaN)

it("a stopped HAProxy fails /readyz, then /healthz; SIGCONT recovers both, nothing restarted", async () => {
  const agent: AgentProcess = await startAgent({
    AWS_ENDPOINT_URL_SERVICEDISCOVERY: mock.url,
    NAMESPACE_MAP: JSON.stringify([APPS]),
    HAPROXY_WATCHDOG: "4",
    HAPROXY_WATCHDOG_LIVENESS: "10"
  })
  let pids: Array<number> = []
  try {
    await agent.ready()
    pids = agent.haproxyPids().sort((a, b) => a - b)
    expect((await viaHaproxy(agent.listenPort, "web.example.test")).status).toBe(200)
    expect(pids.length).toBeGreaterThanOrEqual(2)
    const mark = agent.logs.length

    signal(pids, "SIGSTOP")
    const stoppedAt = Date.now()
    const unready = await eventually("/readyz fails", async () => {
      const r = await agent.get("/readyz")
      return r.status === 503 ? r.body : undefined
    })
    const unreadyAfter = (Date.now() - stoppedAt) / 1000
    expect(unready).toMatch(/HAProxy has not answered on its sockets for \d+s \(HAPROXY_WATCHDOG 4s\)/)
    expect(unreadyAfter).toBeGreaterThanOrEqual(2)
    expect(unreadyAfter).toBeLessThan(10)
    expect((await agent.get("/healthz")).status).toBe(200)
    const status = JSON.parse((await agent.get("/status")).body)
    expect(status.haproxy.unresponsive.error).toMatch(/admin socket|master CLI/)
    expect(metric((await agent.get("/metrics")).body, "cloudmap_haproxy_haproxy_unresponsive_seconds")).toBeGreaterThan(0)

    const dead = await eventually("/healthz fails", async () => {
      const r = await agent.get("/healthz")
      return r.status === 503 ? r.body : undefined
    })
    const deadAfter = (Date.now() - stoppedAt) / 1000
    expect(dead).toMatch(/HAPROXY_WATCHDOG_LIVENESS 10s/)
    expect(deadAfter).toBeGreaterThanOrEqual(8)
    expect(deadAfter).toBeLessThan(18)
    await new Promise((r) => setTimeout(r, 3000))
    const told = agent.logs.slice(mark).filter((l) => l.includes("has not answered on its sockets"))
    expect(told.length, told.join("\n")).toBe(2)
    console.log(`[frozen-haproxy] /readyz failed ${unreadyAfter.toFixed(1)} s and /healthz ${deadAfter.toFixed(1)} s after SIGSTOP`)

    signal(pids, "SIGCONT")
    const contAt = Date.now()
    await eventually("/readyz and /healthz recover", async () =>
      (await agent.get("/readyz")).status === 200 && (await agent.get("/healthz")).status === 200)
    console.log(`[frozen-haproxy] recovered ${((Date.now() - contAt) / 1000).toFixed(1)} s after SIGCONT`)
    expect(agent.haproxyPids().sort((a, b) => a - b)).toEqual(pids)
    expect((await viaHaproxy(agent.listenPort, "web.example.test")).status).toBe(200)
    expect(JSON.parse((await agent.get("/status")).body).haproxy.unresponsive).toBeUndefined()
    expect(agent.logs.slice(mark).filter((l) => l.includes("answers on its sockets again")).length).toBe(1)
  } finally {
    signal(pids, "SIGCONT")
    await agent.stop()
  }
}, 90_000)
