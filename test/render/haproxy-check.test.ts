/**
 * Every shape of rendered config passes `haproxy -c` on the installed HAProxy (2.6 here), with
 * the files written into a temp dir that IS settings.configDir (map paths are absolute).
 */
import { afterAll, describe, expect, it } from "vitest"
import type { Desired } from "../../src/model/desired.ts"
import type { RenderSettings } from "../../src/model/render-settings.ts"
import type { Snapshot } from "../../src/model/snapshot.ts"
import { plan } from "../../src/plan/plan.ts"
import { render } from "../../src/render/render.ts"
import { checkConfig } from "../support/haproxy-process.ts"
import {
  hostModeSnapshot,
  hostNs,
  instance,
  ipv6Instance,
  namespace,
  pathModeSnapshot,
  pathNs,
  service,
  removeTempDirs,
  settings,
  snapshot,
  tempDir,
  writeRendered
} from "./fixtures.ts"

afterAll(removeTempDirs)

const mixed = (): Snapshot =>
  snapshot([...hostModeSnapshot().namespaces, ...pathModeSnapshot().namespaces])

const longNames = (): Snapshot => {
  const domain = `${"d".repeat(63)}.${"e".repeat(63)}.${"f".repeat(63)}.${"g".repeat(50)}` // 242
  return snapshot([
    namespace(hostNs("h", domain), [service("a".repeat(10), [instance("x".repeat(64), "10.0.0.1", "80")])]),
    namespace(pathNs("p", domain), [service("b".repeat(10), [instance("y".repeat(64), "10.0.0.2", "80")])])
  ])
}

const cases: ReadonlyArray<readonly [string, () => Snapshot, Partial<RenderSettings>]> = [
  ["host + path mode, stats, metrics, default domain", mixed, { defaultDomain: "www.example.org" }],
  ["no stats, no metrics, no default domain", mixed, { stats: undefined, metrics: undefined }],
  ["stats only", mixed, { metrics: undefined }],
  ["metrics only", mixed, { stats: undefined }],
  ["IPv6-only servers", () =>
    snapshot([
      namespace(hostNs("apps", "example.com"), [
        service("v6", [ipv6Instance("a", "::1", "8080"), ipv6Instance("b", "2001:db8:0:0:1::2", "65535")])
      ])
    ]), {}],
  ["zero-instance services only", () =>
    snapshot([
      namespace(hostNs("apps", "example.com"), [service("idle", [])]),
      namespace(pathNs("int", "example.net"), [service("idle", [])])
    ]), {}],
  ["nothing discovered at all", () => snapshot([]), { defaultDomain: "www.example.org" }],
  ["listen on every IPv4 address", mixed, { listenAddress: "*", listenPort: 80 }],
  ["listen on IPv6 ::", mixed, { listenAddress: "::" }],
  ["256-character backend names, 66-character server names", longNames, {}],
  ["nbthread 1, hard-stop-after 1s", mixed, { nbthread: 1, hardStopAfterSeconds: 1 }]
]

describe("haproxy -c accepts every rendered shape", () => {
  it.each(cases)("%s", (label, build, overrides) => {
    const dir = tempDir("check")
    const desired: Desired = plan(build(), { defaultInstancePort: 8000 })
    const files = render(desired, settings({ ...overrides, configDir: dir }))
    const result = checkConfig(writeRendered(dir, files))
    expect(result.ok, `${label}:\n${result.output}`).toBe(true)
    expect(result.output).not.toMatch(/\[(WARNING|ALERT)\]/)
  })

  it("and the check itself fails on a broken config (so the tests above can fail)", () => {
    const dir = tempDir("check-bad")
    const files = render(plan(mixed(), { defaultInstancePort: 8000 }), settings({ configDir: dir }))
    const broken = { ...files, "haproxy.cfg": files["haproxy.cfg"].replace("balance roundrobin", "balance nonsense") }
    expect(checkConfig(writeRendered(dir, broken)).ok).toBe(false)
    // Map paths are absolute: a config whose configDir is not where the maps are is refused.
    const elsewhere = tempDir("check-elsewhere")
    const misplaced = render(plan(mixed(), { defaultInstancePort: 8000 }), settings({ configDir: `${elsewhere}/missing` }))
    const result = checkConfig(writeRendered(elsewhere, misplaced))
    expect(result.ok).toBe(false)
    expect(result.output).toMatch(/paths\.map/)
  })
})
