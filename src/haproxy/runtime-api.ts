/**
 * Runtime API client for a worker's admin socket
 * (`stats socket <path> mode 600 level admin`), docs/haproxy.md §4.
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
import { Clock, Context, Duration, Effect, Layer } from "effect"
import {
  assertAddress,
  assertInt,
  assertMapRef,
  assertName,
  assertPort,
  assertVersion,
  DrainTimeout,
  entryLine,
  MapVersionIncomplete,
  reject,
  type RuntimeError,
  serverRef
} from "./runtime-errors.ts"
import {
  chunkMapLines,
  isAddrChangeOk,
  type MapEntry,
  parseServersState,
  parseShowMap,
  parseShowStat,
  type ServerAdminState,
  type ServerStateRecord,
  type StatRecord
} from "./runtime-parse.ts"
import { makeRuntimeTransport, type RuntimeTransportOptions } from "./runtime-transport.ts"
import { encodePayloadCommand, MAX_REQUEST_BYTES } from "./socket-client.ts"

// The errors, argument checks and parsers live in their own files; these names stay importable from here.
export * from "./runtime-errors.ts"
export * from "./runtime-parse.ts"

// ---------------------------------------------------------------------------
// Client

export interface AddServerOptions {
  /** Enable health checks (they stay off until `enableHealth`). */
  readonly check?: boolean | undefined
  /** Health check interval in ms. */
  readonly interMs?: number | undefined
  readonly rise?: number | undefined
  readonly fall?: number | undefined
  readonly weight?: number | undefined
  readonly maxconn?: number | undefined
  readonly checkPort?: number | undefined
  /** Ramp the weight up over this many ms after the server comes up (`slowstart`). */
  readonly slowstartMs?: number | undefined
}

export interface MapLoadResult {
  readonly version: number
  readonly entries: number
  readonly chunks: number
  readonly durationMs: number
}

/** Connection bound and connect retries: see src/haproxy/runtime-transport.ts. */
export interface RuntimeApiOptions extends RuntimeTransportOptions {
  /** Largest request sent for one payload chunk; default and maximum {@link MAX_REQUEST_BYTES}. */
  readonly maxChunkBytes?: number | undefined
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
  readonly setServerState: (
    backend: string,
    server: string,
    state: ServerAdminState
  ) => Effect.Effect<void, RuntimeError>
  readonly setServerWeight: (backend: string, server: string, weight: number) => Effect.Effect<void, RuntimeError>
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
  /** Current sessions (`scur`) on one server: 0 means it can be deleted after maint. */
  readonly serverSessions: (backend: string, server: string) => Effect.Effect<number, RuntimeError>
  /**
   * Polls the backend (one `show stat` per interval for all of `servers`) until none of them has a
   * session or the timeout (default 30 s) passes; returns the servers still busy then (empty: all idle).
   */
  readonly waitServersIdle: (
    backend: string,
    servers: ReadonlyArray<string>,
    options?: WaitIdleOptions
  ) => Effect.Effect<ReadonlyArray<BusyServer>, RuntimeError>
  readonly waitServerIdle: (
    backend: string,
    server: string,
    options?: WaitIdleOptions
  ) => Effect.Effect<void, RuntimeError | DrainTimeout>
  readonly showMap: (mapRef: string) => Effect.Effect<ReadonlyArray<MapEntry>, RuntimeError>
  /** Adds an entry; an existing key gets a second entry (the first one still wins): use setMap to re-point. */
  readonly addMap: (mapRef: string, key: string, value: string) => Effect.Effect<void, RuntimeError>
  /** Deletes every entry for the key; fails if there is none. */
  readonly delMap: (mapRef: string, key: string) => Effect.Effect<void, RuntimeError>
  /** Re-points an existing key; fails if there is none. */
  readonly setMap: (mapRef: string, key: string, value: string) => Effect.Effect<void, RuntimeError>
  readonly prepareMap: (mapRef: string) => Effect.Effect<number, RuntimeError>
  /** `add map @ver <ref> <<` in chunks that each fit in one HAProxy buffer. Returns the number of chunks. */
  readonly addMapVersion: (
    version: number,
    mapRef: string,
    entries: ReadonlyArray<MapEntry>
  ) => Effect.Effect<number, RuntimeError>
  readonly showMapVersion: (version: number, mapRef: string) => Effect.Effect<ReadonlyArray<MapEntry>, RuntimeError>
  readonly commitMap: (version: number, mapRef: string) => Effect.Effect<void, RuntimeError>
  readonly clearMapVersion: (version: number, mapRef: string) => Effect.Effect<void, RuntimeError>
  /** Atomic replace: prepare → add @ver (chunks) → verify count → commit. On any failure nothing is committed. */
  readonly replaceMap: (
    mapRef: string,
    entries: ReadonlyArray<MapEntry>
  ) => Effect.Effect<MapLoadResult, RuntimeError | MapVersionIncomplete>
}

