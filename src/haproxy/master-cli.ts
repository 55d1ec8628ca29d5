/**
 * Master CLI client (the `-S <path>` socket of `haproxy -W`).
 *
 * `show proc` on 2.6.12 (measured; 3.x prints the same layout):
 *
 * ```
 * #<PID>          <type>          <reloads>       <uptime>        <version>
 * 8519            master          1 [failed: 1]   0d00h00m03s     2.6.12-1+deb12u4
 * # workers
 * 8523            worker          1               0d00h00m03s     2.6.12-1+deb12u4
 * # old workers
 * 8401            worker          2               0d00h00m09s     2.6.12-1+deb12u4
 * # programs
 *
 * ```
 *
 * Older versions (≤ 2.4) have an extra `<relative PID>` column and print old
 * workers' relative pid as `[was: N]`; the header tells which layout it is.
 *
 * `reload` implements docs/haproxy-facts.md "Master-worker mode and reloads": the only reliable verdict on every
 * version is `show proc` (2.6 answers `reload` with nothing, 3.x with
 * `Success=0|1` that can also be cut short).
 */
import { Clock, Duration, Effect, Schema } from "effect"
import { sendCommand, type SocketError, type SocketRequestOptions } from "./socket-client.ts"

// ---------------------------------------------------------------------------
// Model

export interface MasterInfo {
  readonly pid: number
  /** Reload attempts since start (successful or not). */
  readonly reloads: number
  /** Consecutive failed reloads; reset to 0 by the next successful one. */
  readonly failed: number
  readonly uptime: string
  readonly version: string
}

export interface WorkerInfo {
  readonly pid: number
  /** How many reloads this worker has survived (0 for the current one right after a reload). */
  readonly reloads: number
  readonly uptime: string
  readonly version: string
}

export interface ShowProc {
  readonly master: MasterInfo
  readonly workers: ReadonlyArray<WorkerInfo>
  /** Workers from previous generations that are still finishing their connections. */
  readonly oldWorkers: ReadonlyArray<WorkerInfo>
}

export interface ReloadResult {
  readonly durationMs: number
  readonly newWorkerPid: number
  /** Worker PIDs of previous generations still alive (draining) when the reload was confirmed. */
  readonly oldWorkerPids: ReadonlyArray<number>
  readonly masterReloads: number
  /** The `reload` answer on 3.x (`Success=1` + startup logs); empty on 2.6. */
  readonly answer: string
}

// ---------------------------------------------------------------------------
// Errors

export class MasterCliUnexpectedAnswer extends Schema.TaggedError<MasterCliUnexpectedAnswer>()(
  "MasterCliUnexpectedAnswer",
  {
    socketPath: Schema.String,
    command: Schema.String,
    answer: Schema.String,
    detail: Schema.String
  }
) {
  override get message(): string {
    return `Could not understand the master CLI answer to \`${this.command}\` on ${this.socketPath}: ${this.detail}. ` +
      `Is this path the master socket (-S) and not a worker's stats socket? Answer: ${
        JSON.stringify(this.answer.slice(0, 300))
      }`
  }
}

export class ReloadFailed extends Schema.TaggedError<ReloadFailed>()("ReloadFailed", {
  reason: Schema.Literals(["failed-count", "old-worker-still-current", "success-0", "busy"]),
  masterReloads: Schema.Number,
  failedCount: Schema.Number,
  previousWorkerPid: Schema.Number,
  currentWorkerPids: Schema.Array(Schema.Number),
  durationMs: Schema.Number,
  /** The raw `reload` answer (3.x: `Success=0` + startup logs). */
  answer: Schema.String,
  /** HAProxy log lines captured around the reload, when the caller has them (HaproxyProcess fills this). */
  logLines: Schema.Array(Schema.String)
}) {
  override get message(): string {
    const why = this.reason === "busy"
      ? "another reload was still in progress; retry shortly"
      : `HAProxy could not load the new configuration (master reload #${this.masterReloads}, failed: ${this.failedCount}); ` +
        `the previous worker ${this.previousWorkerPid} keeps serving the last good configuration`
    const alert = [...this.logLines, ...this.answer.split("\n")].find((l) => l.includes("[ALERT]"))
    return `Reload failed: ${why}.${alert === undefined ? "" : ` First alert: ${alert.trim()}.`} ` +
      `Typical causes that pass \`haproxy -c\`: a bind address already in use, missing certificate or map files, ` +
      `memory limits. See logLines/answer for HAProxy's own words.`
  }
}

export class ReloadTimeout extends Schema.TaggedError<ReloadTimeout>()("ReloadTimeout", {
  timeoutMs: Schema.Number,
  masterReloadsBefore: Schema.Number,
  lastShowProc: Schema.String,
  lastError: Schema.String
}) {
  override get message(): string {
    return `No reload verdict within ${this.timeoutMs} ms (master reloads was ${this.masterReloadsBefore} before; ` +
      `last show proc: ${JSON.stringify(this.lastShowProc.slice(0, 300))}${
        this.lastError ? `, last error: ${this.lastError}` : ""
      }). Big configs take seconds to reload (about 2.5 s per 10 000 backends); raise the reload timeout, ` +
      `and check whether the HAProxy master is alive.`
  }
}

