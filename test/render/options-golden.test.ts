/**
 * Golden render of an options-heavy desired state (every option somewhere, extra hosts, host and
 * path mode, zone affinity), compared byte for byte with test/golden/options.*. After an intended
 * change, rewrite them with `UPDATE_GOLDEN=1 npx vitest run test/render/options-golden.test.ts`
 * and review the diff. The golden config is also validated with `haproxy -c` ($HAPROXY_BIN).
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { plan } from "../../src/plan/plan.ts"
import { render, RENDERED_FILE_NAMES, renderSummary } from "../../src/render/render.ts"
import { checkConfig, configProblems } from "../support/haproxy-process.ts"
import { hostNs, instance, ipv6Instance, namespace, pathNs, removeTempDirs, service, settings, snapshot, tempDir, writeRendered } from "./fixtures.ts"
import { GOLDEN_CONFIG_DIR, GOLDEN_DIR, golden } from "./golden-files.ts"

afterAll(removeTempDirs)


const T0 = Date.UTC(2025, 0, 1)
const az = (zone: string, extra: Record<string, string> = {}) => ({ AVAILABILITY_ZONE: zone, ...extra })

const optionsSnapshot = () =>
  snapshot([
    namespace(hostNs("apps", "example.com"), [
      { ...service("web", [
        instance("web-a1", "10.0.1.11", "8080", az("us-east-1a", { "haproxy.weight": "10" })),
        instance("web-a2", "10.0.1.12", "8080", az("us-east-1a")),
        instance("web-b1", "10.0.2.11", "8080", az("us-east-1b", { "haproxy.weight": "5" }))
      ], "srv-web"), createdAt: T0 },
      { ...service("grpc", [
        instance("grpc-a1", "10.0.1.21", "50051", az("us-east-1a")),
        ipv6Instance("grpc-v6", "2001:db8::21", "50051")
      ], "srv-grpc"), createdAt: T0 + 1 },
      // Too few healthy in-zone instances: traffic fails over to the other zone.
      { ...service("ws", [
        instance("ws-a1", "10.0.1.31", "9000", az("us-east-1a"), "UNHEALTHY"),
        instance("ws-b1", "10.0.2.31", "9000", az("us-east-1b"))
      ], "srv-ws"), createdAt: T0 + 2 },
      // Asks for www.example.com too, which web holds: refused, reported.
      { ...service("shop", [instance("shop-a1", "10.0.1.41", "80", az("us-east-1a"))], "srv-shop"), createdAt: T0 + 3 }
    ]),
    namespace(pathNs("internal", "example.net"), [
      service("docs", [instance("docs-a1", "10.0.3.11", "80", az("us-east-1a"))], "srv-docs"),
      service("raw", [instance("raw-a1", "10.0.3.21", "80", az("us-east-1a"))], "srv-raw")
    ])
  ])

const serviceAttributes = new Map<string, Record<string, string>>([
  ["srv-web", {
    "haproxy.check": "http",
    "haproxy.check.path": "/healthz?probe=lb",
    "haproxy.check.status": "200-299,304",
    "haproxy.check.interval": "5s",
    "haproxy.balance": "leastconn",
    "haproxy.cookie": "SRV",
    "haproxy.maxconn": "200",
    "haproxy.hosts": "www.example.com,Web.Example.COM."
  }],
  ["srv-grpc", { "haproxy.protocol": "h2c", "haproxy.check": "http", "haproxy.check.path": "/grpc.health.v1.Health/Check", "haproxy.timeout.server": "1h" }],
  ["srv-ws", { "haproxy.timeout.tunnel": "1h", "haproxy.timeout.connect": "500ms", "haproxy.balance": "source" }],
  ["srv-shop", { "haproxy.hosts": "www.example.com", "haproxy.chek": "http" }],
  ["srv-docs", { "haproxy.check.interval": "750ms", "haproxy.balance": "random" }],
  ["srv-raw", { "haproxy.path.strip": "false", "haproxy.timeout.server": "90s" }]
])

const desired = plan(optionsSnapshot(), {
  defaultInstancePort: undefined,
  serviceAttributes,
  zoneAffinity: { zone: "us-east-1a", minHealthy: 1 }
})
const files = render(desired, settings({ configDir: GOLDEN_CONFIG_DIR, listenAddress: "*", listenPort: 80 }))

describe("golden options", () => {
  it.each(RENDERED_FILE_NAMES)("%s matches the golden bytes", (file) => {
    const name = file === "haproxy.cfg" ? "options.cfg" : `options.${file}`
    expect(files[file]).toBe(golden(name, files[file]))
  })

  it("summary matches the golden text", () => {
    const summary = renderSummary(desired)
    expect(summary).toBe(golden("options.summary.txt", summary))
  })

  it("the refused extra host and the unknown key are reported, nothing is quarantined", () => {
    expect(desired.quarantined).toEqual([])
    expect(desired.ignoredOptions.map((o) => [o.service, o.key])).toEqual([["shop", "haproxy.chek"], ["shop", "haproxy.hosts"]])
  })

  it("the golden config passes haproxy -c (moved to a temp configDir)", () => {
    const dir = tempDir("golden-options")
    const relocated = Object.fromEntries(
      RENDERED_FILE_NAMES.map((file) => {
        const name = file === "haproxy.cfg" ? "options.cfg" : `options.${file}`
        return [file, readFileSync(join(GOLDEN_DIR, name), "utf8").replaceAll(`${GOLDEN_CONFIG_DIR}/`, `${dir}/`)]
      })
    ) as Record<(typeof RENDERED_FILE_NAMES)[number], string>
    const result = checkConfig(writeRendered(dir, relocated))
    const problems = configProblems(result.output)
    expect(problems).toEqual([])
    expect(result.ok, result.output).toBe(true)
  })
})
