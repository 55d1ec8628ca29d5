/**
 * Owns the HAProxy process: `haproxy -W -db -S <masterSock>,mode,600 -f <cfg>`
 * (master-worker mode, docs/haproxy-facts.md), tied to a Scope.
 *
 * - stdout/stderr lines go to a bounded ring buffer (diagnostics, ExitInfo)
 *   and to the `onLog` callback (the agent logs them as JSON);
 * - start completes when the master CLI answers `show proc` with a worker and the master has
 *   logged "Loading success." (on 3.1+ a worker is listed before it has parsed and bound);
 * - `exited` resolves when the master exits;
 * - `softStop` is SIGUSR1 (stop accepting, finish in-flight), then SIGTERM,
 *   then SIGKILL;
 * - closing the Scope kills the whole process group (master and workers share
 *   it: the child is spawned detached, so it leads its own group).
 *
 * Effect 4 gotcha (docs/effect4.md G11): `handle.kill()` waits for the exit,
 * so non-terminating signals go through `process.kill(pid, sig)`.
 */
import process from "node:process"
import { Clock, Deferred, Duration, Effect, Fiber, Schema, type Scope, Semaphore, Stream } from "effect"
import { ChildProcess, ChildProcessSpawner } from "effect/process"
import { haproxyEnvironment } from "./environment.ts"
import {
  reload as masterReload,
  ReloadFailed,
  type ReloadError,
  type ReloadOptions,
  type ReloadResult,
  showProc as masterShowProc,
  type ShowProc,
  type ShowProcError
} from "./master-cli.ts"

export interface LogLine {
  readonly stream: "stdout" | "stderr"
  readonly line: string
  /** Epoch milliseconds when the agent read the line. */
  readonly timestamp: number
}

export interface ExitInfo {
  /** Exit code, or null when the master was killed by a signal. */
  readonly code: number | null
  readonly signal: string | null
  /** The last lines HAProxy printed (stdout and stderr, in arrival order). */
  readonly lastLines: ReadonlyArray<string>
}

export interface HaproxyProcessOptions {
  readonly bin: string
  readonly cfgPath: string
  readonly masterSocket: string
  /** Until the master CLI shows a worker and the master logged "Loading success". Default 30 s. */
  readonly startTimeout?: Duration.Input | undefined
  /** SIGTERM → SIGKILL delay when stopping (scope close, softStop fallback). Default 5 s. */
  readonly killTimeout?: Duration.Input | undefined
  /** Run for every line HAProxy prints (its failures and defects are ignored). */
  readonly onLog?: ((line: LogLine) => Effect.Effect<void>) | undefined
  /** Ring buffer size in lines. Default 500. */
  readonly logBufferLines?: number | undefined
  /** Appended after `-f <cfg>` (e.g. more `-f` files). */
  readonly extraArgs?: ReadonlyArray<string> | undefined
  readonly cwd?: string | undefined
  /** HAProxy writes its master's PID here (`-p`), so a later run can stop a leftover HAProxy. */
  readonly pidFile?: string | undefined
}

export class HaproxyStartFailed extends Schema.TaggedError<HaproxyStartFailed>()("HaproxyStartFailed", {
  bin: Schema.String,
  cfgPath: Schema.String,
  reason: Schema.Literals(["spawn", "exited", "timeout"]),
  detail: Schema.String,
  lastLines: Schema.Array(Schema.String)
}) {
  override get message(): string {
    const alert = this.lastLines.find((l) => l.includes("[ALERT]"))
    const what = this.reason === "spawn"
      ? `could not be started (${this.detail}); check the HAProxy binary path and permissions`
      : this.reason === "exited"
      ? `exited during start-up (${this.detail})${alert === undefined ? "" : `: ${alert.trim()}`}; ` +
        `check the configuration (run \`haproxy -c -f ${this.cfgPath}\`) and that its ports are free`
      : `did not report a running worker on its master CLI within the start timeout (${this.detail}); ` +
        `a very large config can need a longer start timeout`
    return `HAProxy (${this.bin} -f ${this.cfgPath}) ${what}. Last output: ${
      JSON.stringify(this.lastLines.slice(-5))
    }`
  }
}

