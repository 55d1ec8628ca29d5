/**
 * Adversity: process lifecycle (issue 9, item 4). The real agent and HAProxy:
 * - SIGHUP means "re-read Cloud Map now", not "exit";
 * - an HAProxy left running by an earlier agent (SIGKILLed) is stopped by the next one, and a
 *   second HAProxy can never share the traffic port (`noreuseport`), while reloads under
 *   keep-alive load stay hitless;
 * - start-up faults exit 78 within 10 s, naming the variable and the fix.
 */
import { execFileSync, spawn } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type MockCloudMapHandle, startMockCloudMap } from "../../../src/mock/server.ts"
import { BUN, eventually, masterReloads, pidsMatching, ROOT, startAgent, viaHaproxy } from "../../support/agent.ts"
import { type Backends, startBackends } from "../../support/backends.ts"
import { appsFixture } from "../../support/fixtures.ts"
import { createService, createServiceNeedingReload, namespaceId, register, sdkFor } from "../../support/cloudmap-sdk.ts"
import { keepAliveLoad } from "../../support/load.ts"
import { freePort } from "../../support/ports.ts"

const NAMESPACE_MAP = JSON.stringify([{ namespace: "apps", domainname: "example.test", mode: "host" }])
const HAPROXY = process.env.HAPROXY_BIN ?? "haproxy"


const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Runs the agent until it exits; its exit code, stderr and how long it took. */
const runToExit = (env: Record<string, string>) =>
  new Promise<{ code: number | null; stderr: string; ms: number }>((resolve) => {
    const started = Date.now()
    const child = spawn(BUN, [join(ROOT, "src/main.ts"), "run"], {
      env: { PATH: process.env.PATH ?? "", AWS_REGION: "us-east-1", STATS_ENABLED: "false", METRICS_ENABLED: "false", NAMESPACE_MAP, ...env },
      stdio: ["ignore", "ignore", "pipe"]
    })
    let stderr = ""
    child.stderr!.on("data", (c) => (stderr += c))
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000)
    child.on("exit", (code) => {
      clearTimeout(timer)
      resolve({ code, stderr, ms: Date.now() - started })
    })
  })