export type ShowProcError = SocketError | MasterCliUnexpectedAnswer
export type ReloadError = ReloadFailed | ReloadTimeout | ShowProcError

// ---------------------------------------------------------------------------
// Parsing (pure)

const MASTER_ROW = /^(\d+)\s+master\s+(\d+)(?:\s+\[failed:\s*(\d+)\])?\s+(\S+)\s+(\S+)/
const MASTER_ROW_RELPID = /^(\d+)\s+master\s+\d+\s+(\d+)(?:\s+\[failed:\s*(\d+)\])?\s+(\S+)\s+(\S+)/
const WORKER_ROW = /^(\d+)\s+worker\s+(\d+)\s+(\S+)\s+(\S+)/
const WORKER_ROW_RELPID = /^(\d+)\s+worker\s+(?:\[was:\s*\d+\]|\d+|-)\s+(\d+)\s+(\S+)\s+(\S+)/

/** Parses `show proc`; returns an explanation string when the text is not a `show proc` answer. */
export const parseShowProc = (text: string): ShowProc | string => {
  const lines = text.split("\n").map((l) => l.trimEnd())
  const header = lines.find((l) => l.startsWith("#<PID>"))
  if (header === undefined) return "no `#<PID>` header line"
  const hasRelPid = header.includes("<relative PID>")
  let master: MasterInfo | undefined
  const workers: Array<WorkerInfo> = []
  const oldWorkers: Array<WorkerInfo> = []
  let section: "master" | "workers" | "old" | "other" = "master"
  for (const line of lines) {
    if (line === "" || line.startsWith("#<PID>")) continue
    if (line.startsWith("#")) {
      const name = line.slice(1).trim()
      section = name === "workers" ? "workers" : name === "old workers" ? "old" : "other"
      continue
    }
    if (section === "master") {
      const m = (hasRelPid ? MASTER_ROW_RELPID : MASTER_ROW).exec(line)
      if (m === null) return `unrecognised master row ${JSON.stringify(line)}`
      master = {
        pid: Number(m[1]),
        reloads: Number(m[2]),
        failed: m[3] === undefined ? 0 : Number(m[3]),
        uptime: m[4] ?? "",
        version: m[5] ?? ""
      }
      continue
    }
    if (section === "workers" || section === "old") {
      const m = (hasRelPid ? WORKER_ROW_RELPID : WORKER_ROW).exec(line)
      if (m === null) return `unrecognised worker row ${JSON.stringify(line)}`
      const worker: WorkerInfo = {
        pid: Number(m[1]),
        reloads: Number(m[2]),
        uptime: m[3] ?? "",
        version: m[4] ?? ""
      }
      ;(section === "workers" ? workers : oldWorkers).push(worker)
    }
    // "# programs" / "# old programs": external programs are not ours to track.
  }
  if (master === undefined) return "no master row"
  return { master, workers, oldWorkers }
}

/** Parses the 3.x `reload` answer; `undefined` when it carries no `Success=` line (2.6, or cut short). */
export const parseReloadAnswer = (answer: string): { readonly success: boolean; readonly busy: boolean } | undefined => {
  const m = /^Success=([01])\s*$/m.exec(answer)
  if (m === null) return undefined
  return { success: m[1] === "1", busy: /Another reload is still in progress/.test(answer) }
}

// ---------------------------------------------------------------------------
// Commands

export interface MasterCliOptions {
  /** Socket timeouts for `show proc` (defaults: connect 2 s, response 10 s). */
  readonly socket?: SocketRequestOptions | undefined
}

export interface ReloadOptions {
  /** Overall bound for the whole reload, default 30 s. */
  readonly timeout?: Duration.Input | undefined
  /** Delay between `show proc` polls, default 50 ms. */
  readonly pollInterval?: Duration.Input | undefined
}

export const showProc = (
  socketPath: string,
  options?: MasterCliOptions
): Effect.Effect<ShowProc, ShowProcError> =>
  Effect.flatMap(sendCommand(socketPath, "show proc", options?.socket), (answer) => {
    const parsed = parseShowProc(answer)
    return typeof parsed === "string"
      ? Effect.fail(new MasterCliUnexpectedAnswer({ socketPath, command: "show proc", answer, detail: parsed }))
      : Effect.succeed(parsed)
  }).pipe(
    // sendCommand only fails with CommandRejected for bad command strings; "show proc" is a constant.
    Effect.catchTag("CommandRejected", (e) => Effect.die(e))
  )

const renderShowProc = (p: ShowProc): string =>
  `master ${p.master.pid} reloads=${p.master.reloads} failed=${p.master.failed}; workers ${
    p.workers.map((w) => w.pid).join(",") || "-"
  }; old ${p.oldWorkers.map((w) => w.pid).join(",") || "-"}`

