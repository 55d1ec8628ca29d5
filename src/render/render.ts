/**
 * Desired + RenderSettings -> haproxy.cfg and the two map files, pure and deterministic: the same
 * inputs give the same bytes (everything sorted, no timestamps), so "did anything change" is a
 * byte compare and replicas agree.
 *
 * Everything placed in the files comes from a Desired (whose strings passed ../model/grammar.ts
 * in the planner) or from RenderSettings (validated by src/config; checked again here, and a bad
 * value throws, since it is a programming error rather than bad discovery data).
 *
 * The bundle is relocatable: `default-path config` in `global` makes the map names in
 * `http-request set-var(...) ...,map(hosts.map)` resolve against the directory of the config file
 * as HAProxy was given it with -f (not the cwd), so the same bytes are valid in
 * CONFIG_DIR/generations/<n>/ (where they are validated) and through CONFIG_DIR/haproxy.cfg
 * (where HAProxy loads them; see src/apply/generations.ts). Only the admin socket is an absolute
 * path in CONFIG_DIR. (2.6 cannot open a relative map path in `use_backend %[...map()]`; a
 * set-var sample expression is resolved at parse time with default-path, which is why routing
 * goes through txn.route.)
 *
 * Valid on HAProxy 2.6 and 3.x: nothing used here was added after 2.6 or is deprecated in 3.x.
 * Verified on 2.6.12 (see test/render): default-path config, set-var + concat + map for the
 * routing key, `[v6]:port` servers, single-quoted SHA-512-crypt hashes, `mworker-max-reloads`,
 * `idle-close-on-response`.
 */
import { isIP } from "node:net"
import { Order, Result } from "effect"
import { type Backend, byName, type Desired, type Server } from "../model/desired.ts"
import {
  checkIdentifier,
  checkIpv4,
  checkIpv6,
  checkPortNumber,
  normaliseHostname,
  printable,
  quote
} from "../model/grammar.ts"
import { pathRouteKey, serverCookie } from "../model/names.ts"
import type { ServiceOptions } from "../model/service-options.ts"
import { backendLines, DEFAULTS_LINES, haproxyTime, renderedProfiles } from "./backend-settings.ts"

export { haproxyTime, profileName, renderedProfiles } from "./backend-settings.ts"
import type { MonitoringUser, RenderSettings } from "./settings.ts"
import {
  authTables,
  MONITORING_FRONTEND,
  monitoringFrontendLines,
  monitoringOnTrafficPort,
  monitoringRules,
  monitoringUserlists,
  STATS_BACKEND,
  STATS_REQUEST
} from "./monitoring.ts"

export type RenderedFileName = "haproxy.cfg" | "hosts.map" | "paths.map"

export type RenderedFiles = Readonly<Record<RenderedFileName, string>>

export const RENDERED_FILE_NAMES: ReadonlyArray<RenderedFileName> = ["haproxy.cfg", "hosts.map", "paths.map"]

export const FRONTEND = "fe_http"

/**
 * Health checks written on every server line. Dynamic servers added through the runtime API don't
 * inherit default-server, so src/apply/runtime-update.ts passes the same values. No `slowstart`:
 * a new instance gets its share of requests at once (as an ALB target does by default); a 3 s ramp
 * delayed the first request to a new or moved instance by about a second (bench:churn).
 */
export const SERVER_CHECK = { fall: 3, rise: 2 } as const

const INDENT = "    "

/** Directory without a trailing slash (`/` stays `/`). */
const normaliseDir = (dir: string): string => (dir.length > 1 && dir.endsWith("/") ? dir.replace(/\/+$/, "") : dir)

/** Absolute path of a file inside settings.configDir (haproxy.cfg names only the admin socket this way). */
const renderedFilePath = (settings: Pick<RenderSettings, "configDir">, file: RenderedFileName | "admin.sock"): string => {
  const dir = normaliseDir(settings.configDir)
  return dir === "/" ? `/${file}` : `${dir}/${file}`
}

