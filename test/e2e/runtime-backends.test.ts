/**
 * New and removed services through the agent, on the HAProxy under test. On 3.4 and later (the
 * version is detected, as the agent does) they take no reload: the master's reload counter and its
 * process list (`show proc`: the same single worker, no old one) stay as they were, while the new
 * host answers from its instance, the generation's files say the same (a reload by hand keeps it
 * routed) and the deleted service answers 404. Before 3.4 the same changes take the reload path.
 */
import { execFileSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { DeleteServiceCommand } from "@aws-sdk/client-servicediscovery"
import { Effect, Schedule } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { reload, showProc } from "../../src/haproxy/master-cli.ts"
import { supportsRuntimeBackends } from "../../src/haproxy/runtime-backend-api.ts"
import { startMockCloudMap, type MockCloudMapHandle } from "../../src/mock/server.ts"
import { type AgentProcess, eventually, startAgent, viaHaproxy } from "../support/agent.ts"
import { type Backends, startBackends } from "../support/backends.ts"
import { createService, deregister, namespaceId, register, sdkFor } from "../support/cloudmap-sdk.ts"

const NAMESPACE_MAP = JSON.stringify([{ namespace: "apps", domainname: "example.test" }])
const version = /version (\S+)/.exec(execFileSync(process.env.HAPROXY_BIN ?? "haproxy", ["-v"], { encoding: "utf8" }))?.[1] ?? ""
const runtime = supportsRuntimeBackends(version)

/** `show proc` (retried: the master CLI refuses connections for a moment during a reload). */
const processes = (agent: AgentProcess) =>
  Effect.runPromise(
    showProc(join(agent.configDir, "master.sock")).pipe(Effect.retry({ schedule: Schedule.spaced("100 millis"), times: 30 }))
  ).then((p) => ({
    reloads: p.master.reloads,
    workers: p.workers.map((w) => w.pid),
    oldWorkers: p.oldWorkers.map((w) => w.pid)
  }))

const recentMethods = async (agent: AgentProcess): Promise<ReadonlyArray<{ method: string; reason: string }>> =>
  JSON.parse((await agent.get("/status")).body).recentChanges

describe(`new and removed services on HAProxy ${version} (${runtime ? "runtime backends" : "reload path"})`, () => {
  let backends: Backends
  let mock: MockCloudMapHandle
  let agent: AgentProcess

  beforeAll(async () => {
    backends = await startBackends([{ name: "web-1" }, { name: "new-1" }])
    mock = await startMockCloudMap({
      fixture: {
        namespaces: [{
          name: "apps",
          services: [
            { name: "web", id: "srv-web", instances: [{ id: "web-1", attributes: { AWS_INSTANCE_IPV4: "127.0.0.1", AWS_INSTANCE_PORT: String(backends.byName("web-1").port) } }] }
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
  })

  it(runtime ? "routes a new service, then removes it, with no reload" : "routes a new service, then removes it, each with a reload", async () => {
    const sdk = sdkFor(mock.url)
    const before = await processes(agent)
    expect(before.workers).toHaveLength(1)

    const id = await createService(sdk, await namespaceId(sdk, "apps"), "fresh")
    await register(sdk, id, "fresh-1", backends.byName("new-1").port)
    const routed = await eventually("fresh.example.test routed", async () => {
      const r = await viaHaproxy(agent.listenPort, "fresh.example.test")
      return r.status === 200 ? r : undefined
    })
    expect(JSON.parse(routed.body).server).toBe("new-1")
    // The generation's files hold the new service too. They are installed right after the runtime
    // steps are verified (the map entry, the last step, makes it routable), so wait for them.
    await eventually("the files hold it", async () =>
      /^backend be_fresh\.example\.test$/m.test(readFileSync(join(agent.configDir, "haproxy.cfg"), "utf8")))
    expect(readFileSync(join(agent.configDir, "hosts.map"), "utf8")).toContain("fresh.example.test be_fresh.example.test\n")

    const added = await processes(agent)
    const methods = await recentMethods(agent)
    if (runtime) {
      expect(added).toEqual(before)
      expect(methods.some((c) => c.method === "runtime" && c.reason.includes("new service be_fresh.example.test"))).toBe(true)
    } else {
      expect(added.reloads).toBeGreaterThan(before.reloads)
    }

    // Unknown hosts still go nowhere but the 404.
    expect((await viaHaproxy(agent.listenPort, "fresh.example.test.evil.test")).status).toBe(404)

    await deregister(sdk, id, "fresh-1")
    await sdk.send(new DeleteServiceCommand({ Id: id }))
    await eventually("fresh.example.test gone", async () => (await viaHaproxy(agent.listenPort, "fresh.example.test")).status === 404)
    expect((await viaHaproxy(agent.listenPort, "web.example.test")).status).toBe(200)
    await eventually("the files no longer hold it", async () =>
      !readFileSync(join(agent.configDir, "haproxy.cfg"), "utf8").includes("backend be_fresh.example.test"))
    const removed = await processes(agent)
    if (runtime) expect(removed).toEqual(before)
    else expect(removed.reloads).toBeGreaterThan(added.reloads)
  })

  it("keeps a new service routed across a reload by hand (the files say what runs)", async () => {
    const sdk = sdkFor(mock.url)
    const id = await createService(sdk, await namespaceId(sdk, "apps"), "kept")
    await register(sdk, id, "kept-1", backends.byName("new-1").port)
    await eventually("kept.example.test routed", async () => (await viaHaproxy(agent.listenPort, "kept.example.test")).status === 200)
    const before = await processes(agent)
    await Effect.runPromise(reload(join(agent.configDir, "master.sock")))
    const after = await processes(agent)
    expect(after.reloads).toBe(before.reloads + 1)
    const r = await viaHaproxy(agent.listenPort, "kept.example.test")
    expect(r.status).toBe(200)
    expect(JSON.parse(r.body).server).toBe("new-1")
    expect((await viaHaproxy(agent.listenPort, "web.example.test")).status).toBe(200)
  })
})
