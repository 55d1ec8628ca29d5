/**
 * `cloudmap-haproxy run` (the default command): the long-running agent. It serves its own
 * endpoints at once, reads Cloud Map, starts HAProxy on the first validated configuration,
 * keeps it in step (polling rounds: revision checks, re-reads due every REFRESH_RATE), and supervises it: HAProxy dying
 * makes the agent exit non-zero (or restarts it with HAPROXY_RESTART=true). SIGTERM/SIGINT:
 * readiness goes false, HAProxy is soft-stopped and drained for DRAIN_SECONDS, then exit 0.
 */
import { mkdirSync } from "node:fs"
import { join } from "node:path"
import process from "node:process"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Clock, Deferred, Effect, Metric, Queue, Random, Ref, Schema, Scope } from "effect"
import { makeApplier, type HaproxyControl } from "../apply/applier.ts"
import { makeRuntimeUpdater } from "../apply/runtime-update.ts"
import type { AgentConfig } from "../config/agent-config.ts"
import { toRenderSettings } from "../config/render-settings.ts"
import { stopLeftover } from "../haproxy/leftover.ts"
import { makeMasterCli } from "../haproxy/master-cli.ts"
import { checkConfigDir, checkHaproxyBinary, checkListenPort } from "../haproxy/preflight.ts"
import { type ExitInfo, type HaproxyProcessShape, makeHaproxyProcess } from "../haproxy/process.ts"
import { makeRuntimeApi } from "../haproxy/runtime-api.ts"
import { validateConfig } from "../haproxy/validate.ts"
import { serveAgentHttp } from "../http/server.ts"
import { haproxyWorkers } from "../observability/metrics.ts"
import { rereadAfterMs } from "../reconcile/read-schedule.ts"
import { makeReconciler } from "../reconcile/reconciler.ts"
import { initialStatus, type Status } from "../reconcile/status.ts"
import { VERSION } from "../version.ts"
import { cloudMapLayer } from "../cloudmap/layer.ts"
import { compactHeapEvery } from "../agent/heap-compaction.ts"
import { loadConfig } from "../config/load.ts"

const USAGE = `usage: cloudmap-haproxy [run]

Runs the agent: discovers services in the Cloud Map namespaces of NAMESPACE_MAP, renders and
validates an HAProxy configuration, starts HAProxy (master-worker) and keeps it up to date.
All settings come from environment variables (see the README). Endpoints of the agent itself:
http://HEALTH_ADDRESS:HEALTH_PORT/{healthz,readyz,metrics,status}.

Signals: SIGTERM/SIGINT drain HAProxy and exit 0; SIGHUP re-reads every namespace and service
from Cloud Map now.
`

export class HaproxyDied extends Schema.TaggedError<HaproxyDied>()("HaproxyDied", {
  message: Schema.String
}) {}

const describeExit = (e: ExitInfo) =>
  `HAProxy exited (${e.signal !== undefined && e.signal !== null ? `signal ${e.signal}` : `code ${e.code}`})` +
  (e.lastLines.length > 0 ? `: ${e.lastLines.slice(-5).join(" | ")}` : "")

export const runCommand = (argv: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    if (argv.includes("--help")) {
      process.stdout.write(USAGE)
      return 0
    }
    const config = yield* loadConfig
    return yield* runAgent(config)
  })