const SAFE_PATH = /^\/(?:[A-Za-z0-9_.@+-]+\/?)*$/
const SAFE_USER = /^[A-Za-z0-9_.-]{1,64}$/
/** SHA-512-crypt as crypt(3) writes it: `$6$[rounds=N$]salt$hash`. */
const SHA512_CRYPT = /^\$6\$(?:rounds=[1-9][0-9]{3,8}\$)?[./A-Za-z0-9]{1,16}\$[./A-Za-z0-9]{86}$/

const must = <A>(what: string, checked: Result.Result<A, string>): A => {
  if (Result.isFailure(checked)) throw new Error(`render: invalid settings: ${what}: ${checked.failure}`)
  return checked.success
}

const mustHold = (what: string, ok: boolean, reason: string): void => {
  if (!ok) throw new Error(`render: invalid settings: ${what}: ${reason}`)
}

const checkUser = (what: string, user: MonitoringUser): void => {
  mustHold(`${what}.user`, SAFE_USER.test(user.user), `${quote(user.user)} is not 1-64 of [A-Za-z0-9_.-]`)
  // Never quote the hash itself in the error: it is a secret.
  mustHold(`${what}.passwordHash`, SHA512_CRYPT.test(user.passwordHash), "not a SHA-512-crypt hash ($6$...)")
}

/** The bind address as HAProxy wants it: `*`, `1.2.3.4`, or `[::1]` (wildcards allowed here). */
const bindAddress = (address: string): string => {
  if (address === "*") return "*"
  const family = /^[0-9A-Fa-f:.]+$/.test(address) ? isIP(address) : 0
  mustHold("listenAddress", family !== 0, `${quote(address)} is not "*" or an IP address`)
  return family === 6 ? `[${address.toLowerCase()}]` : address
}

const validateSettings = (settings: RenderSettings): void => {
  mustHold("configDir", SAFE_PATH.test(settings.configDir) && !settings.configDir.includes("/../") &&
    !settings.configDir.endsWith("/.."), `${quote(settings.configDir)} is not an absolute path of [A-Za-z0-9_.@+-] segments`)
  must("listenPort", checkPortNumber(settings.listenPort))
  if (settings.monitoringPort !== undefined) {
    must("monitoringPort", checkPortNumber(settings.monitoringPort))
    mustHold("monitoringPort", settings.monitoringPort !== settings.listenPort, "the same port as listenPort")
  }
  mustHold("nbthread", Number.isInteger(settings.nbthread) && settings.nbthread >= 1 && settings.nbthread <= 4096,
    `${settings.nbthread} is not an integer in 1-4096`)
  mustHold("hardStopAfterSeconds",
    Number.isInteger(settings.hardStopAfterSeconds) && settings.hardStopAfterSeconds >= 1,
    `${settings.hardStopAfterSeconds} is not a positive integer`)
  if (settings.defaultDomain !== undefined) must("defaultDomain", normaliseHostname(settings.defaultDomain))
  if (settings.stats !== undefined) checkUser("stats", settings.stats)
  if (settings.metrics !== undefined) checkUser("metrics", settings.metrics)
}

const assertInt = (what: string, n: number | undefined, min: number, max: number): void => {
  if (n !== undefined && !(Number.isInteger(n) && n >= min && n <= max)) throw new Error(`render: invalid Desired: ${what} ${n}`)
}