/**
 * Reloads HAProxy through the master CLI and waits for the verdict
 * (docs/haproxy-facts.md):
 * 1. `show proc` → master.reloads = R, current worker = W;
 * 2. `reload` (2.6 answers nothing; 3.x answers `Success=0|1` when it can);
 * 3. poll `show proc` (connection errors while the master re-executes are
 *    expected) until master.reloads > R;
 * 4. success = failed == 0 and the current worker is not W (seen twice in a
 *    row, so a 3.x worker that dies during its init is not reported as success);
 *    failure = failed > 0, or W is still the current worker.
 */
export const reload = (
  socketPath: string,
  options?: ReloadOptions & MasterCliOptions
): Effect.Effect<ReloadResult, ReloadError> =>
  Effect.gen(function*() {
    const timeoutMs = Duration.toMillis(options?.timeout ?? Duration.seconds(30))
    const pollMs = Duration.toMillis(options?.pollInterval ?? Duration.millis(50))
    const clock = yield* Clock.clockWith(Effect.succeed)
    const now = () => clock.currentTimeMillisUnsafe()
    const started = now()
    const deadline = started + timeoutMs
    const remaining = () => Math.max(1, deadline - now())
    const socketOpts = (): SocketRequestOptions => ({
      connectTimeout: Math.min(2000, remaining()),
      responseTimeout: Math.min(Duration.toMillis(options?.socket?.responseTimeout ?? 10_000), remaining())
    })

    const before = yield* showProc(socketPath, { socket: socketOpts() })
    const R = before.master.reloads
    // 3.2 lists the worker that survived a failed reload under "old workers" (with no current one).
    const serving = (p: ShowProc) => p.workers.length > 0 ? p.workers : p.oldWorkers.slice(-1)
    const W = serving(before).at(-1)?.pid ?? -1

    // 3.x waits for the reload to finish before answering, so give it the remaining budget.
    const answer = yield* sendCommand(socketPath, "reload", {
      connectTimeout: Math.min(2000, remaining()),
      responseTimeout: remaining()
    }).pipe(
      Effect.catchTag("CommandRejected", (e) => Effect.die(e)),
      // A cut answer (issue haproxy#3351) or a reset while the master re-executes is not a verdict.
      Effect.catchTags({
        SocketUnavailable: (e) => e.phase === "io" ? Effect.succeed("") : Effect.fail(e),
        SocketTimeout: (e) => e.phase === "response" ? Effect.succeed("") : Effect.fail(e)
      })
    )
    const verdict = parseReloadAnswer(answer)

    const fail = (
      reason: ReloadFailed["reason"],
      p: ShowProc | undefined
    ) =>
      new ReloadFailed({
        reason,
        masterReloads: p?.master.reloads ?? R,
        failedCount: p?.master.failed ?? 0,
        previousWorkerPid: W,
        currentWorkerPids: p === undefined ? [] : serving(p).map((w) => w.pid),
        durationMs: now() - started,
        answer: answer.trim(),
        logLines: []
      })

    if (verdict !== undefined && !verdict.success) {
      if (verdict.busy) return yield* fail("busy", undefined)
      // Confirm with show proc for the counters, but the verdict stands.
      const after = yield* showProc(socketPath, { socket: socketOpts() }).pipe(Effect.option)
      return yield* fail("success-0", after._tag === "Some" ? after.value : undefined)
    }

    let lastText = renderShowProc(before)
    let lastError = ""
    let confirmations = 0
    let candidate = -1
    while (now() < deadline) {
      const polled = yield* showProc(socketPath, { socket: socketOpts() }).pipe(Effect.result)
      if (polled._tag === "Failure") {
        const e = polled.failure
        lastError = e.message
        // The master closes and re-creates its socket while it re-executes: retry.
        if (e._tag !== "SocketUnavailable" && e._tag !== "SocketTimeout") return yield* e
      } else {
        const p = polled.success
        lastText = renderShowProc(p)
        if (p.master.reloads > R) {
          if (p.master.failed > 0) return yield* fail("failed-count", p)
          const current = p.workers[p.workers.length - 1]?.pid
          if (current === undefined) {
            // 3.x: the master can be up before it forks the new worker; keep polling.
            confirmations = 0
          } else if (current === W) {
            return yield* fail("old-worker-still-current", p)
          } else {
            confirmations = current === candidate ? confirmations + 1 : 1
            candidate = current
            if (verdict?.success === true || confirmations >= 2) {
              return {
                durationMs: now() - started,
                newWorkerPid: current,
                oldWorkerPids: [...p.oldWorkers.map((w) => w.pid), ...p.workers.slice(0, -1).map((w) => w.pid)],
                masterReloads: p.master.reloads,
                answer: answer.trim()
              } satisfies ReloadResult
            }
          }
        }
      }
      yield* Effect.sleep(Duration.millis(Math.min(pollMs, remaining())))
    }
    return yield* new ReloadTimeout({
      timeoutMs,
      masterReloadsBefore: R,
      lastShowProc: lastText,
      lastError
    })
  })
