/**
 * HAProxy's live view of every server (`show stat` on the workers' admin socket): UP, DOWN,
 * MAINT, DRAIN, the effective weight and the current sessions, for the status page
 * (`GET /status/servers`). Read on demand and kept for LIVE_TTL, so any number of open pages
 * costs HAProxy at most one `show stat` a second; a failed read is shown with its reason, never
 * thrown. The parsing into LiveState is pure. The HTTP handler asks with a plain Promise: one
 * fiber of the layer does the reads (woken by a latch) and answers every request waiting for one,
 * so no Effect is run from the handler.
 */
import { Clock, Context, Duration, Effect, Latch, Layer, type Scope } from "effect"
import { AgentConfigService } from "../config/service.ts"
import { adminSocketPath, makeRuntimeApi } from "../haproxy/runtime-api.ts"
import type { RuntimeError } from "../haproxy/runtime-errors.ts"
import type { StatRecord } from "../haproxy/runtime-parse.ts"

/** How long one `show stat` answers every page. */
export const LIVE_TTL = Duration.seconds(1)

export type LiveServerState = "UP" | "DOWN" | "MAINT" | "DRAIN" | "NOLB" | "UNKNOWN"

export interface LiveServer {
  readonly server: string
  readonly address: string | null
  /** The summary the page colours by. */
  readonly state: LiveServerState
  /** HAProxy's own text (`UP 1/3` while a server is going down, `no check`, `MAINT (resolution)`...). */
  readonly status: string
  /** The effective weight (0 takes the server out of load balancing). */
  readonly weight: number | null
  readonly sessions: number
  readonly backup: boolean
  /**
   * The last health check's result as HAProxy's stats page shows it: `L4OK`, `L4CON`, and with the
   * HTTP status of a layer-7 check `L7OK/200` or `L7STS/500`; null without checks.
   */
  readonly check: string | null
  /** Seconds since the server last changed state. */
  readonly lastChangeSeconds: number | null
}

export interface LiveBackend {
  readonly backend: string
  readonly status: string
  readonly sessions: number
  readonly servers: ReadonlyArray<LiveServer>
}

export interface LiveState {
  /** When HAProxy was asked (ISO 8601). */
  readonly at: string
  readonly available: boolean
  /** Why there is no live state (HAProxy not running, APPLY_MODE=off, a socket error). */
  readonly error: string | null
  readonly backends: ReadonlyArray<LiveBackend>
}

/** `show stat` `type` column: 1 backend, 2 server. */
const BACKEND = "1"
const SERVER = "2"

/** The state an operator reads from HAProxy's status text. */
export const stateOf = (status: string): LiveServerState => {
  const s = status.trim().toUpperCase()
  if (s.startsWith("MAINT")) return "MAINT"
  if (s.startsWith("DRAIN")) return "DRAIN"
  if (s.startsWith("NOLB")) return "NOLB"
  // "UP 1/3": up, going down; "DOWN 1/2": down, going up.
  if (s.startsWith("UP")) return "UP"
  if (s.startsWith("DOWN")) return "DOWN"
  // A server without health checks is in rotation.
  if (s === "NO CHECK") return "UP"
  return "UNKNOWN"
}

const numberOrNull = (text: string | undefined): number | null => {
  if (text === undefined || text.trim() === "") return null
  const n = Number(text)
  return Number.isFinite(n) ? n : null
}

/** `L7STS/500`: the check's status with its HTTP code when it has one (as HAProxy's stats page). */
export const checkOf = (status: string | undefined, code: string | undefined): string | null => {
  if (status === undefined || status.trim() === "") return null
  // HAProxy prefixes a check still running with "* ".
  const shown = status.replace(/^\*\s*/, "")
  return code !== undefined && code.trim() !== "" ? `${shown}/${code.trim()}` : shown
}

