/**
 * Renders haproxy.cfg.example: the configuration the agent writes for a small, hand-built Cloud
 * Map topology, using the real planner and renderer (no Cloud Map, no HAProxy). The map files
 * are appended as comments. test/packaging/example-config.test.ts regenerates it and fails when
 * the committed file is stale, and runs `haproxy -c` on the same rendering.
 *
 *   npm run example:render            # writes haproxy.cfg.example
 *   bun scripts/render-example.ts --check   # exits 1 when the committed file differs
 */
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import process from "node:process"
import { Result } from "effect"
import { formatConfigProblems, readAgentConfig } from "../src/config/agent-config.ts"
import { sha512Crypt } from "../src/config/password-hash.ts"
import type { RenderSettings } from "../src/render/settings.ts"
import type { DiscoveredInstance, DiscoveredService, NamespaceMapping, Snapshot } from "../src/model/snapshot.ts"
import { plan } from "../src/plan/plan.ts"
import { render, type RenderedFiles, renderSummary } from "../src/render/render.ts"

export const EXAMPLE_FILE = "haproxy.cfg.example"

/** The sample deployment's environment (passwords are only hashed, with a fixed salt). */
export const EXAMPLE_ENV: Readonly<Record<string, string>> = {
  AWS_REGION: "us-east-1",
  NAMESPACE_MAP: JSON.stringify([
    { namespace: "prod.local", domainname: "example.com", mode: "host" },
    { namespace: "internal.local", domainname: "internal.example.com", mode: "path" }
  ]),
  DEFAULT_DOMAIN: "www.example.com",
  HAPROXY_NBTHREAD: "2",
  DEFAULT_INSTANCE_PORT: "8080",
  STATS_PASSWD: "example-stats-password",
  PROM_PASSWD: "example-metrics-password"
}

/** Fixed salt: the agent picks a random one per start; the example must be reproducible. */
const EXAMPLE_SALT = "cmhexamplesalt"

const config = (() => {
  const result = readAgentConfig(EXAMPLE_ENV)
  if (Result.isFailure(result)) throw new Error(`example environment invalid:\n${formatConfigProblems(result.failure)}`)
  return result.success
})()

const ecs = (taskId: string, ip: string, port: string | undefined, az: string): DiscoveredInstance => ({
  id: taskId,
  attributes: {
    AWS_INSTANCE_IPV4: ip,
    ...(port !== undefined ? { AWS_INSTANCE_PORT: port } : {}),
    AVAILABILITY_ZONE: az,
    ECS_CLUSTER_NAME: "prod",
    REGION: "us-east-1"
  },
  health: "HEALTHY"
})

const service = (id: string, name: string, instances: ReadonlyArray<DiscoveredInstance>): DiscoveredService => ({
  _tag: "Ok",
  id,
  name,
  revision: 3,
  instances
})

const mapping = (namespace: string): NamespaceMapping => {
  const found = config.namespaces.find((m) => m.namespace === namespace)
  if (found === undefined) throw new Error(`${namespace} is not in EXAMPLE_ENV.NAMESPACE_MAP`)
  return found
}

/**
 * prod.local (host mode, example.com):
 *   web          awsvpc tasks registered with SRV records (IP + container port), two AZs
 *   _api._tcp    bridge-mode tasks: SRV-style name, one EC2 host, two dynamic host ports
 *   billing      registered service with no running task: its host answers 503
 * internal.local (path mode, api.example.com):
 *   orders       two awsvpc tasks
 *   users        awsvpc task registered with an A record only: port from DEFAULT_INSTANCE_PORT
 *   stats        clashes with the /stats monitoring page: quarantined, not routed
 */
export const exampleSnapshot: Snapshot = {
  namespaces: [
    {
      _tag: "Ok",
      mapping: mapping("prod.local"),
      id: "ns-prodexample00001",
      httpName: "prod.local",
      services: [
        service("srv-web0000000000001", "web", [
          ecs("4b1f0c9e6a2d4f3b8c7e5a1d2f3b4c5d", "10.0.1.17", "8080", "us-east-1a"),
          ecs("9e8d7c6b5a4f4e3d8c2b1a0f9e8d7c6b", "10.0.2.41", "8080", "us-east-1b")
        ]),
        service("srv-api0000000000001", "_api._tcp", [
          ecs("1a2b3c4d5e6f4a7b8c9d0e1f2a3b4c5d", "10.0.1.200", "32768", "us-east-1a"),
          ecs("6f5e4d3c2b1a4f0e9d8c7b6a5f4e3d2c", "10.0.1.200", "32771", "us-east-1a")
        ]),
        service("srv-billing000000001", "billing", [])
      ]
    },
    {
      _tag: "Ok",
      mapping: mapping("internal.local"),
      id: "ns-internalexample01",
      httpName: "internal.local",
      services: [
        service("srv-orders0000000001", "orders", [
          ecs("0c1d2e3f4a5b4c6d8e7f9a0b1c2d3e4f", "10.0.3.12", "9000", "us-east-1a"),
          ecs("5d4c3b2a1f0e4d9c8b7a6f5e4d3c2b1a", "10.0.4.19", "9000", "us-east-1b")
        ]),
        service("srv-users00000000001", "users", [
          ecs("7a8b9c0d1e2f4a3b8c4d5e6f7a8b9c0d", "10.0.3.77", undefined, "us-east-1a")
        ]),
        service("srv-stats00000000001", "stats", [
          ecs("2e3f4a5b6c7d4e8f9a0b1c2d3e4f5a6b", "10.0.4.5", "8080", "us-east-1b")
        ])
      ]
    }
  ],
  takenAt: Date.UTC(2026, 0, 1)
}

