/**
 * The HAProxy the agent runs, as a scoped service. `start` launches it (master-worker) on
 * CONFIG_DIR/haproxy.cfg; `reload` reloads and verifies; a worker watch keeps the worker count in
 * Status and metrics. When HAProxy dies on its own, it is restarted on a Schedule
 * (HAPROXY_RESTART=true) or `died` fails, which ends the agent (non-zero: the orchestrator
 * replaces the task). Closing the layer's scope drains it gracefully: readiness goes false first,
 * then SIGUSR1 and up to DRAIN_SECONDS for in-flight requests.
 */
import { join } from "node:path"
import { Context, Deferred, Effect, Layer, Metric, Ref, Schedule, Schema, Scope, Semaphore } from "effect"
import { ChildProcessSpawner } from "effect/process"
import { AgentConfigService } from "../config/service.ts"
import { haproxyWorkers } from "../observability/metrics.ts"
import { StatusStore } from "../status/status-store.ts"
import type { ReloadError, ReloadResult, ShowProc, ShowProcError } from "./master-cli.ts"
import { type ExitInfo, type HaproxyProcessShape, type HaproxyStartFailed, makeHaproxyProcess } from "./process.ts"
import { adminSocketPath } from "./runtime-api.ts"
import { sendCommand } from "./socket-client.ts"
import { makeWatchdog } from "./watchdog.ts"

export class HaproxyDied extends Schema.TaggedError<HaproxyDied>()("HaproxyDied", {
  message: Schema.String
}) {}

const describeExit = (e: ExitInfo) =>
  `HAProxy exited (${e.signal !== undefined && e.signal !== null ? `signal ${e.signal}` : `code ${e.code}`})` +
  (e.lastLines.length > 0 ? `: ${e.lastLines.slice(-5).join(" | ")}` : "")

/** Restart attempts after HAProxy died (HAPROXY_RESTART=true): 1 s, then backing off, 5 tries. */
const RESTART = Schedule.exponential("1 second", 2).pipe(Schedule.jittered, Schedule.upTo({ times: 5 }))

/** Between two watchdog probes, and each socket's timeout (BENCHMARKS.md "HAProxy watchdog"). */
const WATCHDOG_INTERVAL_MS = 2_000
const WATCHDOG_TIMEOUT_MS = 2_000

/** `show info` on the admin socket (the worker) and `show proc` on the master CLI, at once. */
const probeSockets = (adminSocket: string, masterSocket: string) => {
  const socket = { connectTimeout: WATCHDOG_TIMEOUT_MS, responseTimeout: WATCHDOG_TIMEOUT_MS }
  const ask = (path: string, command: string, what: string) =>
    sendCommand(path, command, socket).pipe(Effect.mapError((e) => ({ message: `${what}: ${e.message}` })))
  return Effect.all([
    Effect.result(ask(adminSocket, "show info", "admin socket")),
    Effect.result(ask(masterSocket, "show proc", "master CLI"))
  ], { concurrency: 2 }).pipe(Effect.flatMap((results) => {
    const failed = results.flatMap((r) => r._tag === "Failure" ? [r.failure.message] : [])
    return failed.length === 0 ? Effect.void : Effect.fail({ message: failed.join("; ") })
  }))
}