export const runAgent = (config: AgentConfig) =>
  Effect.scoped(
    Effect.gen(function*() {
      const settings = toRenderSettings(config)
      const dryRun = config.applyMode === "off"
      const now = yield* Clock.currentTimeMillis
      const status = yield* Ref.make<Status>(initialStatus(VERSION, now))
      const statusNow = () => Effect.runSync(Ref.get(status))
      const masterSocket = join(config.configDir, "master.sock")
      const adminSocket = join(config.configDir, "admin.sock")
      const pidFile = join(config.configDir, "haproxy.pid")

      // SIGHUP means "re-read Cloud Map now", never "exit" (the default for an unhandled SIGHUP).
      const wake = yield* Queue.sliding<"SIGHUP">(1)
      yield* Effect.acquireRelease(
        Effect.sync(() => {
          const onHup = () => void Queue.offerUnsafe(wake, "SIGHUP")
          process.on("SIGHUP", onHup)
          return onHup
        }),
        (onHup) => Effect.sync(() => void process.off("SIGHUP", onHup))
      )

      // Whatever the agent and HAProxy create (pid file, generations) is its user's only.
      yield* Effect.sync(() => process.umask(0o077))
      // Fail fast (exit 78 naming the variable) on what would otherwise be retried forever.
      yield* checkConfigDir(config.configDir)
      if (!dryRun) {
        const version = yield* checkHaproxyBinary(config.haproxyBin)
        yield* Effect.logInfo("HAProxy found", { bin: config.haproxyBin, version })
        yield* stopLeftover(pidFile, masterSocket)
        yield* checkListenPort(config.listenAddress, config.listenPort)
      }

      const http = yield* serveAgentHttp({
        address: config.healthAddress,
        port: config.healthPort,
        status: statusNow,
        rules: {
          maxStalenessMs: config.readyMaxStalenessSeconds === undefined ? undefined : config.readyMaxStalenessSeconds * 1000,
          // A round that reads every service takes services / CLOUDMAP_RATE_LIMIT seconds.
          maxHeartbeatAgeMs: Math.max(120, 3 * config.refreshSeconds, 4 * config.revisionPollSeconds) * 1000,
          dryRun
        }
      })
      yield* Effect.logInfo("agent starting", {
        version: VERSION,
        namespaces: config.namespaces.map((n) => `${n.namespace} -> ${n.domain} (${n.mode})`),
        region: config.region,
        endpoint: config.cloudMap.endpoint ?? "AWS",
        configDir: config.configDir,
        listen: `${config.listenAddress}:${config.listenPort}`,
        agentEndpoints: `http://${config.healthAddress}:${http.port}`,
        applyMode: config.applyMode
      })

      const scope = yield* Effect.scope
      const runWithLogger = Effect.runForkWith(yield* Effect.context<never>())
      const master = makeMasterCli(masterSocket)
      const runtimeApi = makeRuntimeApi(adminSocket)
      const handle = yield* Ref.make<HaproxyProcessShape | undefined>(undefined)
      const died = yield* Deferred.make<never, HaproxyDied>()
      const setHaproxy = (running: boolean, pid: number | undefined) =>
        Ref.update(status, (s) => ({ ...s, haproxy: { ...s.haproxy, running, pid } }))

      const gracefulStop = (h: HaproxyProcessShape) =>
        Effect.gen(function*() {
          yield* Ref.update(status, (s) => ({ ...s, shuttingDown: true }))
          yield* Effect.logInfo("stopping: readiness is false, draining HAProxy", { graceSeconds: config.drainSeconds })
          yield* h.softStop(config.drainSeconds * 1000)
          yield* setHaproxy(false, undefined)
          yield* Effect.logInfo("HAProxy stopped")
        })

      const start: Effect.Effect<void, string> = Effect.gen(function*() {
        const h = yield* makeHaproxyProcess({
          bin: config.haproxyBin,
          cfgPath: join(config.configDir, "haproxy.cfg"),
          masterSocket,
          pidFile,
          onLog: (l) => void runWithLogger(Effect.logInfo("haproxy", { stream: l.stream, line: l.line }))
        }).pipe(Scope.provide(scope), Effect.mapError((e) => e.message))
        yield* Ref.set(handle, h)
        yield* setHaproxy(true, h.pid)
        yield* Effect.logInfo("HAProxy started", { pid: h.pid })
        // Runs before the process' own finalizer (finalizers run in reverse order).
        // Only the current process is drained (after a restart, the dead one's finalizer does nothing).
        yield* Scope.addFinalizer(
          scope,
          Effect.flatMap(Ref.get(handle), (current) => (current === h ? gracefulStop(h) : Effect.void))
        )
        yield* Effect.forkIn(
          Effect.gen(function*() {
            const exit = yield* h.exited
            if (statusNow().shuttingDown) return
            yield* setHaproxy(false, undefined)
            yield* Ref.set(handle, undefined)
            const message = describeExit(exit)
            yield* Effect.logError("HAProxy died", { error: message, restart: config.restartHaproxy })
            if (!config.restartHaproxy) return yield* Deferred.fail(died, new HaproxyDied({ message }))
            yield* Effect.sleep("1 second")
            const again = yield* Effect.result(start)
            if (again._tag === "Failure") yield* Deferred.fail(died, new HaproxyDied({ message: `restart failed: ${again.failure}` }))
          }),
          scope
        )
      }).pipe(Effect.provide(NodeServices.layer))

      const control: HaproxyControl = {
        validate: (cfg) =>
          validateConfig(config.haproxyBin, cfg).pipe(
            Effect.asVoid,
            Effect.mapError((e) => e.message),
            Effect.provide(NodeServices.layer)
          ),
        isRunning: Effect.map(Ref.get(handle), (h) => h !== undefined),
        start,
        reload: Effect.flatMap(Ref.get(handle), (h) => h === undefined ? master.reload() : h.reload()).pipe(
          Effect.tap((r) =>
            Effect.logInfo("HAProxy reloaded", { durationMs: r.durationMs, worker: r.newWorkerPid, oldWorkers: r.oldWorkerPids.length })
          ),
          Effect.tap((r) => Metric.update(haproxyWorkers, 1 + r.oldWorkerPids.length)),
          Effect.asVoid,
          Effect.mapError((e) => e.message)
        ),
        applyRuntime: makeRuntimeUpdater({ runtime: runtimeApi, settings })
      }

      const applier = makeApplier({
        settings,
        dryRun,
        control,
        reloadMinIntervalMs: config.reloadMinIntervalSeconds * 1000
      })
      const reconciler = yield* makeReconciler({
        mappings: config.namespaces,
        region: config.region,
        healthFilter: config.healthFilter,
        defaultInstancePort: config.defaultInstancePort,
        maxRemovalPercent: config.maxRemovalPercent,
        apply: applier.apply,
        status,
        rejectedRetryMs: Math.max(10, 2 * config.refreshSeconds) * 1000,
        serviceListMs: config.serviceListSeconds * 1000,
        rereadAfterMs: rereadAfterMs(config.refreshSeconds * 1000, config.revisionPollSeconds * 1000)
      })

      // /healthz checks that the polling rounds keep completing (not just that a timer ticks).
      const beat = Effect.flatMap(Clock.currentTimeMillis, (t) => Ref.update(status, (s) => ({ ...s, heartbeatAt: t })))
      // REVISION_POLL_RATE is the period between round starts (a round over many services takes
      // services / CLOUDMAP_RATE_LIMIT seconds itself), ±20 % so replicas drift apart. SIGHUP
      // ends the wait at once and makes the next round re-read everything.
      const pause = (ms: number) =>
        Effect.raceFirst(
          Effect.sleep(ms),
          Effect.flatMap(Queue.take(wake), () =>
            Effect.andThen(
              Effect.logInfo("SIGHUP: re-reading every namespace and service from Cloud Map now"),
              reconciler.rereadAll
            ))
        )
      const pollLoop = Effect.forever(
        Effect.gen(function*() {
          const roundStart = yield* Clock.currentTimeMillis
          yield* reconciler.round
          yield* beat
          const elapsed = (yield* Clock.currentTimeMillis) - roundStart
          const period = config.revisionPollSeconds * 1000 * (0.8 + 0.4 * (yield* Random.next))
          yield* pause(Math.max(50, Math.round(period - elapsed)))
        })
      )
      const watchWorkers = Effect.forever(
        Effect.gen(function*() {
          const h = yield* Ref.get(handle)
          if (h !== undefined) {
            const proc = yield* Effect.result(master.showProc)
            if (proc._tag === "Success") {
              const workers = proc.success.workers.length + proc.success.oldWorkers.length
              yield* Metric.update(haproxyWorkers, workers)
              yield* Ref.update(status, (s) => ({ ...s, haproxy: { ...s.haproxy, workers } }))
            }
          }
          yield* Effect.sleep("5 seconds")
        })
      )

      yield* Effect.raceFirst(
        Effect.all([pollLoop, watchWorkers, compactHeapEvery(10_000)], { concurrency: "unbounded", discard: true }).pipe(
          Effect.provide(cloudMapLayer(config))
        ),
        Deferred.await(died)
      )
      return 0
    })
  )