export const makeRuntimeApi = (socketPath: string, options?: RuntimeApiOptions): RuntimeApiShape => {
  const maxChunkBytes = Math.min(options?.maxChunkBytes ?? MAX_REQUEST_BYTES, MAX_REQUEST_BYTES)
  const { failed, run, runExpect, runExpectEmpty, runParsed, runPayload } = makeRuntimeTransport(socketPath, options)

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
      const w = yield* assertInt("weight", weight, 0, 256)
      return yield* runExpectEmpty(`set server ${ref} weight ${w}`)
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
      if (opts?.weight !== undefined) words.push("weight", String(yield* assertInt("weight", opts.weight, 0, 256)))
      if (opts?.maxconn !== undefined) {
        words.push("maxconn", String(yield* assertInt("maxconn", opts.maxconn, 0, 1_000_000)))
      }
      if (opts?.checkPort !== undefined) words.push("port", String(yield* assertPort("check port", opts.checkPort)))
      if (opts?.slowstartMs !== undefined) {
        words.push("slowstart", `${yield* assertInt("slowstart", opts.slowstartMs, 0, 86_400_000)}ms`)
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

  const serverSessions = (backend: string, server: string) =>
    Effect.map(sessionsOf(backend, [server]), (rows) => rows[0]?.sessions ?? 0)

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

  const waitServerIdle = (backend: string, server: string, opts?: WaitIdleOptions) =>
    Effect.flatMap(waitServersIdle(backend, [server], opts), (busy) => {
      const timeoutMs = Duration.toMillis(opts?.timeout ?? Duration.seconds(30))
      return busy[0] === undefined ? Effect.void : Effect.fail(new DrainTimeout({ backend, server, sessions: busy[0].sessions, timeoutMs }))
    })

  const showMap = (mapRef: string) =>
    Effect.flatMap(assertMapRef("map", mapRef), (m) => runParsed(`show map ${m}`, parseShowMap))

  const addMap = (mapRef: string, key: string, value: string) =>
    Effect.gen(function*() {
      const m = yield* assertMapRef("map", mapRef)
      const line = yield* entryLine({ key, value })
      return yield* runExpectEmpty(`add map ${m} ${line}`)
    })

  const delMap = (mapRef: string, key: string) =>
    Effect.gen(function*() {
      const m = yield* assertMapRef("map", mapRef)
      const k = yield* assertName("map key", key)
      return yield* runExpectEmpty(`del map ${m} ${k}`)
    })

  const setMap = (mapRef: string, key: string, value: string) =>
    Effect.gen(function*() {
      const m = yield* assertMapRef("map", mapRef)
      const line = yield* entryLine({ key, value })
      return yield* runExpectEmpty(`set map ${m} ${line}`)
    })

  const prepareMap = (mapRef: string) =>
    Effect.gen(function*() {
      const m = yield* assertMapRef("map", mapRef)
      const command = `prepare map ${m}`
      const answer = yield* run(command)
      const match = /^New version created: (\d+)\s*$/.exec(answer.trim())
      if (match === null) return yield* failed(command, answer)
      return Number(match[1])
    })

  const addMapVersion = (version: number, mapRef: string, entries: ReadonlyArray<MapEntry>) =>
    Effect.gen(function*() {
      const v = yield* assertVersion(version)
      const m = yield* assertMapRef("map", mapRef)
      const lines = yield* Effect.forEach(entries, entryLine)
      const command = `add map @${v} ${m}`
      const chunks = chunkMapLines(command, lines, maxChunkBytes)
      for (const chunk of chunks) {
        // Encode first so an oversized chunk fails here, before anything is sent.
        yield* encodePayloadCommand(command, chunk)
        const answer = yield* runPayload(command, chunk)
        if (answer.trim() !== "") return yield* failed(`${command} << (${chunk.length} lines)`, answer)
      }
      return chunks.length
    })

  const showMapVersion = (version: number, mapRef: string) =>
    Effect.gen(function*() {
      const v = yield* assertVersion(version)
      const m = yield* assertMapRef("map", mapRef)
      return yield* runParsed(`show map @${v} ${m}`, parseShowMap)
    })

  const commitMap = (version: number, mapRef: string) =>
    Effect.gen(function*() {
      const v = yield* assertVersion(version)
      const m = yield* assertMapRef("map", mapRef)
      return yield* runExpectEmpty(`commit map @${v} ${m}`)
    })

  const clearMapVersion = (version: number, mapRef: string) =>
    Effect.gen(function*() {
      const v = yield* assertVersion(version)
      const m = yield* assertMapRef("map", mapRef)
      return yield* runExpectEmpty(`clear map @${v} ${m}`)
    })

  const replaceMap = (mapRef: string, entries: ReadonlyArray<MapEntry>) =>
    Effect.gen(function*() {
      const started = Date.now()
      const m = yield* assertMapRef("map", mapRef)
      // Validate everything before creating a version.
      yield* Effect.forEach(entries, entryLine)
      const version = yield* prepareMap(m)
      const load = Effect.gen(function*() {
        const chunks = entries.length === 0 ? 0 : yield* addMapVersion(version, m, entries)
        const loaded = yield* showMapVersion(version, m)
        if (loaded.length !== entries.length) {
          return yield* new MapVersionIncomplete({
            mapPath: m,
            version,
            expected: entries.length,
            actual: loaded.length
          })
        }
        yield* commitMap(version, m)
        return { version, entries: entries.length, chunks, durationMs: Date.now() - started } satisfies MapLoadResult
      })
      // Free the uncommitted version on failure; the live map is untouched either way.
      return yield* load.pipe(Effect.tapError(() => Effect.ignore(clearMapVersion(version, m))))
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
    serverSessions,
    waitServersIdle,
    waitServerIdle,
    showMap,
    addMap,
    delMap,
    setMap,
    prepareMap,
    addMapVersion,
    showMapVersion,
    commitMap,
    clearMapVersion,
    replaceMap
  }
}

export class RuntimeApi extends Context.Service<RuntimeApi, RuntimeApiShape>()("cloudmap-haproxy/haproxy/RuntimeApi") {
  static readonly layer = (socketPath: string, options?: RuntimeApiOptions): Layer.Layer<RuntimeApi> =>
    Layer.succeed(RuntimeApi, RuntimeApi.of(makeRuntimeApi(socketPath, options)))
}
