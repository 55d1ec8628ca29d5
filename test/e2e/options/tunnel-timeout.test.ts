/**
 * Per-service options: `haproxy.timeout.tunnel` keeps an idle WebSocket open where
 * `haproxy.timeout.server` alone closes it. Two services on one WebSocket echo backend:
 * `short` (timeout.server 1s) and `long` (timeout.server 1s, timeout.tunnel 30s). After 3 s idle
 * `long` still echoes; HAProxy closed `short`. (The default server timeout is 30 s and the
 * frontend's client timeout 65 s: too slow to prove anything directly.)
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type MockCloudMapHandle, startMockCloudMap } from "../../../src/mock/server.ts"
import { type AgentProcess, eventually, startAgent, viaHaproxy } from "../../support/agent.ts"
import { backendOf, backendSection, ignoredOptions, liveConfig, NAMESPACE_MAP, OPTIONS_ENV } from "../../support/options.ts"
import { openWebSocket, startWebSocketEcho, type WebSocketClient, type WebSocketEcho } from "../../support/websocket.ts"

const IDLE_MS = 3000

describe("options: tunnel timeout", () => {
  let echo: WebSocketEcho
  let mock: MockCloudMapHandle
  let agent: AgentProcess
  const clients: Array<WebSocketClient> = []

  beforeAll(async () => {
    echo = await startWebSocketEcho()
    const instance = (id: string) => ({ id, attributes: { AWS_INSTANCE_IPV4: "127.0.0.1", AWS_INSTANCE_PORT: String(echo.port) } })
    mock = await startMockCloudMap({
      fixture: {
        namespaces: [{
          name: "apps",
          id: "ns-apps",
          services: [
            { name: "short", id: "srv-short", attributes: { "haproxy.timeout.server": "1s" }, instances: [instance("short-1")] },
            {
              name: "long",
              id: "srv-long",
              attributes: { "haproxy.timeout.server": "1s", "haproxy.timeout.tunnel": "30s" },
              instances: [instance("long-1")]
            }
          ]
        }]
      }
    })
    agent = await startAgent({ AWS_ENDPOINT_URL_SERVICEDISCOVERY: mock.url, NAMESPACE_MAP, ...OPTIONS_ENV })
    await agent.ready()
    for (const svc of ["short", "long"]) {
      await eventually(`${svc} routed`, async () => (await viaHaproxy(agent.listenPort, `${svc}.example.test`)).status === 200)
    }
    // Attributes are read before a service is first routed: both timeouts are in the live config.
    await eventually("timeouts rendered", async () => {
      const cfg = liveConfig(agent)
      return /timeout server/.test(backendSection(cfg, backendOf("short"))) && /timeout tunnel/.test(backendSection(cfg, backendOf("long")))
    }, 15_000)
  })

  afterAll(async () => {
    for (const c of clients) c.destroy()
    await agent?.stop()
    await mock?.close()
    await echo?.close()
  })

  it("both services echo over a fresh WebSocket; no option of theirs is ignored", async () => {
    for (const svc of ["short", "long"]) {
      const ws = await openWebSocket(agent.listenPort, `${svc}.example.test`)
      clients.push(ws)
      expect(await ws.echo(`hello ${svc}`)).toBe(`hello ${svc}`)
      ws.destroy()
    }
    expect((await ignoredOptions(agent)).filter((o) => o.service === "short" || o.service === "long")).toEqual([])
  })

  it("after 3 s idle: `long` (timeout.tunnel 30s) still echoes, `short` (timeout.server 1s only) was closed by HAProxy", async () => {
    const short = await openWebSocket(agent.listenPort, "short.example.test")
    const long = await openWebSocket(agent.listenPort, "long.example.test")
    clients.push(short, long)
    const opened = Date.now()
    await new Promise((r) => setTimeout(r, IDLE_MS))

    expect(long.closedAt(), "long was closed while idle").toBeUndefined()
    expect(await long.echo("still there?")).toBe("still there?")

    const closedAt = short.closedAt()
    expect(closedAt, "short still open after 3 s idle").toBeDefined()
    // Closed by the 1 s server timeout, not by anything slower.
    expect(closedAt! - opened).toBeLessThan(IDLE_MS)
    expect(await short.echo("anyone?", 1000)).toBeUndefined()
  })
})