/** The options' strings and numbers are of the grammar src/plan/options.ts decodes (defense in depth). */
const assertOptions = (backend: Backend): void => {
  const o = backend.options
  const fail = (what: string, value: string) => {
    throw new Error(`render: invalid Desired: ${backend.name} option ${what} ${quote(value)}`)
  }
  if (o.check._tag === "Http") {
    if (!/^\/[A-Za-z0-9._~%/?=&-]*$/.test(o.check.path)) fail("check path", o.check.path)
    if (!/^[0-9]{3}(?:-[0-9]{3})?(?:,[0-9]{3}(?:-[0-9]{3})?)*$/.test(o.check.status)) fail("check status", o.check.status)
  }
  if (o.cookie !== undefined && !/^[A-Za-z0-9_-]{1,64}$/.test(o.cookie)) fail("cookie", o.cookie)
  if (!["roundrobin", "leastconn", "random", "source"].includes(o.balance)) fail("balance", o.balance)
  assertInt("check interval", o.check.intervalMs, 1, 86_400_000)
  for (const [what, ms] of [["timeout server", o.timeoutServerMs], ["timeout connect", o.timeoutConnectMs], ["timeout tunnel", o.timeoutTunnelMs]] as const) {
    assertInt(what, ms, 1, 2_147_483_647)
  }
  assertInt("maxconn", o.maxconn, 1, 1_000_000)
}

/** Defense in depth: the planner already guarantees these; a violation is a bug, so throw. */
const validateDesired = (desired: Desired): void => {
  const assertId = (what: string, name: string) => {
    const checked = checkIdentifier(name)
    if (Result.isFailure(checked)) throw new Error(`render: invalid Desired: ${what} ${quote(name)}: ${checked.failure}`)
  }
  const assertKey = (what: string, key: string) => {
    if (!/^[a-z0-9.-]+(?:\/[a-z0-9-]+)?$/.test(key)) throw new Error(`render: invalid Desired: ${what} ${quote(key)}`)
  }
  for (const backend of desired.backends) {
    assertId("backend", backend.name)
    assertOptions(backend)
    for (const server of backend.servers) {
      assertId("server", server.name)
      assertInt(`server ${server.name} weight`, server.weight, 0, 256)
      const family = server.address.includes(":") ? checkIpv6(server.address) : checkIpv4(server.address)
      if (Result.isFailure(family)) throw new Error(`render: invalid Desired: server ${server.name}: ${family.failure}`)
      if (Result.isFailure(checkPortNumber(server.port))) {
        throw new Error(`render: invalid Desired: server ${server.name}: port ${server.port}`)
      }
    }
  }
  for (const route of desired.hostRoutes) {
    assertKey("host", route.host)
    assertId("backend", route.backend)
  }
  for (const route of desired.pathRoutes) {
    assertKey("path route", pathRouteKey(route.domain, route.segment))
    assertId("backend", route.backend)
  }
}

/** `addr:port`, IPv6 in brackets. */
const serverAddress = (server: Pick<Server, "address" | "port">): string =>
  server.address.includes(":") ? `[${server.address}]:${server.port}` : `${server.address}:${server.port}`

/**
 * The words after `server <name> <addr>`, shared with servers added through the runtime API
 * (src/apply/runtime-update.ts), which inherit nothing from the backend. A sticky cookie is
 * written only here: HAProxy 2.6 does not accept one on a server added at runtime.
 */
export const serverWords = (server: Pick<Server, "weight" | "backup">, options: ServiceOptions): ReadonlyArray<string> => {
  const words = ["check", "inter", haproxyTime(options.check.intervalMs), "fall", String(SERVER_CHECK.fall), "rise", String(SERVER_CHECK.rise)]
  if (server.weight !== 1) words.push("weight", String(server.weight))
  if (options.maxconn !== undefined) words.push("maxconn", String(options.maxconn))
  if (server.backup) words.push("backup")
  if (options.protocol === "h2c") {
    words.push("proto", "h2")
    if (options.check._tag === "Http") words.push("check-proto", "h2")
  }
  return words
}

const serverLine = (server: Server, options: ServiceOptions): string =>
  [`server ${server.name} ${serverAddress(server)}`, ...serverWords(server, options)].join(" ") +
  (options.cookie !== undefined ? ` cookie ${serverCookie(server.name)}` : "")

/**
 * One named `defaults` per rendered profile, at the end of the file: the settings of the unnamed
 * defaults plus the backend's own lines. No proxy follows them, so none inherits from them
 * implicitly; they are there for `add backend <name> from <profile>` (HAProxy 3.4), and the
 * versions before 3.4 parse and ignore them.
 */
