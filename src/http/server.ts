/**
 * The agent's own endpoints (HEALTH_ADDRESS:HEALTH_PORT): /healthz, /readyz, /metrics
 * (Prometheus text) and /status (JSON). Plain node:http: four read-only routes need no framework.
 */
import { createServer, type Server } from "node:http"
import { Clock, Effect, Layer, Schema } from "effect"
import { PrometheusMetrics } from "effect/observability"
import type { AgentConfig } from "../config/agent-config.ts"
import { AgentConfigService } from "../config/service.ts"
import * as M from "../observability/metrics.ts"
import { StatusStore } from "../reconcile/status-store.ts"
import { degradedReasons, type HealthRules, lastReadAgeSeconds, liveness, readiness, type Status } from "../reconcile/status.ts"
import { statusDocument } from "./status-document.ts"

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
}

const send = (res: import("node:http").ServerResponse, code: number, type: string, body: string) => {
  res.writeHead(code, { "content-type": type, "cache-control": "no-store" })
  res.end(body)
}

const serveAgentHttp = (options: AgentHttpOptions) =>
  Effect.gen(function*() {
    const context = yield* Effect.context<never>()
    const clock = yield* Clock.clockWith(Effect.succeed)
    const server: Server = createServer((req, res) => {
      const path = (req.url ?? "/").split("?")[0]
      if (req.method !== "GET" && req.method !== "HEAD") return send(res, 405, "text/plain", "method not allowed\n")
      const now = clock.currentTimeMillisUnsafe()
      const status = options.status()
      switch (path) {
        case "/healthz": {
          const v = liveness(status, now, options.rules)
          return send(res, v.ok ? 200 : 503, "text/plain", `${v.reason}\n`)
        }
        case "/readyz": {
          const v = readiness(status, now, options.rules)
          return send(res, v.ok ? 200 : 503, "text/plain", `${v.reason}\n`)
        }
        case "/metrics":
          // Gauges that depend on the time of the scrape.
          M.lastSuccessfulReadAge.updateUnsafe(lastReadAgeSeconds(status, now), context)
          M.degraded.updateUnsafe(degradedReasons(status, now).length > 0 ? 1 : 0, context)
          M.ready.updateUnsafe(readiness(status, now, options.rules).ok ? 1 : 0, context)
          return send(res, 200, "text/plain; version=0.0.4", PrometheusMetrics.formatUnsafe(context))
        case "/status":
          return send(res, 200, "application/json", JSON.stringify(statusDocument(status, now, options.rules), null, 2) + "\n")
        default:
          return send(res, 404, "text/plain", "not found: try /healthz /readyz /metrics /status\n")
      }
    })
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
    const { port } = yield* serveAgentHttp({
      address: config.healthAddress,
      port: config.healthPort,
      status: status.current,
      rules: healthRules(config)
    })
    yield* Effect.logDebug("agent endpoints listening", { url: `http://${config.healthAddress}:${port}` })
  })
)

/** The health rules that follow from the configuration (README "Health endpoints"). */
const healthRules = (config: AgentConfig): HealthRules => ({
  maxStalenessMs: config.readyMaxStalenessSeconds === undefined ? undefined : config.readyMaxStalenessSeconds * 1000,
  // A round that reads every service takes services / CLOUDMAP_RATE_LIMIT seconds.
  maxHeartbeatAgeMs: Math.max(120, 3 * config.refreshSeconds, 4 * config.revisionPollSeconds) * 1000,
  dryRun: config.applyMode === "off"
})