export interface HaproxyProcessShape {
  /** PID of the master process. */
  readonly pid: number
  readonly masterSocket: string
  readonly cfgPath: string
  /** Resolves when the master exits (any number of awaiters). */
  readonly exited: Effect.Effect<ExitInfo>
  readonly isRunning: Effect.Effect<boolean>
  /** Snapshot of the ring buffer, oldest first. */
  readonly recentLogs: Effect.Effect<ReadonlyArray<LogLine>>
  readonly showProc: Effect.Effect<ShowProc, ShowProcError>
  /**
   * master-cli `reload`, serialised (concurrent calls queue), with `ReloadFailed.logLines` filled from
   * what HAProxy printed meanwhile.
   */
  readonly reload: (options?: ReloadOptions) => Effect.Effect<ReloadResult, ReloadError>
  /** SIGUSR1 (graceful), wait up to `grace`, then SIGTERM, then SIGKILL. */
  readonly softStop: (grace: Duration.Input) => Effect.Effect<ExitInfo>
  /** SIGTERM to the process group, then SIGKILL after the kill timeout. */
  readonly stop: Effect.Effect<ExitInfo>
}

const SIGNAL_IN_MESSAGE = /signal: '?([A-Z0-9]+)'?/

const makeRing = (capacity: number) => {
  const buffer: Array<LogLine> = []
  let total = 0
  return {
    push: (line: LogLine) => {
      buffer.push(line)
      total++
      if (buffer.length > capacity) buffer.splice(0, buffer.length - capacity)
    },
    snapshot: (): ReadonlyArray<LogLine> => buffer.slice(),
    /** Monotonic count of lines ever pushed. */
    total: () => total,
    /** Lines pushed after `mark` (a previous `total()`), as far as the buffer still holds them. */
    since: (mark: number): ReadonlyArray<LogLine> => buffer.slice(Math.max(0, buffer.length - (total - mark)))
  }
}

/**
 * Starts HAProxy and returns once a worker is up. The process belongs to the
 * current Scope: closing it stops HAProxy and all its workers.
 */
