/**
 * Per-service options against the injection corpus (test/support/option-payloads.ts): one agent,
 * one service per hostile value in a host-mode and a path-mode namespace. Each service gets its
 * value under every option key (and as a key suffix); half of them turn `haproxy.check=http` on
 * so the check settings' own grammars are reached. Hostile `haproxy.weight` values go on extra
 * instances. Every option is ignored and reported, every service keeps serving, no candidate is
 * rejected, the live haproxy.cfg passes `haproxy -c` and holds none of the payloads; afterwards a
 * good option still gets applied.
 */
import { existsSync, readdirSync } from "node:fs"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type MockCloudMapHandle, startMockCloudMap } from "../../../src/mock/server.ts"
import { type AgentProcess, eventually, startAgent, viaHaproxy } from "../../support/agent.ts"
import { type Backends, startBackends } from "../../support/backends.ts"
import { sdkFor } from "../../support/cloudmap-sdk.ts"
import { checkConfig } from "../../support/haproxy-process.ts"
import { SERVICE_OPTION_KEYS } from "../../../src/plan/options.ts"
import { distinctive, HOSTILE_VALUES, HOSTILE_WEIGHTS } from "../../support/option-payloads.ts"
import {
  backendSection,
  deleteServiceAttributes,
  ignoredOptions,
  liveConfig,
  OPTIONS_ENV,
  registerWith,
  serverWeight,
  setServiceAttributes,
  statusOf
} from "../../support/options.ts"

const NAMESPACES = [
  { namespace: "apps", domainname: "example.test", mode: "host", id: "ns-apps", prefix: "h" },
  { namespace: "int", domainname: "paths.test", mode: "path", id: "ns-int", prefix: "p" }
] as const
type Ns = (typeof NAMESPACES)[number]

/** Service `<prefix><i>` carries HOSTILE_VALUES[i]; even ones have a valid `haproxy.check=http`. */
const services = (ns: Ns) => HOSTILE_VALUES.map((value, i) => ({ ns, i, name: `${ns.prefix}${i}`, id: `srv-${ns.prefix}${i}`, value }))
const ALL = NAMESPACES.flatMap(services)

const attributesFor = (i: number, value: string): Record<string, string> => {
  const attrs: Record<string, string> = Object.fromEntries(SERVICE_OPTION_KEYS.map((k) => [k, value]))
  if (i % 2 === 0) attrs["haproxy.check"] = "http"
  // Key suffixes: unknown keys under the prefix (Cloud Map keys are at most 255 characters).
  attrs[`haproxy.${value.slice(0, 200)}`] = "1"
  attrs[`haproxy.check.${value.slice(0, 200)}`] = "1"
  return attrs
}

/**
 * The option keys whose hostile value must be reported for service i (`0x10`, `1e3` and `-5s`,
 * aimed at the number and duration parsers, are fine cookie names).
 */
const expectedKeys = (i: number) =>
  SERVICE_OPTION_KEYS.filter((k) =>
    !(i % 2 === 0 && k === "haproxy.check") && !(k === "haproxy.cookie" && /^[A-Za-z0-9_-]{1,64}$/.test(HOSTILE_VALUES[i]!))
  )

const request = (agent: AgentProcess, s: (typeof ALL)[number]) =>
  s.ns.mode === "host"
    ? viaHaproxy(agent.listenPort, `${s.name}.${s.ns.domainname}`)
    : viaHaproxy(agent.listenPort, s.ns.domainname, `/${s.name}/`)

const backendName = (s: (typeof ALL)[number]) =>
  s.ns.mode === "host" ? `be_${s.name}.${s.ns.domainname}` : `be_${s.ns.domainname}_${s.name}`

