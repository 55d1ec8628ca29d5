/** Builders shared by the plan and render tests (plain data, no I/O except writeRendered). */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type {
  DiscoveredInstance,
  DiscoveredNamespace,
  DiscoveredService,
  InstanceHealth,
  NamespaceMapping,
  Snapshot
} from "../../src/model/snapshot.ts"
import type { RenderSettings } from "../../src/render/settings.ts"
import type { RenderedFiles } from "../../src/render/render.ts"

export const instance = (
  id: string,
  ip: string | undefined,
  port: string | undefined,
  extra: Readonly<Record<string, string>> = {},
  health: InstanceHealth | undefined = "HEALTHY"
): DiscoveredInstance => ({
  id,
  attributes: {
    ...(ip !== undefined ? { AWS_INSTANCE_IPV4: ip } : {}),
    ...(port !== undefined ? { AWS_INSTANCE_PORT: port } : {}),
    ...extra
  },
  health
})

export const ipv6Instance = (id: string, ip: string, port: string): DiscoveredInstance => ({
  id,
  attributes: { AWS_INSTANCE_IPV6: ip, AWS_INSTANCE_PORT: port },
  health: "HEALTHY"
})

export const service = (
  name: string,
  instances: ReadonlyArray<DiscoveredInstance>,
  id = `srv-${name.replace(/[^a-z0-9]/gi, "x").slice(0, 40)}`
): DiscoveredService => ({ _tag: "Ok", id, name, revision: 1, instances })

export const failedService = (name: string, id = `srv-failed-${name}`): DiscoveredService => ({
  _tag: "Failed",
  id,
  name,
  error: "ThrottlingException"
})

export const namespace = (
  mapping: NamespaceMapping,
  services: ReadonlyArray<DiscoveredService>
): DiscoveredNamespace => ({
  _tag: "Ok",
  mapping,
  id: `ns-${mapping.namespace}`,
  httpName: mapping.namespace,
  services
})

export const failedNamespace = (mapping: NamespaceMapping): DiscoveredNamespace => ({
  _tag: "Failed",
  mapping,
  error: "AccessDeniedException"
})

export const hostNs = (ns: string, domain: string): NamespaceMapping => ({ namespace: ns, domain, mode: "host" })
export const pathNs = (ns: string, domain: string): NamespaceMapping => ({ namespace: ns, domain, mode: "path" })

export const snapshot = (namespaces: ReadonlyArray<DiscoveredNamespace>): Snapshot => ({
  namespaces,
  takenAt: 1_700_000_000_000
})

/** `openssl passwd -6 -rounds 1000 -salt somesalt secret` (the rounds the agent uses: src/config/password-hash.ts) */
export const SECRET_HASH =
  "$6$rounds=1000$somesalt$sG2CgP/G77CW5hH.43hUvIrpmMRs5RVNvOAsHtUzZ.Q3cMJkdokVTwmYfkuDdCgHqpOl4ilmdi7CCajxXR.fE0"

export const settings = (overrides: Partial<RenderSettings> = {}): RenderSettings => ({
  listenAddress: "127.0.0.1",
  listenPort: 8080,
  configDir: "/run/cloudmap-haproxy",
  nbthread: 2,
  hardStopAfterSeconds: 60,
  defaultDomain: undefined,
  stats: { user: "admin", passwordHash: SECRET_HASH },
  metrics: { user: "prom", passwordHash: SECRET_HASH },
  ...overrides
})

const created: Array<string> = []

/** A fresh temp directory (its path is what settings.configDir must be for `haproxy -c`). */
export const tempDir = (prefix: string): string => {
  const dir = mkdtempSync(join(tmpdir(), `cmh-${prefix}-`))
  created.push(dir)
  return dir
}

/** Removes every directory tempDir created in this test file (call from afterAll). */
export const removeTempDirs = (): void => {
  for (const dir of created.splice(0)) rmSync(dir, { recursive: true, force: true })
}

export const writeRendered = (dir: string, files: RenderedFiles): string => {
  mkdirSync(dir, { recursive: true })
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content)
  return join(dir, "haproxy.cfg")
}

/** Host mode: two instances, an SRV-style IPv6 service, a zero-instance service, one quarantined. */
export const hostModeSnapshot = (): Snapshot =>
  snapshot([
    namespace(hostNs("apps", "example.com"), [
      service("web", [
        instance("0f1e2d3c4b5a69788796a5b4c3d2e1f0", "10.0.1.11", "8080"),
        instance("7c3a9e1b2d4f60718293a4b5c6d7e8f9", "10.0.1.12", "8080")
      ]),
      service("_api._tcp", [ipv6Instance("arn:task/API-1", "2001:db8::10", "8443")]),
      service("idle", []),
      service("bad name", [])
    ])
  ])

/** Path mode: two services under one domain, a reserved segment (quarantined). */
export const pathModeSnapshot = (): Snapshot =>
  snapshot([
    namespace(pathNs("internal", "example.net"), [
      service("web", [instance("task-1", "10.0.2.21", "80"), instance("task-2", "10.0.2.22", "80")]),
      service("docs", [instance("task-3", "10.0.2.23", undefined)]),
      service("metrics", [instance("task-4", "10.0.2.24", "9100")])
    ])
  ])
