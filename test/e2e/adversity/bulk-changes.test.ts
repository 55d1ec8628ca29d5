/**
 * Adversity: bulk changes (issue 9, item 6). One service of 600 instances, then 500 of them
 * deregistered at once. Seen before: the runtime update opened one admin-socket connection per
 * command, all at once; HAProxy's CLI (10 connections) refused them with ECONNREFUSED, the update
 * failed and the agent reloaded instead.
 *
 * Required: the change goes through the runtime API (no reload, no refused connection in the logs),
 * `show servers state` lists exactly the 100 remaining servers within a bounded time, and traffic
 * to the remaining real backends flows before, during and after.
 *
 * Two instances are real HTTP backends; the other 598 point at ports nothing listens on
 * (20000-20599, below the kernel's ephemeral range), which HAProxy's health checks mark DOWN.
 * Cloud Map reads of the service fail (mock fault) while the 500 deregistrations are made, so the
 * agent sees them in one step.
 */
import { Effect } from "effect"
import { join } from "node:path"
import { afterAll, beforeAll, expect, it } from "vitest"
import { makeRuntimeApi } from "../../../src/haproxy/runtime-api.ts"
import type { Fixture } from "../../../src/mock/fixture.ts"
import { type MockCloudMapHandle, startMockCloudMap } from "../../../src/mock/server.ts"
import { type AgentProcess, eventually, masterReloads, startAgent, viaHaproxy } from "../../support/agent.ts"
import { type Backends, startBackends } from "../../support/backends.ts"
import { deregister, sdkFor } from "../../support/cloudmap-sdk.ts"

const NAMESPACE_MAP = JSON.stringify([{ namespace: "apps", domainname: "example.test", mode: "host" }])
const HOST = "bulk.example.test"
const BACKEND = "be_bulk.example.test"
const TOTAL = 600
const REMOVED = 500
const id = (i: number) => `bulk-${String(i).padStart(3, "0")}`
/** Instances 0 and 1 are the real backends; 0-99 stay, 100-599 go. */
const kept = Array.from({ length: TOTAL - REMOVED }, (_, i) => id(i))
const removed = Array.from({ length: REMOVED }, (_, i) => id(TOTAL - REMOVED + i))

const fixtureFor = (b: Backends): Fixture => ({
  namespaces: [{
    name: "apps",
    id: "ns-apps",
    services: [{
      name: "bulk",
      id: "srv-bulk",
      instances: Array.from({ length: TOTAL }, (_, i) => ({
        id: id(i),
        attributes: {
          AWS_INSTANCE_IPV4: "127.0.0.1",
          AWS_INSTANCE_PORT: String(i === 0 ? b.byName("keep-1").port : i === 1 ? b.byName("keep-2").port : 20_000 + i)
        }
      }))
    }]
  }]
})

let backends: Backends
let mock: MockCloudMapHandle
let agent: AgentProcess

const serverNames = async () => {
  const api = makeRuntimeApi(join(agent.configDir, "admin.sock"))
  const rows = await Effect.runPromise(api.showServersState(BACKEND))
  return rows.map((r) => r.serverName).sort()
}

/** One request through HAProxy; the name of the backend that answered, or what went wrong. */
const probe = async () => {
  try {
    const r = await viaHaproxy(agent.listenPort, HOST)
    return r.status === 200 ? (JSON.parse(r.body) as { server: string }).server : `status ${r.status}`
  } catch (e) {
    return `error ${String(e)}`
  }
}

beforeAll(async () => {
  backends = await startBackends([{ name: "keep-1" }, { name: "keep-2" }])
  mock = await startMockCloudMap({ fixture: fixtureFor(backends) })
  agent = await startAgent({ AWS_ENDPOINT_URL_SERVICEDISCOVERY: mock.url, NAMESPACE_MAP, MAX_REMOVAL_PERCENT: "100" })
  await agent.ready(90_000)
}, 120_000)

afterAll(async () => {
  await agent?.stop()
  await mock?.close()
  await backends?.close()
})

it("500 of 600 instances deregistered at once: applied through the runtime API, no reload, traffic keeps flowing", async () => {
  // Server names follow the instance ids; all 600 are there.
  const initial = await serverNames()
  expect(initial).toHaveLength(TOTAL)
  const nameOf = new Map(Array.from({ length: TOTAL }, (_, i) => [id(i), initial.find((n) => n.endsWith(id(i)))!]))
  expect([...nameOf.values()].filter((n) => n !== undefined)).toHaveLength(TOTAL)
  // Health checks have marked the dead ports DOWN: only the two real backends answer.
  await eventually("only the real backends answer", async () => {
    const seen = await Promise.all(Array.from({ length: 10 }, () => probe()))
    return seen.every((s) => s === "keep-1" || s === "keep-2")
  }, 30_000)
  const reloadsBefore = await masterReloads(agent)
  const logsBefore = agent.logs.length

  // Traffic all along: one request at a time until the change is verified.
  const seen: Array<string> = []
  let probing = true
  const prober = (async () => {
    while (probing) seen.push(await probe())
  })()

  // Hold the service's reads back while deregistering, so the agent sees all 500 removals at once.
  const fault = await fetch(`${mock.url}/_mock/faults`, {
    method: "POST",
    body: JSON.stringify({ kind: "5xx", status: 503, operation: ["DiscoverInstances", "DiscoverInstancesRevision"], service: "bulk" })
  })
  expect(fault.status).toBe(200)
  const sdk = sdkFor(mock.url)
  let next = 0
  await Promise.all(Array.from({ length: 20 }, async () => {
    while (next < removed.length) await deregister(sdk, "srv-bulk", removed[next++]!)
  }))
  expect((await fetch(`${mock.url}/_mock/faults`, { method: "DELETE" })).status).toBe(200)
  const released = Date.now()

  const expected = kept.map((i) => nameOf.get(i)!).sort()
  await eventually("show servers state lists exactly the remaining servers", async () => {
    const now = await serverNames()
    return now.length === expected.length && now.every((n, i) => n === expected[i])
  }, 30_000)
  const convergedMs = Date.now() - released
  probing = false
  await prober
  console.log(`[timing] ${REMOVED} removals seen → show servers state matches: ${convergedMs} ms (${seen.length} requests meanwhile)`)

  // One step (all 500 at once), through the runtime API: no refused connection, no fallback reload.
  const applied = await eventually("the change reported applied", async () =>
    agent.logs.slice(logsBefore).find((l) => l.includes("configuration applied") && l.includes(`-${REMOVED} `)), 15_000)
  console.log(`[applied] ${applied.slice(0, 400)}`)
  expect(agent.logs.slice(logsBefore).filter((l) => /reloading instead|ECONNREFUSED|EAGAIN/.test(l))).toEqual([])
  expect(applied).toContain(`"method":"runtime"`)
  expect(await masterReloads(agent)).toBe(reloadsBefore)

  // Traffic flowed to the real backends throughout, and still does.
  expect(seen.length).toBeGreaterThan(0)
  expect(seen.filter((s) => s !== "keep-1" && s !== "keep-2")).toEqual([])
  const after = await Promise.all(Array.from({ length: 20 }, () => probe()))
  expect(new Set(after)).toEqual(new Set(["keep-1", "keep-2"]))
}, 180_000)