describe("adversity: process lifecycle", () => {
  let backends: Backends
  let mock: MockCloudMapHandle

  beforeAll(async () => {
    backends = await startBackends([{ name: "web-1" }, { name: "late-1" }, { name: "new-1" }])
    mock = await startMockCloudMap({ fixture: appsFixture(backends, { web: ["web-1"] }) })
  })
  afterAll(async () => {
    await mock?.close()
    await backends?.close()
  })

  it("SIGHUP re-reads Cloud Map now (logged) and the agent keeps running", async () => {
    // Every interval an hour away: only SIGHUP can make the agent see the new service.
    const agent = await startAgent({
      AWS_ENDPOINT_URL_SERVICEDISCOVERY: mock.url,
      NAMESPACE_MAP,
      REFRESH_RATE: "3600",
      REVISION_POLL_RATE: "3600",
      SERVICE_LIST_RATE: "3600"
    })
    try {
      await agent.ready()
      const sdk = sdkFor(mock.url)
      const id = await createService(sdk, await namespaceId(sdk, "apps"), "late")
      await register(sdk, id, "late-1", backends.byName("late-1").port)
      expect((await viaHaproxy(agent.listenPort, "late.example.test")).status).toBe(404)
      process.kill(agent.pid, "SIGHUP")
      await eventually("late routed after SIGHUP", async () => (await viaHaproxy(agent.listenPort, "late.example.test")).status === 200, 10_000)
      expect(agent.logs.some((l) => l.includes("SIGHUP: re-reading"))).toBe(true)
      expect(alive(agent.pid)).toBe(true)
      expect((await agent.get("/healthz")).status).toBe(200)
    } finally {
      await agent.stop()
    }
  })

  it("an HAProxy left by a SIGKILLed agent is stopped by the next one: no request reaches the stale one", async () => {
    const configDir = mkdtempSync(join(tmpdir(), "cmh-leftover-"))
    const listenPort = await freePort()
    const env = { AWS_ENDPOINT_URL_SERVICEDISCOVERY: mock.url, NAMESPACE_MAP, CONFIG_DIR: configDir, LISTEN_PORT: String(listenPort) }
    const first = await startAgent(env)
    let second: Awaited<ReturnType<typeof startAgent>> | undefined
    try {
      await eventually("first ready", async () => (await first.get("/readyz")).status === 200)
      const orphans = pidsMatching(`${configDir}/master.sock`)
      expect(orphans.length).toBeGreaterThanOrEqual(1)
      process.kill(first.pid, "SIGKILL")
      await first.exited
      // The orphan keeps serving the old configuration.
      expect((await viaHaproxy(listenPort, "web.example.test")).status).toBe(200)

      second = await startAgent(env)
      await eventually("second ready", async () => (await second!.get("/readyz")).status === 200)
      expect(second.logs.some((l) => l.includes("stopping an HAProxy left running"))).toBe(true)
      for (const pid of orphans) expect(alive(pid)).toBe(false)

      const sdk = sdkFor(mock.url)
      const id = await createService(sdk, await namespaceId(sdk, "apps"), "new")
      await register(sdk, id, "new-1", backends.byName("new-1").port)
      await eventually("new routed", async () => (await viaHaproxy(listenPort, "new.example.test")).status === 200)
      const statuses = []
      for (let i = 0; i < 20; i++) statuses.push((await viaHaproxy(listenPort, "new.example.test")).status)
      expect(statuses.filter((s) => s !== 200)).toEqual([])
    } finally {
      await second?.stop()
      await first.stop()
      for (const pid of pidsMatching(`${configDir}/master.sock`)) process.kill(pid, "SIGKILL")
      rmSync(configDir, { recursive: true, force: true })
    }
  })

  it("a second HAProxy cannot share the traffic port, and reloads under keep-alive load drop nothing", async () => {
    const agent = await startAgent({ AWS_ENDPOINT_URL_SERVICEDISCOVERY: mock.url, NAMESPACE_MAP })
    const scratch = mkdtempSync(join(tmpdir(), "cmh-squat-"))
    try {
      await agent.ready()
      // Another HAProxy on the same address and port (it would set SO_REUSEPORT itself).
      const cfg = join(scratch, "squat.cfg")
      writeFileSync(cfg, `defaults\n    mode http\n    timeout client 1s\n    timeout server 1s\n    timeout connect 1s\nfrontend squat\n    bind 127.0.0.1:${agent.listenPort}\n`)
      let squat = ""
      try {
        execFileSync(HAPROXY, ["-db", "-f", cfg], { stdio: "pipe", timeout: 10_000 })
      } catch (e) {
        squat = String((e as { stderr?: Buffer }).stderr ?? e)
      }
      expect(squat).toMatch(/cannot bind socket|Address already in use/)

      // Hitless: five new services, each a reload (options of its own: on HAProxy 3.4 too), while
      // two keep-alive clients ask for web.
      const load = keepAliveLoad({ port: agent.listenPort, host: "web.example.test", maxMs: 60_000 })
      const sdk = sdkFor(mock.url)
      const ns = await namespaceId(sdk, "apps")
      const reloadsBefore = await masterReloads(agent)
      for (let i = 0; i < 5; i++) {
        const id = await createServiceNeedingReload(sdk, ns, `hitless-${i}`, 41 + i)
        await register(sdk, id, `hitless-${i}-1`, backends.byName("new-1").port)
        await eventually(`hitless-${i} routed`, async () => (await viaHaproxy(agent.listenPort, `hitless-${i}.example.test`)).status === 200)
      }
      const tally = await load.stop()
      expect((await masterReloads(agent)) - reloadsBefore).toBeGreaterThanOrEqual(5)
      expect(tally.total).toBeGreaterThan(100)
      expect({ failed: tally.failed, errors: tally.errors }).toEqual({ failed: 0, errors: [] })
    } finally {
      await agent.stop()
      rmSync(scratch, { recursive: true, force: true })
    }
  })

  describe("start-up faults exit 78 within 10 s, naming the variable and the fix", () => {
    const base = async () => ({
      AWS_ENDPOINT_URL_SERVICEDISCOVERY: mock.url,
      LISTEN_ADDRESS: "127.0.0.1",
      LISTEN_PORT: String(await freePort()),
      HEALTH_PORT: String(await freePort())
    })

    it("LISTEN_PORT in use", async () => {
      const squatter = createServer()
      const port = await new Promise<number>((r) => squatter.listen(0, "127.0.0.1", () => r((squatter.address() as { port: number }).port)))
      const dir = mkdtempSync(join(tmpdir(), "cmh-fast-"))
      try {
        const result = await runToExit({ ...(await base()), CONFIG_DIR: dir, LISTEN_PORT: String(port) })
        expect(result.code).toBe(78)
        expect(result.ms).toBeLessThan(10_000)
        expect(result.stderr).toContain(`LISTEN_PORT="${port}": the port is already in use`)
        expect(result.stderr).toContain("Fix: stop what listens there, or set LISTEN_PORT to a free port")
      } finally {
        squatter.close()
        rmSync(dir, { recursive: true, force: true })
      }
    })

    it("MONITORING_PORT in use", async () => {
      const squatter = createServer()
      const port = await new Promise<number>((r) => squatter.listen(0, "127.0.0.1", () => r((squatter.address() as { port: number }).port)))
      const dir = mkdtempSync(join(tmpdir(), "cmh-fast-"))
      try {
        const result = await runToExit({ ...(await base()), CONFIG_DIR: dir, MONITORING_PORT: String(port) })
        expect(result.code).toBe(78)
        expect(result.ms).toBeLessThan(10_000)
        expect(result.stderr).toContain(`MONITORING_PORT="${port}": the port is already in use`)
        expect(result.stderr).toContain("Fix: stop what listens there, or set MONITORING_PORT to a free port")
      } finally {
        squatter.close()
        rmSync(dir, { recursive: true, force: true })
      }
    })

    it("HAPROXY_BIN missing (and a misspelt variable warned about once)", async () => {
      const dir = mkdtempSync(join(tmpdir(), "cmh-fast-"))
      try {
        // A typo of a variable is warned about once, before the checks.
        const result = await runToExit({ ...(await base()), CONFIG_DIR: dir, HAPROXY_BIN: "/nonexistent/haproxy", REFRESH_RAT: "5" })
        expect(result.code).toBe(78)
        expect(result.stderr.split("unknown variable REFRESH_RAT is ignored: did you mean REFRESH_RATE?")).toHaveLength(2)
        expect(result.ms).toBeLessThan(10_000)
        expect(result.stderr).toContain('HAPROXY_BIN="/nonexistent/haproxy": it cannot be run (ENOENT)')
        expect(result.stderr).toContain("Fix: install HAProxy")
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    })

    it("CONFIG_DIR not writable", async () => {
      // A path under a regular file cannot be created, whoever the agent runs as (even root).
      const parent = mkdtempSync(join(tmpdir(), "cmh-fast-"))
      writeFileSync(join(parent, "file"), "")
      try {
        const result = await runToExit({ ...(await base()), CONFIG_DIR: join(parent, "file", "sub") })
        expect(result.code).toBe(78)
        expect(result.ms).toBeLessThan(10_000)
        expect(result.stderr).toMatch(/CONFIG_DIR=".*\/file\/sub": the agent cannot write there \(ENOTDIR\)/)
        expect(result.stderr).toContain("Fix: mount a writable volume")
      } finally {
        rmSync(parent, { recursive: true, force: true })
      }
    })

    it("HEALTH_PORT in use", async () => {
      const squatter = createServer()
      const port = await new Promise<number>((r) => squatter.listen(0, "127.0.0.1", () => r((squatter.address() as { port: number }).port)))
      const dir = mkdtempSync(join(tmpdir(), "cmh-fast-"))
      try {
        const result = await runToExit({ ...(await base()), CONFIG_DIR: dir, HEALTH_PORT: String(port) })
        expect(result.code).toBe(78)
        expect(result.stderr).toContain(`HEALTH_PORT=${port}`)
        expect(pidsMatching(`${dir}/master.sock`)).toEqual([])
      } finally {
        squatter.close()
        rmSync(dir, { recursive: true, force: true })
      }
    })
  })
})