/** The agent's RenderSettings for EXAMPLE_ENV, with fixed-salt hashes and the given configDir. */
export const exampleSettings = (configDir: string): RenderSettings => ({
  listenAddress: config.listenAddress,
  listenPort: config.listenPort,
  configDir,
  nbthread: config.nbthread,
  hardStopAfterSeconds: config.hardStopAfterSeconds,
  defaultDomain: config.defaultDomain,
  stats: config.stats === undefined
    ? undefined
    : { user: config.stats.user, passwordHash: sha512Crypt(config.stats.password, EXAMPLE_SALT) },
  metrics: config.metrics === undefined
    ? undefined
    : { user: config.metrics.user, passwordHash: sha512Crypt(config.metrics.password, EXAMPLE_SALT) }
})

export const exampleDesired = () => plan(exampleSnapshot, { defaultInstancePort: config.defaultInstancePort })

/** haproxy.cfg, hosts.map and paths.map exactly as the agent would write them into configDir. */
export const renderExampleFiles = (configDir: string): RenderedFiles => render(exampleDesired(), exampleSettings(configDir))

const commented = (text: string): string =>
  text.split("\n").map((line) => (line === "" ? "#" : `# ${line}`)).join("\n")

/** The text of haproxy.cfg.example for the agent's default CONFIG_DIR. */
export const renderExample = (): string => {
  const files = renderExampleFiles(config.configDir)
  const env = Object.entries(EXAMPLE_ENV).filter(([k]) => !k.endsWith("PASSWD")).map(([k, v]) => `${k}=${v}`)
  env.push("STATS_PASSWD, PROM_PASSWD set: only their SHA-512-crypt hashes reach the file (a fixed salt")
  env.push("  here so the example is reproducible; the agent picks a random salt at every start)")
  const header = [
    "haproxy.cfg.example: what cloudmap-haproxy writes to $CONFIG_DIR/haproxy.cfg for a small sample",
    "topology. Generated by scripts/render-example.ts (npm run example:render); do not edit by hand.",
    "",
    "Environment (everything else at its default):",
    ...env.map((line) => `  ${line}`),
    "",
    "Cloud Map, as ECS service discovery registers it:",
    "  prod.local      web (2 awsvpc tasks), _api._tcp (2 bridge tasks on one host), billing (no task)",
    "  internal.local  orders (2 tasks), users (A record only: DEFAULT_INSTANCE_PORT), stats (reserved name)",
    "",
    "What `cloudmap-haproxy render` prints for it:",
    ...renderSummary(exampleDesired()).trimEnd().split("\n").map((line) => `  ${line}`),
    "",
    "Instance changes go through HAProxy's runtime API without a reload; a new generation records them.",
    `The map files below sit next to haproxy.cfg (${config.configDir}/hosts.map, paths.map),`,
    "which names them relatively (default-path config). All three are links into current/, the",
    "generation HAProxy runs (generations/<n>/: directories 0700, files 0600)."
  ]
  return [
    commented(header.join("\n")),
    "",
    files["haproxy.cfg"].trimEnd(),
    "",
    commented(`----- ${config.configDir}/hosts.map -----\n${files["hosts.map"].trimEnd()}`),
    commented(`----- ${config.configDir}/paths.map -----\n${files["paths.map"].trimEnd()}`),
    ""
  ].join("\n")
}

if ((import.meta as { main?: boolean }).main) {
  const root = join(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..")
  const target = join(root, EXAMPLE_FILE)
  const text = renderExample()
  if (process.argv.includes("--check")) {
    const current = readFileSync(target, "utf8")
    if (current !== text) {
      process.stderr.write(`${EXAMPLE_FILE} is stale: run npm run example:render\n`)
      process.exit(1)
    }
    process.stdout.write(`${EXAMPLE_FILE} is up to date\n`)
  } else {
    writeFileSync(target, text)
    process.stdout.write(`wrote ${EXAMPLE_FILE} (${text.length} bytes)\n`)
  }
}