const renderProfiles = (backends: ReadonlyArray<Backend>): ReadonlyArray<string> => {
  const profiles = renderedProfiles(backends)
  return [...profiles.keys()].sort().map((name) => section(`defaults ${name}`, [...DEFAULTS_LINES, ...profiles.get(name)!]))
}

const renderBackend = (backend: Backend): string => {
  const servers = [...backend.servers].sort(byName)
  return [
    `backend ${backend.name}`,
    ...backendLines(backend).map((line) => INDENT + line),
    ...servers.map((s) => INDENT + serverLine(s, backend.options))
  ].join("\n") + "\n"
}

const section = (header: string, lines: ReadonlyArray<string>): string =>
  [header, ...lines.map((line) => (line === "" ? "" : INDENT + line))].join("\n") + "\n"

const renderFrontend = (settings: RenderSettings): string => {
  // Relative to the config file's directory (`default-path config`): the bundle is relocatable.
  const hostsMap: RenderedFileName = "hosts.map"
  const pathsMap: RenderedFileName = "paths.map"
  const lines: Array<string> = [
    `bind ${bindAddress(settings.listenAddress)}:${settings.listenPort}`,
    "",
    "# A Host is one host[:port]: a list (`a, b`, or two Host lines) would be routed on one element",
    "# while the application sees another. `[` and `]` as classes: no escaping in the config.",
    "acl host_lines req.fhdr_cnt(host) gt 1",
    "acl host_list req.hdr_cnt(host) gt 1",
    "acl host_given req.fhdr_cnt(host) gt 0",
    "acl host_form req.fhdr(host) -m reg ^([A-Za-z0-9._-]+|[[][0-9A-Fa-f:.]+[]])(:[0-9]{1,5})?$",
    "http-request deny deny_status 400 if host_lines || host_list || host_given !host_form"
  ]

  // Without a monitoring port, /stats and /metrics are claimed here, on every host.
  const shared = monitoringOnTrafficPort(settings)
  if (shared) lines.push(...monitoringRules(settings, "on every host"))
  const stats = shared && settings.stats !== undefined
  const monitoring = stats ? ` || ${STATS_REQUEST}` : ""
  lines.push(
    "",
    "# Routing: Host lowercased, port and one trailing dot stripped; exact map lookups only.",
    "http-request set-var(txn.host) req.hdr(host),lower,field(1,:),regsub([.]$,)",
    "http-request set-var(txn.segment) path,field(2,/)",
    `http-request set-var(txn.route) var(txn.host),concat(/,txn.segment),map(${pathsMap})`,
    "http-request set-var(txn.strip) bool(1) if { var(txn.route) -m found }",
    `http-request set-var(txn.route) var(txn.host),map(${hostsMap}) unless { var(txn.route) -m found }`
  )
  if (settings.defaultDomain !== undefined) {
    const domain = must("defaultDomain", normaliseHostname(settings.defaultDomain))
    lines.push(
      `http-request redirect location http://${domain}/ code 302 unless { var(txn.route) -m found }${monitoring} || { var(txn.host) -m str ${domain} }`
    )
  }
  lines.push(
    `http-request return status 404 unless { var(txn.route) -m found }${monitoring}`,
    ""
  )
  if (stats) lines.push(`use_backend ${STATS_BACKEND} if ${STATS_REQUEST}`)
  lines.push("use_backend %[var(txn.route)] if { var(txn.route) -m found }")
  return section(`frontend ${FRONTEND}`, lines)
}

