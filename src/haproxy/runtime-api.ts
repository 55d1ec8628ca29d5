/**
 * Runtime API client for a worker's admin socket
 * (`stats socket <path> mode 600 level admin`), docs/haproxy-facts.md "Runtime API".
 *
 * Every identifier is re-validated here even though the planner already did
 * (defence in depth): names `[a-z0-9_.-]`, IP literals, integer ports. Every
 * answer is parsed; anything unexpected (`No such server.`, `Unknown command`,
 * `Require 'operator' level`, ...) is a RuntimeCommandFailed (runtime-errors.ts).
 * Commands go through runtime-transport.ts: at most `maxInFlight` connections
 * to the socket at once, and refused connections are retried with backoff.
 *
 * Runtime changes live in memory only: a reload forgets them, so the caller
 * must also write them to the config and map files.
 */
import { join } from "node:path"
import { Clock, Duration, Effect } from "effect"
import { assertAddress, assertInt, assertName, assertPort, reject, type RuntimeError, serverRef } from "./runtime-errors.ts"
import {
  isAddrChangeOk,
  parseServersState,
  parseShowStat,
  type ServerAdminState,
  type ServerStateRecord,
  type StatRecord
} from "./runtime-parse.ts"
import { makeRuntimeTransport, type RuntimeTransport, type RuntimeTransportOptions } from "./runtime-transport.ts"

export interface AddServerOptions {
  /** Enable health checks (they stay off until `enableHealth`). */
  readonly check?: boolean | undefined
  /** Health check interval in ms. */
  readonly interMs?: number | undefined
  readonly rise?: number | undefined
  readonly fall?: number | undefined
  /** Ramp the weight up over this many ms after the server comes up (`slowstart`). */
  readonly slowstartMs?: number | undefined
  /** 0-256; HAProxy's default is 1. */
  readonly weight?: number | undefined
  readonly maxconn?: number | undefined
  /** Used only when no active server is usable (zone affinity: other zones' instances). */
  readonly backup?: boolean | undefined
  /** Cleartext HTTP/2 to the server (`proto h2`); `checkProtoH2` for its HTTP health checks too. */
  readonly protoH2?: boolean | undefined
  readonly checkProtoH2?: boolean | undefined
  /** Sticky-session cookie value (HAProxy 3.0+ takes one on a server added at runtime). */
  readonly cookie?: string | undefined
}

export interface WaitIdleOptions {
  readonly timeout?: Duration.Input | undefined
  /** Default 100 ms. */
  readonly interval?: Duration.Input | undefined
}

export interface BusyServer {
  readonly server: string
  readonly sessions: number
}

export interface RuntimeApiShape {
  readonly socketPath: string
  readonly showServersState: (backend?: string) => Effect.Effect<ReadonlyArray<ServerStateRecord>, RuntimeError>
  readonly setServerAddr: (backend: string, server: string, addr: string, port: number) => Effect.Effect<string, RuntimeError>
  /** `set server <b>/<s> weight <0-256>` (no reload; 0 takes the server out of load balancing). */
  readonly setServerWeight: (backend: string, server: string, weight: number) => Effect.Effect<void, RuntimeError>
  readonly setServerState: (
    backend: string,
    server: string,
    state: ServerAdminState
  ) => Effect.Effect<void, RuntimeError>
  readonly addServer: (
    backend: string,
    server: string,
    addr: string,
    port: number,
    options?: AddServerOptions
  ) => Effect.Effect<void, RuntimeError>
  readonly enableHealth: (backend: string, server: string) => Effect.Effect<void, RuntimeError>
  readonly delServer: (backend: string, server: string) => Effect.Effect<void, RuntimeError>
  readonly showStat: (backend?: string) => Effect.Effect<ReadonlyArray<StatRecord>, RuntimeError>
  /** Current sessions (`scur`) of every server of a backend by name, from one `show stat`. */
  readonly backendSessions: (backend: string) => Effect.Effect<ReadonlyMap<string, number>, RuntimeError>
  /**
   * Polls the backend (one `show stat` per interval for all of `servers`) until none of them has a
   * session or the timeout (default 30 s) passes; returns the servers still busy then (empty: all idle).
   */
  readonly waitServersIdle: (
    backend: string,
    servers: ReadonlyArray<string>,
    options?: WaitIdleOptions
  ) => Effect.Effect<ReadonlyArray<BusyServer>, RuntimeError>
}

/** The workers' admin socket, as haproxy.cfg names it (`stats socket CONFIG_DIR/admin.sock`). */
export const adminSocketPath = (configDir: string): string => join(configDir, "admin.sock")

/**
 * Connection bound and connect retries: see src/haproxy/runtime-transport.ts. Pass `transport` to
 * share one bound with other clients of the same socket (runtime-backend-api.ts).
 */
