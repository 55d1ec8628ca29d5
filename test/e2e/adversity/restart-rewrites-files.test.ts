/**
 * Adversity: HAPROXY_RESTART=true and HAProxy killed after its files were removed from CONFIG_DIR
 * (a cleanup gone wrong, a volume replaced). The restart must not depend on what is left on disk:
 * the agent writes the files of the configuration HAProxy served again and starts HAProxy on
 * them; routes serve again and the agent keeps running.
 */
import { readdirSync, rmSync } from "node:fs"
import { join } from "node:path"
import { afterAll, beforeAll, expect, it } from "vitest"
import { type MockCloudMapHandle, startMockCloudMap } from "../../../src/mock/server.ts"
import { APPS_HOST_MAP, eventually, startAgent, viaHaproxy } from "../../support/agent.ts"
import { type Backends, startBackends } from "../../support/backends.ts"
import { appsFixture } from "../../support/fixtures.ts"

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

it("a restart after the configuration files were removed renders them again", async () => {
  const agent = await startAgent({
    AWS_ENDPOINT_URL_SERVICEDISCOVERY: mock.url,
    NAMESPACE_MAP: APPS_HOST_MAP,
    HAPROXY_RESTART: "true"
  })
  try {
    await agent.ready()
    expect((await viaHaproxy(agent.listenPort, "web.example.test")).status).toBe(200)
    const before = agent.haproxyPids()
    // Everything HAProxy loads is gone; then HAProxy dies.
    for (const name of readdirSync(agent.configDir)) {
      if (!name.endsWith(".sock")) rmSync(join(agent.configDir, name), { recursive: true, force: true })
    }
    for (const pid of before) process.kill(pid, "SIGKILL")
    await eventually("served again after the restart", async () =>
      (await viaHaproxy(agent.listenPort, "web.example.test")).status === 200 ? true : undefined, 20_000)
    expect(agent.haproxyPids().some((p) => before.includes(p))).toBe(false)
    expect(agent.logs.some((l) => l.includes("HAProxy died"))).toBe(true)
    await eventually("ready again", async () => (await agent.get("/readyz")).status === 200)
  } catch (e) {
    console.log(agent.logs.filter((l) => /died|restart|could not|error|HAProxy started/i.test(l)).slice(-15).join("\n"))
    throw e
  } finally {
    await agent.stop()
  }
}, 60_000)