const serverOf = (r: StatRecord): LiveServer => ({
  server: r.service,
  address: r.columns["addr"] || null,
  state: stateOf(r.status),
  status: r.status,
  weight: numberOrNull(r.columns["weight"]),
  sessions: r.scur,
  backup: r.columns["bck"] === "1",
  check: checkOf(r.columns["check_status"], r.columns["check_code"]),
  lastChangeSeconds: numberOrNull(r.columns["lastchg"])
})

/** `show stat` rows → backends with their servers, in HAProxy's order. Pure. */
export const liveStateOf = (rows: ReadonlyArray<StatRecord>, now: number): LiveState => {
  const backends = new Map<string, { status: string; sessions: number; servers: Array<LiveServer> }>()
  const entry = (proxy: string) => {
    const found = backends.get(proxy)
    if (found !== undefined) return found
    const created = { status: "", sessions: 0, servers: [] as Array<LiveServer> }
    backends.set(proxy, created)
    return created
  }
  for (const r of rows) {
    const type = r.columns["type"]
    if (type === SERVER) entry(r.proxy).servers.push(serverOf(r))
    else if (type === BACKEND) Object.assign(entry(r.proxy), { status: r.status, sessions: r.scur })
  }
  return {
    at: new Date(now).toISOString(),
    available: true,
    error: null,
    backends: [...backends].map(([backend, b]) => ({ backend, ...b }))
  }
}

export const unavailable = (now: number, error: string): LiveState => ({
  at: new Date(now).toISOString(),
  available: false,
  error,
  backends: []
})

/** Answers the handler's requests (see LiveServers). */
export interface LiveStateReader {
  /** The live state, at most `ttl` old: at once when the last read is recent, after the next read otherwise. */
  readonly current: () => Promise<LiveState>
}

/**
 * `showStat` read at most once per `ttl`: requests that find the last read older than that wait
 * for one read by the reader's fiber (forked into the scope), which answers them all; failures
 * become LiveState.
 */
export const liveStateReader = (
  showStat: Effect.Effect<ReadonlyArray<StatRecord>, RuntimeError>,
  ttl: Duration.Input = LIVE_TTL
): Effect.Effect<LiveStateReader, never, Scope.Scope> =>
  Effect.gen(function*() {
    const ttlMs = Duration.toMillis(Duration.fromInputUnsafe(ttl))
    const clock = yield* Clock.clockWith(Effect.succeed)
    const wanted = yield* Latch.make(false)
    let latest: { readonly state: LiveState; readonly at: number } | undefined
    let waiting: Array<(state: LiveState) => void> = []
    const read = Effect.gen(function*() {
      yield* wanted.await
      yield* wanted.close
      const rows = yield* Effect.result(showStat)
      const now = yield* Clock.currentTimeMillis
      const state = rows._tag === "Success" ? liveStateOf(rows.success, now) : unavailable(now, rows.failure.message)
      latest = { state, at: now }
      const answered = waiting
      waiting = []
      for (const answer of answered) answer(state)
    })
    yield* Effect.forkScoped(Effect.forever(read))
    return {
      current: () => {
        if (latest !== undefined && clock.currentTimeMillisUnsafe() - latest.at < ttlMs) return Promise.resolve(latest.state)
        return new Promise<LiveState>((resolve) => {
          waiting.push(resolve)
          wanted.openUnsafe()
        })
      }
    }
  })

export class LiveServers extends Context.Service<LiveServers, LiveStateReader>()("cloudmap-haproxy/http/LiveServers") {
  static readonly layer = Layer.effect(
    LiveServers,
    Effect.gen(function*() {
      const config = yield* AgentConfigService
      if (config.applyMode === "off") {
        const clock = yield* Clock.clockWith(Effect.succeed)
        return LiveServers.of({
          current: () => Promise.resolve(unavailable(clock.currentTimeMillisUnsafe(), "APPLY_MODE=off: the agent runs no HAProxy"))
        })
      }
      // Its own client, one command at a time: the page never takes the applier's socket slots.
      const runtime = makeRuntimeApi(adminSocketPath(config.configDir), { maxInFlight: 1, connectRetries: 1 })
      return LiveServers.of(yield* liveStateReader(runtime.showStat()))
    })
  )
}
