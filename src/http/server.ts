/**
 * The agent's own endpoints (HEALTH_ADDRESS:HEALTH_PORT): /healthz, /readyz, /metrics
 * (Prometheus text), /status (JSON), /status/servers (HAProxy's live server states, JSON) and the
 * status page at / (status-page.ts). The page and its two documents answer other hosts than
 * loopback only with the stats credentials (access.ts). Plain node:http: a few read-only routes
 * need no framework. Connections are capped, evicted oldest-idle-first and timed out
 * (connection-guard.ts), so the port cannot starve the process of file descriptors.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import { Clock, type Context, Effect, Layer, Schedule, Schema } from "effect"
import { PrometheusMetrics } from "effect/observability"
import type { AgentConfig, Credentials } from "../config/agent-config.ts"
import { AgentConfigService } from "../config/service.ts"
import * as M from "../observability/metrics.ts"
import { StatusStore } from "../status/status-store.ts"
import { degradedReasons, type HealthRules, lastReadAgeSeconds, liveness, readiness, type Status } from "../status/status.ts"
import { decideAccess, refusalHeaders } from "./access.ts"
import { openFileLimit } from "../observability/descriptors.ts"
import { guardConnections, healthConnectionCap } from "./connection-guard.ts"
import { LiveServers, type LiveState } from "./live-servers.ts"
import { statusDocument } from "./status-document.ts"
import { STATUS_PAGE } from "./status-page.ts"

/** The agent's own port cannot be opened: a configuration problem (exit 78, EX_CONFIG). */
export class HttpListenFailed extends Schema.TaggedError<HttpListenFailed>()("HttpListenFailed", {
  message: Schema.String
}) {
  readonly exitCode = 78
}

export interface AgentHttpOptions {
  readonly address: string
  readonly port: number
  readonly status: () => Status
  readonly rules: HealthRules
  /** STATS_USER / STATS_PASSWD: what other hosts need for the status page (access.ts). */
  readonly stats: Credentials | undefined
  /** HAProxy's live server states (live-servers.ts); never rejects. */
  readonly liveServers: () => Promise<LiveState>
}

/** The status page and its documents: open from loopback, with the stats credentials from elsewhere. */
const GUARDED: ReadonlySet<string> = new Set(["/", "/status", "/status/servers"])

const send = (res: ServerResponse, code: number, type: string, body: string, headers: Record<string, string> = {}) => {
  res.writeHead(code, { "content-type": type, "cache-control": "no-store", "x-content-type-options": "nosniff", ...headers })
  res.end(body)
}

const json = (res: ServerResponse, value: unknown) => send(res, 200, "application/json", JSON.stringify(value, null, 2) + "\n")

/** The request handler (exported for tests that need a peer address other than loopback). */
export const agentHttpHandler = (options: AgentHttpOptions, now: () => number, context: Context.Context<never>) =>
(req: IncomingMessage, res: ServerResponse): void => {
  const path = (req.url ?? "/").split("?")[0] ?? "/"
  if (req.method !== "GET" && req.method !== "HEAD") return send(res, 405, "text/plain", "method not allowed\n")
  if (GUARDED.has(path)) {
    const access = decideAccess(req.socket.remoteAddress, req.headers.authorization, options.stats)
    if (access._tag !== "Allowed") {
      return send(res, access._tag === "Unauthorized" ? 401 : 403, "text/plain; charset=utf-8", access.message, refusalHeaders(access))
    }
  }
  const at = now()
  const status = options.status()
  switch (path) {
    case "/healthz": {
      const v = liveness(status, at, options.rules)
      return send(res, v.ok ? 200 : 503, "text/plain", `${v.reason}\n`)
    }
    case "/readyz": {
      const v = readiness(status, at, options.rules)
      return send(res, v.ok ? 200 : 503, "text/plain", `${v.reason}\n`)
    }
    case "/metrics":
      // Gauges that depend on the time of the scrape.
      M.lastSuccessfulReadAge.updateUnsafe(lastReadAgeSeconds(status, at), context)
      M.degraded.updateUnsafe(degradedReasons(status, at).length > 0 ? 1 : 0, context)
      M.ready.updateUnsafe(readiness(status, at, options.rules).ok ? 1 : 0, context)
      return send(res, 200, "text/plain; version=0.0.4", PrometheusMetrics.formatUnsafe(context))
    case "/":
      res.writeHead(200, STATUS_PAGE.headers)
      return void res.end(STATUS_PAGE.html)
    case "/status":
      return json(res, statusDocument(status, at, options.rules))
    case "/status/servers":
      return void options.liveServers().then(
        (live) => json(res, live),
        (e: unknown) => send(res, 500, "text/plain", `live state failed: ${String(e)}\n`)
      )
    default:
      return send(res, 404, "text/plain", "not found: try / /healthz /readyz /metrics /status /status/servers\n")
  }
}