describe("options: injection corpus", () => {
  let backends: Backends
  let mock: MockCloudMapHandle
  let agent: AgentProcess
  let baseline = ""

  beforeAll(async () => {
    backends = await startBackends([{ name: "echo" }])
    const port = String(backends.byName("echo").port)
    mock = await startMockCloudMap({
      fixture: {
        namespaces: NAMESPACES.map((ns) => ({
          name: ns.namespace,
          id: ns.id,
          services: services(ns).map((s) => ({
            name: s.name,
            id: s.id,
            instances: [{ id: `${s.name}-1`, attributes: { AWS_INSTANCE_IPV4: "127.0.0.1", AWS_INSTANCE_PORT: port } }]
          }))
        }))
      }
    })
    agent = await startAgent({
      AWS_ENDPOINT_URL_SERVICEDISCOVERY: mock.url,
      NAMESPACE_MAP: JSON.stringify(NAMESPACES.map(({ namespace, domainname, mode }) => ({ namespace, domainname, mode }))),
      ...OPTIONS_ENV,
      MAX_REMOVAL_PERCENT: "100"
    })
    await agent.ready()
    for (const s of ALL) await eventually(`${s.name} serving`, async () => (await request(agent, s)).status === 200)
    baseline = liveConfig(agent)
  })

  afterAll(async () => {
    await agent?.stop()
    await mock?.close()
    await backends?.close()
  })

  it("every hostile value and key is ignored and reported, and every service keeps serving", async () => {
    const sdk = sdkFor(mock.url)
    const port = backends.byName("echo").port
    for (const s of ALL) await setServiceAttributes(sdk, s.id, attributesFor(s.i, s.value))
    // Hostile weights on a second instance of the first services of the host-mode namespace.
    const weighted = ALL.filter((s) => s.ns.mode === "host").slice(0, HOSTILE_WEIGHTS.length)
    for (const [n, s] of weighted.entries()) await registerWith(sdk, s.id, `${s.name}-w`, port, { "haproxy.weight": HOSTILE_WEIGHTS[n]! })

    const reported = await eventually("every hostile option reported", async () => {
      const ignored = await ignoredOptions(agent)
      const missing: Array<string> = []
      for (const s of ALL) {
        const mine = ignored.filter((o) => o.namespace === s.ns.namespace && o.service === s.name && o.instanceId === undefined)
        for (const key of expectedKeys(s.i)) if (!mine.some((o) => o.key === key)) missing.push(`${s.name} ${key}`)
        // The two unknown keys: whatever form they are shown in, two more reports.
        if (mine.length < expectedKeys(s.i).length + 2) missing.push(`${s.name}: ${mine.length} reports`)
      }
      for (const s of weighted) {
        if (!ignored.some((o) => o.service === s.name && o.instanceId === `${s.name}-w` && o.key === "haproxy.weight")) {
          missing.push(`${s.name}-w haproxy.weight`)
        }
      }
      // Thrown, so a timeout says what is still missing.
      if (missing.length > 0) throw new Error(`${missing.length} missing: ${missing.slice(0, 8).join("; ")}`)
      return ignored
    }, 40_000)
    for (const o of reported) expect(o.reason.length, JSON.stringify(o)).toBeGreaterThan(5)

    // The reports are settled; the configuration they produced is installed (nothing pending).
    await eventually("nothing pending", async () => (await statusOf(agent)).pending === null, 20_000)
    for (const s of ALL) {
      const reply = await request(agent, s)
      expect(reply.status, s.name).toBe(200)
    }
    // The extra instances serve at the default weight.
    for (const s of weighted) {
      const weight = await eventually(`${s.name}-w in HAProxy`, async () => {
        try {
          return String(await serverWeight(agent, backendName(s), `i-${s.name}-w`))
        } catch {
          return undefined
        }
      })
      expect(weight, s.name).toBe("1")
    }
  })

  it("the live haproxy.cfg holds none of the payloads, only printable ASCII, and passes haproxy -c; nothing was rejected", async () => {
    const cfg = liveConfig(agent)
    expect(cfg).toMatch(/^[\x20-\x7e\n]*$/)
    for (const value of [...HOSTILE_VALUES, ...HOSTILE_WEIGHTS]) {
      if (!distinctive(value) || baseline.includes(value)) continue
      expect(cfg.includes(value), `haproxy.cfg contains ${JSON.stringify(value)}`).toBe(false)
    }
    for (const fragment of ["evil", "pwn", "attacker", "%[src]", "%[req", "${", "x/y", "backup"]) {
      if (!baseline.includes(fragment)) expect(cfg, fragment).not.toContain(fragment)
    }
    const check = checkConfig(join(agent.configDir, "haproxy.cfg"))
    expect(check.ok, check.output).toBe(true)
    const rejected = join(agent.configDir, "rejected")
    expect(existsSync(rejected) ? readdirSync(rejected) : []).toEqual([])
    const status = await statusOf(agent)
    expect(status.config.lastError).toBeNull()
  })

  it("afterwards a good option is still applied", async () => {
    const sdk = sdkFor(mock.url)
    const s = ALL[1]!
    await deleteServiceAttributes(sdk, s.id, Object.keys(attributesFor(s.i, s.value)))
    await setServiceAttributes(sdk, s.id, { "haproxy.maxconn": "77" })
    await eventually("maxconn 77 in the live config", async () => /maxconn 77\b/.test(backendSection(liveConfig(agent), backendName(s))), 20_000)
    await eventually("its reports cleared", async () => {
      // Its service-level reports (h1-w keeps its hostile weight).
      const left = (await ignoredOptions(agent)).filter((o) => o.service === s.name && o.namespace === s.ns.namespace && o.instanceId === undefined)
      if (left.length > 0) throw new Error(JSON.stringify(left.slice(0, 3)))
      return true
    }, 20_000)
    expect((await request(agent, s)).status).toBe(200)
  })
})