export const makeHaproxyProcess = (
  options: HaproxyProcessOptions
): Effect.Effect<HaproxyProcessShape, HaproxyStartFailed, ChildProcessSpawner.ChildProcessSpawner | Scope.Scope> =>
  Effect.gen(function*() {
    const spawner = yield* ChildProcessSpawner.ChildProcessSpawner
    const { bin, cfgPath, masterSocket } = options
    const startTimeoutMs = Duration.toMillis(options.startTimeout ?? Duration.seconds(30))
    const killTimeout = options.killTimeout ?? Duration.seconds(5)
    const ring = makeRing(Math.max(10, options.logBufferLines ?? 500))
    const lastLines = (n = 50) => ring.snapshot().slice(-n).map((l) => l.line)

    const args = [
      "-W",
      "-db",
      "-S",
      `${masterSocket},mode,600`,
      ...(options.pidFile === undefined ? [] : ["-p", options.pidFile]),
      "-f",
      cfgPath,
      ...(options.extraArgs ?? [])
    ]
    const handle = yield* spawner.spawn(ChildProcess.make(bin, args, {
      stdin: "ignore",
      // An allow-listed environment: the agent's holds passwords and AWS credentials.
      env: haproxyEnvironment(process.env),
      extendEnv: false,
      killSignal: "SIGTERM",
      forceKillAfter: killTimeout,
      ...(options.cwd === undefined ? {} : { cwd: options.cwd })
    })).pipe(
      Effect.mapError((e) =>
        new HaproxyStartFailed({ bin, cfgPath, reason: "spawn", detail: e.message, lastLines: [] })
      )
    )
    const pid = handle.pid as number

    const pump = (stream: Stream.Stream<Uint8Array, unknown>, name: LogLine["stream"]) =>
      stream.pipe(
        Stream.decodeText(),
        Stream.splitLines,
        Stream.runForEach((line) =>
          Effect.gen(function*() {
            const entry: LogLine = { stream: name, line, timestamp: yield* Clock.currentTimeMillis }
            ring.push(entry)
            // A logging problem must never take HAProxy supervision down.
            if (options.onLog !== undefined) yield* Effect.ignoreCause(options.onLog(entry))
          })
        ),
        Effect.ignore
      )
    const stdoutFiber = yield* Effect.forkScoped(pump(handle.stdout, "stdout"))
    const stderrFiber = yield* Effect.forkScoped(pump(handle.stderr, "stderr"))

    const exitDeferred = yield* Deferred.make<ExitInfo>()
    yield* Effect.forkScoped(Effect.gen(function*() {
      const result = yield* Effect.result(handle.exitCode)
      // Workers may still hold the pipes for a moment; let the pumps catch the last lines.
      yield* Fiber.joinAll([stdoutFiber, stderrFiber]).pipe(Effect.timeoutOption(Duration.millis(500)))
      const info: ExitInfo = result._tag === "Success"
        ? { code: result.success as number, signal: null, lastLines: lastLines() }
        : {
          code: null,
          // The platform error wraps `Error("Process interrupted due to receipt of signal: 'SIGKILL'")`.
          signal: SIGNAL_IN_MESSAGE.exec(`${result.failure.message} ${String(result.failure.cause)}`)?.[1] ??
            "UNKNOWN",
          lastLines: lastLines()
        }
      yield* Deferred.succeed(exitDeferred, info)
    }))

    const exited = Deferred.await(exitDeferred)
    const isRunning = Effect.map(Deferred.isDone(exitDeferred), (done) => !done)

    // Wait for the master CLI to show a worker, unless the master dies first.
    const ready = Effect.gen(function*() {
      let lastError = "no answer yet"
      while (true) {
        const polled = yield* Effect.result(masterShowProc(masterSocket, {
          socket: { connectTimeout: Duration.seconds(1), responseTimeout: Duration.seconds(5) }
        }))
        if (polled._tag === "Success") {
          // 3.1+: the worker parses the config and binds after it is listed; the master prints
          // "Loading success." once the worker reported READY (2.6 prints it too, after the fork).
          if (polled.success.workers.length > 0 && ring.snapshot().some((l) => l.line.includes("Loading success"))) return polled.success
          lastError = "the master is up but has no ready worker yet"
        } else {
          lastError = polled.failure.message
        }
        yield* Effect.sleep(Duration.millis(25))
      }
    }).pipe(
      Effect.timeoutOrElse({
        duration: Duration.millis(startTimeoutMs),
        orElse: () =>
          Effect.fail(
            new HaproxyStartFailed({
              bin,
              cfgPath,
              reason: "timeout",
              detail: `${startTimeoutMs} ms`,
              lastLines: lastLines()
            })
          )
      })
    )
    const diedEarly = Effect.flatMap(exited, (info) =>
      Effect.fail(
        new HaproxyStartFailed({
          bin,
          cfgPath,
          reason: "exited",
          detail: info.signal === null ? `exit code ${info.code}` : `signal ${info.signal}`,
          lastLines: info.lastLines
        })
      ))

    yield* Effect.raceFirst(ready, diedEarly).pipe(
      Effect.tapError(() => Effect.ignore(handle.kill({ killSignal: "SIGTERM", forceKillAfter: killTimeout })))
    )

    const stop: Effect.Effect<ExitInfo> = Effect.gen(function*() {
      if (yield* Deferred.isDone(exitDeferred)) return yield* exited
      yield* Effect.ignore(handle.kill({ killSignal: "SIGTERM", forceKillAfter: killTimeout }))
      return yield* exited
    })

    const softStop = (grace: Duration.Input): Effect.Effect<ExitInfo> =>
      Effect.gen(function*() {
        if (yield* Deferred.isDone(exitDeferred)) return yield* exited
        yield* Effect.sync(() => {
          try {
            process.kill(pid, "SIGUSR1")
          } catch {
            // already gone: `exited` resolves on its own
          }
        })
        const graceful = yield* Effect.timeoutOption(exited, grace)
        if (graceful._tag === "Some") return graceful.value
        return yield* stop
      })

    // One reload at a time: the show proc bookkeeping (R, W) assumes nobody else reloads meanwhile.
    const reloadLock = yield* Semaphore.make(1)
    const reload = (reloadOptions?: ReloadOptions): Effect.Effect<ReloadResult, ReloadError> =>
      reloadLock.withPermit(Effect.suspend(() => {
        const mark = ring.total()
        return masterReload(masterSocket, reloadOptions).pipe(
          Effect.catchTag("ReloadFailed", (e) =>
            // The master prints "Loading failure!" and its ALERTs around the verdict; give the pump a moment.
            Effect.sleep(Duration.millis(100)).pipe(
              Effect.andThen(Effect.fail(
                new ReloadFailed({
                  reason: e.reason,
                  masterReloads: e.masterReloads,
                  failedCount: e.failedCount,
                  previousWorkerPid: e.previousWorkerPid,
                  currentWorkerPids: e.currentWorkerPids,
                  durationMs: e.durationMs,
                  answer: e.answer,
                  logLines: ring.since(mark).map((l) => l.line).slice(-50)
                })
              ))
            ))
        )
      }))

    return {
      pid,
      masterSocket,
      cfgPath,
      exited,
      isRunning,
      recentLogs: Effect.sync(() => ring.snapshot()),
      showProc: masterShowProc(masterSocket),
      reload,
      softStop,
      stop
    } satisfies HaproxyProcessShape
  })
