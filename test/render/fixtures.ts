/** Builders shared by the plan and render tests (plain data, no I/O except writeRendered). */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs"
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
import type { RenderSettings } from "../../src/model/render-settings.ts"
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

/** `openssl passwd -6 -salt somesalt secret` */
export const SECRET_HASH =
  "$6$somesalt$JX0Uhce8rLRHbaqoSQDYsnTxsqcjCNNcrl79ieTwPGzEhxBEeJcsgDUWIOwc3sDvZN34ZJBWQep7.lcAuSesy/"

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

/** A fresh temp directory (its path is what settings.configDir must be for `haproxy -c`). */
export const tempDir = (prefix: string): string => mkdtempSync(join(tmpdir(), `cmh-${prefix}-`))

export const writeRendered = (dir: string, files: RenderedFiles): string => {
  mkdirSync(dir, { recursive: true })
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content)
  return join(dir, "haproxy.cfg")
}
