/**
 * Every shape of rendered config passes `haproxy -c` on the installed HAProxy (2.6 here), with
 * the files written into a temp dir that IS settings.configDir (where the admin socket goes; map
 * paths are relative to the config file, see the relocation tests at the end).
 */
import { rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import type { Desired } from "../../src/model/desired.ts"
import type { RenderSettings } from "../../src/render/settings.ts"
import type { Snapshot } from "../../src/model/snapshot.ts"
import { plan } from "../../src/plan/plan.ts"
import { render, RENDERED_FILE_NAMES } from "../../src/render/render.ts"
import { spawnSync } from "node:child_process"
import { checkConfig, type CheckResult, configProblems, HAPROXY_BIN } from "../support/haproxy-process.ts"
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

/** `haproxy -c -f <cfg>` run from `cwd` (relative map names must not depend on it). */
const checkFrom = (cfgPath: string, cwd: string): CheckResult => {
  const result = spawnSync(HAPROXY_BIN, ["-c", "-f", cfgPath], { encoding: "utf8", timeout: 30_000, cwd })
  return { ok: result.status === 0, status: result.status, output: `${result.stdout ?? ""}${result.stderr ?? ""}` }
}

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
    expect(configProblems(result.output)).toEqual([])
  })

  it("and the check itself fails on a broken config (so the tests above can fail)", () => {
    const dir = tempDir("check-bad")
    const files = render(plan(mixed(), { defaultInstancePort: 8000 }), settings({ configDir: dir }))
    const broken = { ...files, "haproxy.cfg": files["haproxy.cfg"].replace("balance roundrobin", "balance nonsense") }
    expect(checkConfig(writeRendered(dir, broken)).ok).toBe(false)
    // Map names are relative to the config file's directory: a config without its maps is refused.
    const alone = tempDir("check-alone")
    writeFileSync(join(alone, "haproxy.cfg"), files["haproxy.cfg"])
    writeFileSync(join(alone, "hosts.map"), files["hosts.map"])
    // ...even when run from a directory that has them (the cwd plays no part).
    const result = checkFrom(join(alone, "haproxy.cfg"), dir)
    expect(result.ok).toBe(false)
    expect(result.output).toMatch(/paths\.map/)
  })
})

describe("the rendered bundle is relocatable (default-path config)", () => {
  const configDir = "/run/cloudmap-haproxy"
  const files = render(plan(mixed(), { defaultInstancePort: 8000 }), settings({ configDir }))

  it("passes haproxy -c from any directory and any cwd, and only the admin socket names configDir", () => {
    expect(files["haproxy.cfg"].split(configDir).length - 1).toBe(1)
    for (const cwd of ["/", tmpdir()]) {
      const dir = join(tempDir("relocated"), "generations", "7")
      const result = checkFrom(writeRendered(dir, files), cwd)
      expect(result.ok, result.output).toBe(true)
    }
  })

  it("resolves the maps through the directory HAProxy was given with -f, following symlinks to a generation", () => {
    // The agent's layout: haproxy.cfg and the maps are links to current/<name>, current links to
    // generations/<n>; HAProxy is started with -f <root>/haproxy.cfg.
    const root = tempDir("layout")
    writeRendered(join(root, "generations", "1"), files)
    symlinkSync("generations/1", join(root, "current"))
    for (const name of RENDERED_FILE_NAMES) symlinkSync(`current/${name}`, join(root, name))
    const linked = checkFrom(join(root, "haproxy.cfg"), "/")
    expect(linked.ok, linked.output).toBe(true)
    // A map missing at the top level is reported even though generations/1 has it.
    rmSync(join(root, "paths.map"))
    const missing = checkFrom(join(root, "haproxy.cfg"), join(root, "generations", "1"))
    expect(missing.ok).toBe(false)
    expect(missing.output).toMatch(/paths\.map/)
  })
})
