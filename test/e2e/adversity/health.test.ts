/**
 * Adversity: health endpoints that match reality (issue 9, item 2). The real agent and HAProxy
 * against the mock Cloud Map:
 * - a Cloud Map outage after a good start keeps /readyz and the container health check green
 *   (fail static; every replica would otherwise fail together) and shows up as `degraded`;
 * - a NAMESPACE_MAP entry naming a namespace that does not exist keeps /readyz failing, naming it;
 * - a CONFIG_DIR that turns read-only: /status and /metrics keep describing what HAProxy serves,
 *   and the change that could not be applied is shown apart, with EROFS.
 */
import { execFileSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { CreateHttpNamespaceCommand } from "@aws-sdk/client-servicediscovery"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type MockCloudMapHandle, startMockCloudMap } from "../../../src/mock/server.ts"
import { BUN, eventually, ROOT, startAgent, viaHaproxy } from "../../support/agent.ts"
import { type Backends, startBackends } from "../../support/backends.ts"
import { appsFixture } from "../../support/fixtures.ts"
import { createService, namespaceId, register, sdkFor } from "../../support/cloudmap-sdk.ts"


const APPS = { namespace: "apps", domainname: "example.test", mode: "host" }

const metric = (text: string, name: string) =>
  text.split("\n").filter((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`)).reduce((n, l) => n + Number(l.trim().split(/\s+/).pop()), 0)

const statusOf = async (agent: { get: (p: string) => Promise<{ body: string }> }) => JSON.parse((await agent.get("/status")).body)

/** `cloudmap-haproxy healthcheck` as the container health check runs it. */
const healthcheck = (healthPort: number, ...args: Array<string>): number => {
  try {
    execFileSync(BUN, [join(ROOT, "src/main.ts"), "healthcheck", ...args], { env: { PATH: process.env.PATH ?? "", HEALTH_PORT: String(healthPort) }, stdio: "pipe" })
    return 0
  } catch (e) {
    return (e as { status: number }).status
  }
}

describe("adversity: health endpoints match reality", () => {
  let backends: Backends
  let mock: MockCloudMapHandle

  beforeAll(async () => {
    backends = await startBackends([{ name: "web-1" }, { name: "fresh-1" }])
    mock = await startMockCloudMap({ fixture: appsFixture(backends, { web: ["web-1"] }) })
  })
  afterAll(async () => {
    await mock?.close()
    await backends?.close()
  })

  it("a Cloud Map outage after a good start is `degraded`, never unready or unhealthy; routes keep serving", async () => {
    const agent = await startAgent({ AWS_ENDPOINT_URL_SERVICEDISCOVERY: mock.url, NAMESPACE_MAP: JSON.stringify([APPS]), CLOUDMAP_MAX_ATTEMPTS: "1" })
    try {
      await agent.ready()
      expect((await statusOf(agent)).degraded).toBe(false)
      await fetch(`${mock.url}/_mock/faults`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ operation: "*", kind: "5xx" }) })
      const status = await eventually("degraded", async () => {
        const s = await statusOf(agent)
        return s.degraded && s.lastSuccessfulReadAgeSeconds >= 3 ? s : undefined
      })
      expect(status.degradedReasons.join("\n")).toMatch(/Cloud Map not reachable: last successful read \d+s ago/)
      expect(status.ready).toBe(true)
      expect((await agent.get("/readyz")).status).toBe(200)
      expect((await agent.get("/healthz")).status).toBe(200)
      expect(healthcheck(agent.healthPort)).toBe(0)
      expect(healthcheck(agent.healthPort, "--ready")).toBe(0)
      const metrics = (await agent.get("/metrics")).body
      expect(metric(metrics, "cloudmap_haproxy_last_successful_read_age_seconds")).toBeGreaterThanOrEqual(3)
      expect(metric(metrics, "cloudmap_haproxy_degraded")).toBe(1)
      expect(metric(metrics, "cloudmap_haproxy_ready")).toBe(1)
      expect((await viaHaproxy(agent.listenPort, "web.example.test")).status).toBe(200)

      await fetch(`${mock.url}/_mock/faults`, { method: "DELETE" })
      await eventually("recovered", async () => (await statusOf(agent)).degraded === false)
      expect(metric((await agent.get("/metrics")).body, "cloudmap_haproxy_degraded")).toBe(0)
    } finally {
      await fetch(`${mock.url}/_mock/faults`, { method: "DELETE" })
      await agent.stop()
    }
  })

  it("a mapped namespace that does not exist keeps /readyz failing with its name, until it is created", async () => {
    const typo = { namespace: "aps-typo", domainname: "other.test", mode: "host" }
    const agent = await startAgent({ AWS_ENDPOINT_URL_SERVICEDISCOVERY: mock.url, NAMESPACE_MAP: JSON.stringify([APPS, typo]) })
    try {
      // The routes of the namespace that exists are served; readiness still says no.
      await eventually("apps served", async () => (await viaHaproxy(agent.listenPort, "web.example.test")).status === 200)
      // It stays so over many rounds (REVISION_POLL_RATE is 0.5 s here).
      for (const until = Date.now() + 3000; Date.now() < until;) {
        expect((await agent.get("/readyz")).status).toBe(503)
        await new Promise((r) => setTimeout(r, 200))
      }
      const readyz = await agent.get("/readyz")
      expect(readyz.status).toBe(503)
      expect(readyz.body).toContain('namespace "aps-typo" not found')
      expect(readyz.body).toContain("NAMESPACE_MAP")
      const status = await statusOf(agent)
      expect(status.namespaces).toEqual([
        { namespace: "apps", domain: "example.test", mode: "host", found: true, read: true },
        expect.objectContaining({ namespace: "aps-typo", found: false, read: false })
      ])
      expect((await agent.get("/healthz")).status).toBe(200)
      expect(healthcheck(agent.healthPort, "--ready")).toBe(1)

      // Created later: read, applied, ready.
      await sdkFor(mock.url).send(new CreateHttpNamespaceCommand({ Name: "aps-typo" }))
      await eventually("ready once the namespace exists", async () => (await agent.get("/readyz")).status === 200, 20_000)
    } finally {
      await agent.stop()
    }
  })

  it("a read-only CONFIG_DIR: /status and /metrics show what HAProxy serves; the change it could not write is pending with EROFS", async (ctx) => {
    const dir = mkdtempSync(join(tmpdir(), "cmh-ro-"))
    const agent = await startAgent({ AWS_ENDPOINT_URL_SERVICEDISCOVERY: mock.url, NAMESPACE_MAP: JSON.stringify([APPS]), CONFIG_DIR: dir })
    let mounted = false
    try {
      await agent.ready()
      try {
        execFileSync("mount", ["--bind", dir, dir], { stdio: "pipe" })
        mounted = true
        execFileSync("mount", ["-o", "remount,bind,ro", dir, dir], { stdio: "pipe" })
      } catch (e) {
        ctx.skip(`cannot make a read-only bind mount here: ${String(e).split("\n")[0]}`)
      }
      const sdk = sdkFor(mock.url)
      const id = await createService(sdk, await namespaceId(sdk, "apps"), "fresh")
      await register(sdk, id, "fresh-1", backends.byName("fresh-1").port)
      const status = await eventually("pending change", async () => {
        const s = await statusOf(agent)
        return s.pending !== null ? s : undefined
      })
      expect(status.pending.error).toContain("EROFS")
      expect(status.pending.routes.added).toEqual(["fresh.example.test"])
      expect(status.routes.map((r: { route: string }) => r.route)).toEqual(["web.example.test"])
      expect(status.counts.services).toBe(1)
      expect(status.degraded).toBe(true)
      expect(status.ready).toBe(true)
      const metrics = (await agent.get("/metrics")).body
      expect(metric(metrics, "cloudmap_haproxy_services")).toBe(1)
      expect(metric(metrics, "cloudmap_haproxy_apply_failures_total")).toBeGreaterThanOrEqual(1)
      // What /status says is what HAProxy does.
      expect((await viaHaproxy(agent.listenPort, "fresh.example.test")).status).toBe(404)
      expect((await viaHaproxy(agent.listenPort, "web.example.test")).status).toBe(200)

      execFileSync("umount", [dir])
      mounted = false
      await eventually("applied once writable", async () => (await viaHaproxy(agent.listenPort, "fresh.example.test")).status === 200, 30_000)
      // HAProxy serves the new route a moment before the agent records the reload as done.
      const after = await eventually("pending cleared", async () => {
        const s = await statusOf(agent)
        return s.pending === null ? s : undefined
      })
      expect(after.routes.map((r: { route: string }) => r.route)).toEqual(["fresh.example.test", "web.example.test"])
    } finally {
      if (mounted) execFileSync("umount", [dir])
      await agent.stop()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