export class HaproxySupervisor extends Context.Service<HaproxySupervisor, {
  readonly isRunning: Effect.Effect<boolean>
  /** Starts HAProxy on the files in place (the first apply). */
  readonly start: Effect.Effect<void, HaproxyStartFailed>
  readonly reload: Effect.Effect<ReloadResult, ReloadError | HaproxyNotRunning>
  readonly showProc: Effect.Effect<ShowProc, ShowProcError | HaproxyNotRunning>
  /**
   * What writes the files of the configuration HAProxy serves again (the apply loop renders its
   * applied state): run before each restart (HAPROXY_RESTART=true), so a restart never depends on
   * what is left on disk.
   */
  readonly rewriteBeforeRestart: (rewrite: Effect.Effect<void, { readonly message: string }>) => Effect.Effect<void>
  /** Fails when HAProxy died and is not (or could not be) restarted; never succeeds. */
  readonly died: Effect.Effect<never, HaproxyDied>
}>()("cloudmap-haproxy/haproxy/HaproxySupervisor") {
  static readonly layer = Layer.effect(
    HaproxySupervisor,
    Effect.gen(function*() {
      const config = yield* AgentConfigService
      const status = yield* StatusStore
      const scope = yield* Effect.scope
      const spawner = yield* ChildProcessSpawner.ChildProcessSpawner
      const masterSocket = join(config.configDir, "master.sock")
      const handle = yield* Ref.make<HaproxyProcessShape | undefined>(undefined)
      const rewriteFiles = yield* Ref.make<Effect.Effect<void, { readonly message: string }>>(Effect.void)
      const died = yield* Deferred.make<never, HaproxyDied>()
      const setRunning = (running: boolean, pid: number | undefined) =>
        status.update((s) => ({ ...s, haproxy: { ...s.haproxy, running, pid } }))

      // One launch at a time, and none while HAProxy runs: an apply during the restart delay (it
      // sees HAProxy not running and starts it) and the restart must not make two masters.
      const launches = yield* Semaphore.make(1)
      const launch: Effect.Effect<void, HaproxyStartFailed> = launches.withPermit(Effect.gen(function*() {
        if ((yield* Ref.get(handle)) !== undefined) return
        const h = yield* makeHaproxyProcess({
          bin: config.haproxyBin,
          cfgPath: join(config.configDir, "haproxy.cfg"),
          masterSocket,
          pidFile: join(config.configDir, "haproxy.pid"),
          onLog: (l) => Effect.logInfo("haproxy", { stream: l.stream, line: l.line })
        }).pipe(Scope.provide(scope), Effect.provideService(ChildProcessSpawner.ChildProcessSpawner, spawner))
        yield* Ref.set(handle, h)
        yield* setRunning(true, h.pid)
        yield* Effect.logInfo("HAProxy started", { pid: h.pid })
        // Added after the process' own finalizers, so it runs before them (reverse order): the
        // drain while the process is still watched. Only the current process is drained.
        yield* Scope.addFinalizer(scope, Effect.flatMap(Ref.get(handle), (current) => current === h ? gracefulStop(h) : Effect.void))
        yield* Effect.forkIn(watchExit(h), scope)
      }))

      // Graceful stop when the agent stops: runs while the HTTP endpoints still answer (503).
      const gracefulStop = (h: HaproxyProcessShape) =>
        Effect.gen(function*() {
          yield* status.update((s) => ({ ...s, shuttingDown: true }))
          yield* Effect.logInfo("stopping: readiness is false, draining HAProxy", { graceSeconds: config.drainSeconds })
          yield* h.softStop(config.drainSeconds * 1000)
          yield* setRunning(false, undefined)
          yield* Effect.logInfo("HAProxy stopped")
        })

      const watchExit = (h: HaproxyProcessShape): Effect.Effect<void> =>
        Effect.gen(function*() {
          const exit = yield* h.exited
          if ((yield* status.get).shuttingDown) return
          yield* setRunning(false, undefined)
          yield* Ref.set(handle, undefined)
          const message = describeExit(exit)
          yield* Effect.logError("HAProxy died", { error: message, restart: config.restartHaproxy })
          if (!config.restartHaproxy) return yield* Deferred.fail(died, new HaproxyDied({ message }))
          // The files HAProxy loads are written again first (they may be gone or damaged).
          const rewrite = Effect.flatMap(Ref.get(rewriteFiles), (f) =>
            f.pipe(Effect.catch((e) => Effect.logError("could not write the configuration again before the restart", { error: e.message }))))
          const again = yield* Effect.result(Effect.retry(Effect.delay(Effect.andThen(rewrite, launch), "1 second"), RESTART))
          if (again._tag === "Failure") {
            yield* Deferred.fail(died, new HaproxyDied({ message: `${message}; restart failed: ${again.failure.message}` }))
          }
        })

      const current = Effect.flatMap(Ref.get(handle), (h) => h === undefined ? Effect.fail(new HaproxyNotRunning()) : Effect.succeed(h))
      const showProc = Effect.flatMap(current, (h) => h.showProc)

      // Workers, old ones still draining included: Status and a metric, every 5 s.
      const watchWorkers = Effect.gen(function*() {
        const proc = yield* Effect.result(showProc)
        if (proc._tag === "Failure") return
        const workers = proc.success.workers.length + proc.success.oldWorkers.length
        yield* Metric.update(haproxyWorkers, workers)
        yield* status.update((s) => ({ ...s, haproxy: { ...s.haproxy, workers } }))
      })
      yield* Effect.forkScoped(Effect.repeat(watchWorkers, Schedule.spaced("5 seconds")))

      // The watchdog: HAProxy that stops answering on its sockets fails readiness, then liveness.
      if (config.haproxyWatchdogSeconds > 0 && config.applyMode !== "off") {
        const watchdog = yield* makeWatchdog({
          probe: probeSockets(adminSocketPath(config.configDir), masterSocket),
          intervalMs: WATCHDOG_INTERVAL_MS,
          readyAfterMs: config.haproxyWatchdogSeconds * 1000,
          liveAfterMs: config.haproxyWatchdogLivenessSeconds > 0 ? config.haproxyWatchdogLivenessSeconds * 1000 : Number.POSITIVE_INFINITY,
          isRunning: Effect.map(Ref.get(handle), (h) => h !== undefined),
          update: status.update
        })
        yield* Effect.forkScoped(watchdog.run)
      }

      return HaproxySupervisor.of({
        isRunning: Effect.map(Ref.get(handle), (h) => h !== undefined),
        start: launch,
        rewriteBeforeRestart: (f) => Ref.set(rewriteFiles, f),
        reload: Effect.flatMap(current, (h) => h.reload()).pipe(
          Effect.tap((r) => Metric.update(haproxyWorkers, 1 + r.oldWorkerPids.length))
        ),
        showProc,
        died: Deferred.await(died)
      })
    })
  )
}

export class HaproxyNotRunning extends Schema.TaggedError<HaproxyNotRunning>()("HaproxyNotRunning", {}) {
  override get message(): string {
    return "HAProxy is not running"
  }
}