const renderConfig = (desired: Desired, settings: RenderSettings): string => {
  const parts: Array<string> = [
    "# Generated by cloudmap-haproxy from AWS Cloud Map. Do not edit: it is rewritten on every change.\n",
    section("global", [
      "default-path config",
      `stats socket ${renderedFilePath(settings, "admin.sock")} mode 600 level admin`,
      `nbthread ${settings.nbthread}`,
      `hard-stop-after ${settings.hardStopAfterSeconds}s`,
      "mworker-max-reloads 50",
      // One HAProxy per traffic port: a second one (say, left by an earlier run) fails to bind
      // instead of silently sharing the traffic. Reloads stay seamless: the new worker takes
      // the listening sockets over from the old one (docs/haproxy-facts.md, "noreuseport").
      "noreuseport"
    ]),
    section("defaults", DEFAULTS_LINES)
  ]
  // Hashes single-quoted: `$` expands inside double quotes (docs/haproxy-facts.md).
  for (const [header, user] of monitoringUserlists(settings)) parts.push(section(header, [user]))
  parts.push(renderFrontend(settings))
  if (settings.monitoringPort !== undefined) {
    const monitoring = monitoringFrontendLines(settings, `${bindAddress(settings.listenAddress)}:${settings.monitoringPort}`)
    if (monitoring !== undefined) parts.push(section(`frontend ${MONITORING_FRONTEND}`, monitoring))
  }
  if (settings.stats !== undefined) {
    parts.push(section(`backend ${STATS_BACKEND}`, ["stats enable", "stats uri /stats", "stats refresh 10s"]))
  }
  for (const [header, table] of authTables(settings)) parts.push(section(header, [table]))
  const backends = [...desired.backends].sort(byName)
  parts.push(...backends.map(renderBackend))
  parts.push(...renderProfiles(backends))
  return parts.join("\n")
}

const mapFile = (entries: ReadonlyArray<readonly [string, string]>): string =>
  [...entries]
    .sort(Order.mapInput(Order.String, (entry: readonly [string, string]) => entry[0]))
    .map(([key, value]) => `${key} ${value}\n`)
    .join("")

export const render = (desired: Desired, settings: RenderSettings): RenderedFiles => {
  validateSettings(settings)
  bindAddress(settings.listenAddress)
  validateDesired(desired)
  return {
    "haproxy.cfg": renderConfig(desired, settings),
    "hosts.map": mapFile(desired.hostRoutes.map((r) => [r.host, r.backend] as const)),
    "paths.map": mapFile(desired.pathRoutes.map((r) => [pathRouteKey(r.domain, r.segment), r.backend] as const))
  }
}

/**
 * Human-readable summary for the `render` CLI subcommand: every route with its backend and
 * instance count, then every quarantined record with its reason. Quarantined values are raw
 * Cloud Map strings, so they are printed quoted and escaped (never raw control characters).
 */
export const renderSummary = (desired: Desired): string => {
  const serverCount = new Map(desired.backends.map((b) => [b.name, b.servers.length]))
  const instances = (backend: string): string => {
    const n = serverCount.get(backend)
    if (n === undefined) return "no such backend"
    if (n === 0) return "0 instances (answers 503)"
    return n === 1 ? "1 instance" : `${n} instances`
  }
  const routes = [
    ...desired.hostRoutes.map((r) => ({ key: `host ${r.host}`, backend: r.backend })),
    ...desired.pathRoutes.map((r) => ({ key: `path ${pathRouteKey(r.domain, r.segment)}`, backend: r.backend }))
  ]
  const width = Math.max(0, ...routes.map((r) => r.key.length))
  const bwidth = Math.max(0, ...routes.map((r) => r.backend.length))
  const lines: Array<string> = [
    `Routes: ${routes.length} (${desired.hostRoutes.length} host, ${desired.pathRoutes.length} path)`
  ]
  for (const r of routes) lines.push(`  ${r.key.padEnd(width)}  -> ${r.backend.padEnd(bwidth)}  ${instances(r.backend)}`)
  lines.push(`Quarantined: ${desired.quarantined.length}`)
  for (const q of desired.quarantined) {
    const where = `namespace ${quote(q.namespace)} service ${quote(q.service)}` +
      (q.instanceId !== undefined ? ` instance ${quote(q.instanceId)}` : "")
    // Reasons come from the planner (untrusted values already quoted); escape anyway.
    lines.push(`  ${where}: ${printable(q.reason)}`)
  }
  return lines.join("\n") + "\n"
}
