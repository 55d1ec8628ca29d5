/**
 * Hitless changes: runtime API first, a verified reload when the runtime path cannot be used,
 * removed instances drained before they go away.
 */
import { renameSync } from "node:fs"
import { Agent, createServer, request, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { join } from "node:path"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeRuntimeApi } from "../../src/haproxy/runtime-api.ts"
import { startMockCloudMap, type MockCloudMapHandle } from "../../src/mock/server.ts"
import { type AgentProcess, eventually, masterReloads, startAgent, viaHaproxy } from "../support/agent.ts"
import { type Backends, startBackends } from "../support/backends.ts"
import { deregister, register, sdkFor } from "../support/cloudmap-sdk.ts"

const NAMESPACE_MAP = JSON.stringify([{ namespace: "apps", domainname: "example.test" }])
const reloads = masterReloads

/** A backend that answers after `?ms=` milliseconds, naming itself. */
const slowBackend = (name: string) =>
  new Promise<{ server: Server; port: number }>((resolve) => {
    const server = createServer((req, res) => {
      const ms = Number(new URL(req.url ?? "/", "http://x").searchParams.get("ms") ?? "0")
      setTimeout(() => res.end(JSON.stringify({ server: name, path: req.url })), ms)
    }).listen(0, "127.0.0.1", () => resolve({ server, port: (server.address() as AddressInfo).port }))
  })