export const makeRuntimeApi = (
  socketPath: string,
  options?: RuntimeTransportOptions,
  transport: RuntimeTransport = makeRuntimeTransport(socketPath, options)
): RuntimeApiShape => {
  const { failed, runExpect, runExpectEmpty, runParsed } = transport

  const showServersState = (backend?: string) =>
    Effect.flatMap(
      backend === undefined ? Effect.succeed("show servers state") : Effect.map(
        assertName("backend", backend),
        (b) => `show servers state ${b}`
      ),
      (command) => runParsed(command, parseServersState)
    )

  const setServerAddr = (backend: string, server: string, addr: string, port: number) =>
    Effect.gen(function*() {
      const ref = yield* serverRef(backend, server)
      const a = yield* assertAddress("address", addr)
      const p = yield* assertPort("port", port)
      return yield* runExpect(`set server ${ref} addr ${a} port ${p}`, isAddrChangeOk)
    })

  const setServerState = (backend: string, server: string, state: ServerAdminState) =>
    Effect.gen(function*() {
      const ref = yield* serverRef(backend, server)
      if (state !== "ready" && state !== "drain" && state !== "maint") {
        return yield* reject("state", state, "one of ready, drain, maint")
      }
      return yield* runExpectEmpty(`set server ${ref} state ${state}`)
    })

  const setServerWeight = (backend: string, server: string, weight: number) =>
    Effect.gen(function*() {
      const ref = yield* serverRef(backend, server)
      return yield* runExpectEmpty(`set server ${ref} weight ${yield* assertInt("weight", weight, 0, 256)}`)
    })

  const addServer = (backend: string, server: string, addr: string, port: number, opts?: AddServerOptions) =>
    Effect.gen(function*() {
      const ref = yield* serverRef(backend, server)
      const a = yield* assertAddress("address", addr)
      const p = yield* assertPort("port", port)
      const words: Array<string> = []
      if (opts?.check === true) words.push("check")
      if (opts?.interMs !== undefined) words.push("inter", `${yield* assertInt("inter", opts.interMs, 1, 86_400_000)}ms`)
      if (opts?.rise !== undefined) words.push("rise", String(yield* assertInt("rise", opts.rise, 1, 1000)))
      if (opts?.fall !== undefined) words.push("fall", String(yield* assertInt("fall", opts.fall, 1, 1000)))
      if (opts?.slowstartMs !== undefined) {
        words.push("slowstart", `${yield* assertInt("slowstart", opts.slowstartMs, 0, 86_400_000)}ms`)
      }
      if (opts?.weight !== undefined) words.push("weight", String(yield* assertInt("weight", opts.weight, 0, 256)))
      if (opts?.maxconn !== undefined) words.push("maxconn", String(yield* assertInt("maxconn", opts.maxconn, 1, 1_000_000)))
      if (opts?.backup === true) words.push("backup")
      if (opts?.protoH2 === true) words.push("proto", "h2")
      if (opts?.checkProtoH2 === true) words.push("check-proto", "h2")
      if (opts?.cookie !== undefined) {
        if (!/^[A-Za-z0-9_-]{1,64}$/.test(opts.cookie)) return yield* reject("cookie", opts.cookie, "1-64 of [A-Za-z0-9_-]")
        words.push("cookie", opts.cookie)
      }
      const target = a.includes(":") ? `[${a}]:${p}` : `${a}:${p}`
      const command = [`add server ${ref} ${target}`, ...words].join(" ")
      yield* runExpect(command, (answer) => /^New server registered\.?$/.test(answer.trim()))
    })

  const enableHealth = (backend: string, server: string) =>
    Effect.flatMap(serverRef(backend, server), (ref) => runExpectEmpty(`enable health ${ref}`))

  const delServer = (backend: string, server: string) =>
    Effect.flatMap(
      serverRef(backend, server),
      (ref) => Effect.asVoid(runExpect(`del server ${ref}`, (answer) => /^Server deleted\.?$/.test(answer.trim())))
    )

  const showStat = (backend?: string) =>
    Effect.flatMap(
      backend === undefined
        ? Effect.succeed("show stat")
        : Effect.map(assertName("backend", backend), (b) => `show stat ${b} -1 -1`),
      (command) => runParsed(command, parseShowStat)
    )

  const backendSessions = (backend: string) =>
    Effect.flatMap(assertName("backend", backend), (b) =>
      Effect.map(
        runParsed(`show stat ${b} 4 -1`, parseShowStat),
        (rows): ReadonlyMap<string, number> => new Map(rows.filter((r) => r.proxy === b).map((r) => [r.service, r.scur]))
      ))

  /** Sessions per wanted server; a server without a stats row is an error (it is not in the backend). */
  const sessionsOf = (backend: string, servers: ReadonlyArray<string>) =>
    Effect.gen(function*() {
      const refs = yield* Effect.forEach(servers, (server) => serverRef(backend, server))
      const sessions = yield* backendSessions(backend)
      return yield* Effect.forEach(servers, (server, i) => {
        const n = sessions.get(server)
        return n === undefined
          ? Effect.fail(failed(`show stat ${backend} 4 -1`, `no stats row for ${refs[i]}`))
          : Effect.succeed({ server, sessions: n })
      })
    })

  const waitServersIdle = (backend: string, servers: ReadonlyArray<string>, opts?: WaitIdleOptions) =>
    Effect.gen(function*() {
      const timeoutMs = Duration.toMillis(opts?.timeout ?? Duration.seconds(30))
      const interval = opts?.interval ?? Duration.millis(100)
      const deadline = (yield* Clock.currentTimeMillis) + timeoutMs
      while (true) {
        const busy = (yield* sessionsOf(backend, servers)).filter((r) => r.sessions > 0)
        if (busy.length === 0 || (yield* Clock.currentTimeMillis) >= deadline) return busy as ReadonlyArray<BusyServer>
        yield* Effect.sleep(interval)
      }
    })

  return {
    socketPath,
    showServersState,
    setServerAddr,
    setServerState,
    setServerWeight,
    addServer,
    enableHealth,
    delServer,
    showStat,
    backendSessions,
    waitServersIdle
  }
}