const serveAgentHttp = (options: AgentHttpOptions) =>
  Effect.gen(function*() {
    const context = yield* Effect.context<never>()
    const clock = yield* Clock.clockWith(Effect.succeed)
    const handler = agentHttpHandler(options, () => clock.currentTimeMillisUnsafe(), context)
    const cap = healthConnectionCap(openFileLimit())
    const server: Server = createServer((req, res) => {
      guard.busy(req, res)
      handler(req, res)
    })
    // Set up before the server listens: no request can reach the handler before it exists.
    // The guard counts evictions from node:http's callbacks; a fiber of this scope says so, at most once a minute.
    let evictions = 0
    const guard = guardConnections(server, cap, (evicted) => void (evictions = evicted))
    let warned = 0
    let warnedAt = Number.NEGATIVE_INFINITY
    yield* Effect.forkScoped(Effect.repeat(
      Effect.suspend(() => {
        const at = clock.currentTimeMillisUnsafe()
        if (evictions === warned || at - warnedAt < 60_000) return Effect.void
        warned = evictions
        warnedAt = at
        return Effect.logWarning("HEALTH_PORT connection cap reached: the oldest idle or slow connections are closed", {
          cap,
          evictedSinceStart: evictions,
          hint: "many slow or idle clients on HEALTH_PORT (docs/security.md); said at most once a minute"
        })
      }),
      Schedule.spaced("1 second")
    ))
    yield* Effect.logDebug("agent endpoints: connection cap", { connections: cap, fileLimit: openFileLimit() ?? "unknown" })
    yield* Effect.acquireRelease(
      Effect.callback<void, HttpListenFailed>((resume) => {
        server.once("error", (e) =>
          resume(Effect.fail(new HttpListenFailed({
            message: `HEALTH_PORT=${options.port} (HEALTH_ADDRESS=${options.address}) cannot be opened for the agent's endpoints ` +
              `(${(e as NodeJS.ErrnoException).code ?? e.message}): choose a free port with HEALTH_PORT, or an address of this host with HEALTH_ADDRESS`
          }))))
        server.listen(options.port, options.address, () => resume(Effect.void))
      }),
      () => Effect.callback<void>((resume) => {
        server.close(() => resume(Effect.void))
        server.closeAllConnections()
      })
    )
    const address = server.address()
    return { port: typeof address === "object" && address !== null ? address.port : options.port }
  })

/** The endpoints for the agent's configuration and Status, open for as long as the layer lives. */
export const AgentHttpLive = Layer.effectDiscard(
  Effect.gen(function*() {
    const config = yield* AgentConfigService
    const status = yield* StatusStore
    const live = yield* LiveServers
    const { port } = yield* serveAgentHttp({
      address: config.healthAddress,
      port: config.healthPort,
      status: status.current,
      rules: healthRules(config),
      stats: config.stats,
      liveServers: live.current
    })
    yield* Effect.logDebug("agent endpoints listening", { url: `http://${config.healthAddress}:${port}` })
  })
).pipe(Layer.provide(LiveServers.layer))

/** The health rules that follow from the configuration (README "Health endpoints"). */
const healthRules = (config: AgentConfig): HealthRules => ({
  maxStalenessMs: config.readyMaxStalenessSeconds === undefined ? undefined : config.readyMaxStalenessSeconds * 1000,
  // A round that reads every service takes services / CLOUDMAP_RATE_LIMIT seconds.
  maxHeartbeatAgeMs: Math.max(120, 3 * config.refreshSeconds, 4 * config.revisionPollSeconds) * 1000,
  dryRun: config.applyMode === "off",
  haproxySilentUnreadyMs: config.haproxyWatchdogSeconds > 0 ? config.haproxyWatchdogSeconds * 1000 : undefined,
  haproxySilentDeadMs: config.haproxyWatchdogSeconds > 0 && config.haproxyWatchdogLivenessSeconds > 0
    ? config.haproxyWatchdogLivenessSeconds * 1000
    : undefined
})