describe("runtime updates", () => {
  let backends: Backends
  let slow: { server: Server; port: number }
  let mock: MockCloudMapHandle
  let agent: AgentProcess

  beforeAll(async () => {
    backends = await startBackends([{ name: "web-1" }, { name: "web-2" }, { name: "web-3" }, { name: "mv-old" }, { name: "mv-new" }])
    slow = await slowBackend("slow-1")
    mock = await startMockCloudMap({
      fixture: {
        namespaces: [{
          name: "apps",
          services: [
            { name: "web", id: "srv-web", instances: [{ id: "web-1", attributes: { AWS_INSTANCE_IPV4: "127.0.0.1", AWS_INSTANCE_PORT: String(backends.byName("web-1").port) } }] },
            { name: "mv", id: "srv-mv", instances: [{ id: "mv-1", attributes: { AWS_INSTANCE_IPV4: "127.0.0.1", AWS_INSTANCE_PORT: String(backends.byName("mv-old").port) } }] },
            {
              name: "slow",
              id: "srv-slow",
              instances: [
                { id: "slow-1", attributes: { AWS_INSTANCE_IPV4: "127.0.0.1", AWS_INSTANCE_PORT: String(slow.port) } },
                { id: "web-3", attributes: { AWS_INSTANCE_IPV4: "127.0.0.1", AWS_INSTANCE_PORT: String(backends.byName("web-3").port) } }
              ]
            }
          ]
        }]
      }
    })
    agent = await startAgent({ AWS_ENDPOINT_URL_SERVICEDISCOVERY: mock.url, NAMESPACE_MAP, MAX_REMOVAL_PERCENT: "100" })
    await agent.ready()
  })

  afterAll(async () => {
    await agent?.stop()
    await mock?.close()
    await backends?.close()
    slow?.server.closeAllConnections()
    slow?.server.close()
  })

  it("drains a removed instance: its in-flight request completes, new requests avoid it", async () => {
    const before = await reloads(agent)
    // Pin a slow request on slow-1 (round robin: retry until one lands there).
    let inflight: Promise<{ status: number; body: string }> | undefined
    for (let i = 0; i < 6 && inflight === undefined; i++) {
      const started = Date.now()
      const p = viaHaproxy(agent.listenPort, "slow.example.test", "/?ms=3000")
      const winner = await Promise.race([p.then(() => "fast"), new Promise((r) => setTimeout(() => r("slow"), 300))])
      if (winner === "slow") inflight = p
      else expect(Date.now() - started).toBeLessThan(3000)
    }
    expect(inflight).toBeDefined()
    await deregister(sdkFor(mock.url), "srv-slow", "slow-1")
    const reply = await inflight!
    expect(reply.status).toBe(200)
    expect(JSON.parse(reply.body).server).toBe("slow-1")
    await eventually("slow-1 gone from HAProxy", async () => {
      const s = JSON.parse((await agent.get("/status")).body)
      return s.routes.find((r: { route: string }) => r.route === "slow.example.test").instances.length === 1
    })
    for (let i = 0; i < 6; i++) {
      expect(JSON.parse((await viaHaproxy(agent.listenPort, "slow.example.test")).body).server).toBe("web-3")
    }
    expect(await reloads(agent)).toBe(before)
  })

  it("moves an instance (same id, new port) without a reload, and nothing reaches the old address after", async () => {
    const before = await reloads(agent)
    // One keep-alive client: HAProxy reuses its pooled server connection for the session's next
    // requests, so a connection to the old address must not outlive the move.
    const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 })
    const get = () =>
      new Promise<string>((resolve, reject) => {
        const req = request({ host: "127.0.0.1", port: agent.listenPort, path: "/", agent: keepAlive, headers: { host: "mv.example.test" } }, (res) => {
          let body = ""
          res.on("data", (c) => (body += c))
          res.on("end", () => resolve(res.statusCode === 200 ? (JSON.parse(body) as { server: string }).server : `status ${res.statusCode}`))
        })
        req.on("error", reject)
        req.end()
      })
    try {
      for (let i = 0; i < 6; i++) expect(await get()).toBe("mv-old")
      await register(sdkFor(mock.url), "srv-mv", "mv-1", backends.byName("mv-new").port)
      await eventually("served from the new address", async () => (await get()) === "mv-new")
      const seen = new Set<string>()
      for (let i = 0; i < 20; i++) seen.add(await get())
      expect(seen).toEqual(new Set(["mv-new"]))
    } finally {
      keepAlive.destroy()
    }
    expect(await reloads(agent)).toBe(before)
  })

  it("reuses a server left in maintenance when its instance comes back before a reload", async () => {
    const before = await reloads(agent)
    // What a refused `del server` leaves behind: the instance's server as the agent added it
    // (health check on), in maintenance.
    const api = makeRuntimeApi(join(agent.configDir, "admin.sock"))
    await Effect.runPromise(Effect.all([
      api.addServer("be_web.example.test", "i-web-9", "127.0.0.1", 1, { check: true }),
      api.enableHealth("be_web.example.test", "i-web-9"),
      api.setServerState("be_web.example.test", "i-web-9", "maint")
    ]))
    await register(sdkFor(mock.url), "srv-web", "web-9", backends.byName("web-3").port)
    await eventually("web-9 (answering as web-3) serving", async () => {
      for (let i = 0; i < 4; i++) {
        if (JSON.parse((await viaHaproxy(agent.listenPort, "web.example.test")).body).server === "web-3") return true
      }
      return false
    })
    expect(await reloads(agent)).toBe(before)
    await deregister(sdkFor(mock.url), "srv-web", "web-9")
    await eventually("web-9 removed", async () => {
      const s = JSON.parse((await agent.get("/status")).body)
      return s.routes.find((r: { route: string }) => r.route === "web.example.test").instances.length === 1
    })
  })

  it("falls back to a verified reload when the runtime API cannot be used", async () => {
    const before = await reloads(agent)
    // Hide the admin socket: runtime commands fail, the change must still arrive, by a reload.
    renameSync(join(agent.configDir, "admin.sock"), join(agent.configDir, "admin.sock.hidden"))
    await register(sdkFor(mock.url), "srv-web", "web-2", backends.byName("web-2").port)
    await eventually("web-2 serving", async () => {
      for (let i = 0; i < 4; i++) {
        if (JSON.parse((await viaHaproxy(agent.listenPort, "web.example.test")).body).server === "web-2") return true
      }
      return false
    })
    expect(await reloads(agent)).toBe(before + 1)
    expect(agent.logs.some((l) => l.includes("runtime update could not be verified"))).toBe(true)
    // Counted as a reload for an instance change (metrics are updated right after the apply).
    await eventually("reload counted", async () =>
      /cloudmap_haproxy_reloads_total\{[^}]*reason="instances"[^}]*\} 1/.test((await agent.get("/metrics")).body))
  })
})
