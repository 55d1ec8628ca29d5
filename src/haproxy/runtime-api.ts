/**
 * Runtime API client for a worker's admin socket
 * (`stats socket <path> mode 600 level admin`), docs/haproxy.md §4.
 *
 * Every identifier is re-validated here even though the planner already did
 * (defence in depth): names `[a-z0-9_.-]`, IP literals, integer ports. Every
 * answer is parsed; anything unexpected (`No such server.`, `Unknown command`,
 * `Require 'operator' level`, ...) is a {@link RuntimeCommandFailed}.
 *
 * Runtime changes live in memory only: a reload forgets them, so the caller
 * must also write them to the config and map files.
 */
import { Buffer } from "node:buffer"
import { isIP } from "node:net"
import { Context, Duration, Effect, Layer, Schedule, Schema } from "effect"
import {
  type CommandRejected,
  encodePayloadCommand,
  MAX_REQUEST_BYTES,
  type PayloadTooLarge,
  sendCommand,
  sendPayloadCommand,
  type SocketError,
  type SocketRequestOptions,
  SocketUnavailable
} from "./socket-client.ts"

// ---------------------------------------------------------------------------
// Errors

export class InvalidRuntimeArgument extends Schema.TaggedError<InvalidRuntimeArgument>()("InvalidRuntimeArgument", {
  argument: Schema.String,
  /** JSON-escaped so control characters are visible. */
  value: Schema.String,
  expected: Schema.String
}) {
  override get message(): string {
    return `Refused to send a runtime API command: ${this.argument} ${this.value} is not ${this.expected}. ` +
      `Nothing was sent to HAProxy. Unvalidated input reached the runtime API client; fix the planner/caller.`
  }
}

export class RuntimeCommandFailed extends Schema.TaggedError<RuntimeCommandFailed>()("RuntimeCommandFailed", {
  socketPath: Schema.String,
  /** The command without any payload. */
  command: Schema.String,
  answer: Schema.String
}) {
  override get message(): string {
    const a = this.answer.trim()
    const hint = /No such (server|backend)|Can't find backend|Unknown map identifier|No such map/i.test(a)
      ? "The running HAProxy does not have this object: apply it with a config reload, or check the name."
      : /Unknown command/i.test(a)
      ? "This HAProxy version does not support the command."
      : /Require '?\w+'? level|Permission denied|access/i.test(a)
      ? "The socket's access level is too low: use `stats socket <path> mode 600 level admin`."
      : /maintenance mode/i.test(a)
      ? "Put the server in maint (after draining) before deleting it."
      : /still has connections|still has .*sessions/i.test(a)
      ? "Wait for the server to drain (scur = 0) before deleting it."
      : "See HAProxy's answer."
    return `HAProxy refused \`${this.command}\` on ${this.socketPath}: ${JSON.stringify(a.slice(0, 500))}. ${hint}`
  }
}

export class MapVersionIncomplete extends Schema.TaggedError<MapVersionIncomplete>()("MapVersionIncomplete", {
  mapPath: Schema.String,
  version: Schema.Number,
  expected: Schema.Number,
  actual: Schema.Number
}) {
  override get message(): string {
    return `Bulk load of map ${this.mapPath} (version @${this.version}) holds ${this.actual} entries instead of ` +
      `${this.expected}; it was NOT committed and the live map is unchanged. A payload was probably dropped; ` +
      `retry, or fall back to a reload with the new map file.`
  }
}

export class DrainTimeout extends Schema.TaggedError<DrainTimeout>()("DrainTimeout", {
  backend: Schema.String,
  server: Schema.String,
  sessions: Schema.Number,
  timeoutMs: Schema.Number
}) {
  override get message(): string {
    return `Server ${this.backend}/${this.server} still has ${this.sessions} session(s) after ${this.timeoutMs} ms of draining. ` +
      `Long requests or websockets are still running; wait longer, or accept cutting them (shutdown sessions).`
  }
}

export type RuntimeError =
  | SocketError
  | CommandRejected
  | PayloadTooLarge
  | InvalidRuntimeArgument
  | RuntimeCommandFailed

// ---------------------------------------------------------------------------
// Argument validation

const NAME = /^[a-z0-9_.-]{1,253}$/
const MAP_REF = /^(#[0-9]{1,9}|[A-Za-z0-9_./-]{1,4096})$/

const reject = (argument: string, value: unknown, expected: string) =>
  Effect.fail(new InvalidRuntimeArgument({ argument, value: JSON.stringify(value) ?? String(value), expected }))

export const assertName = (argument: string, value: string): Effect.Effect<string, InvalidRuntimeArgument> =>
  typeof value === "string" && NAME.test(value) && value !== "." && value !== ".."
    ? Effect.succeed(value)
    : reject(argument, value, "a name made of [a-z0-9_.-] (1-253 characters)")

export const assertAddress = (argument: string, value: string): Effect.Effect<string, InvalidRuntimeArgument> =>
  typeof value === "string" && isIP(value) !== 0 && /^[0-9a-fA-F.:]+$/.test(value)
    ? Effect.succeed(value)
    : reject(argument, value, "an IPv4 or IPv6 literal (no hostnames)")

export const assertPort = (argument: string, value: number): Effect.Effect<number, InvalidRuntimeArgument> =>
  Number.isInteger(value) && value >= 1 && value <= 65535
    ? Effect.succeed(value)
    : reject(argument, value, "an integer port between 1 and 65535")

const assertInt = (
  argument: string,
  value: number,
  min: number,
  max: number
): Effect.Effect<number, InvalidRuntimeArgument> =>
  Number.isInteger(value) && value >= min && value <= max
    ? Effect.succeed(value)
    : reject(argument, value, `an integer between ${min} and ${max}`)

export const assertMapRef = (argument: string, value: string): Effect.Effect<string, InvalidRuntimeArgument> =>
  typeof value === "string" && MAP_REF.test(value) && !value.split("/").includes("..")
    ? Effect.succeed(value)
    : reject(argument, value, "a map file path made of [A-Za-z0-9_./-] (or #<id>)")

const assertVersion = (value: number) => assertInt("map version", value, 0, 2 ** 31 - 1)

// ---------------------------------------------------------------------------
// Models and parsers (pure)

export type ServerAdminState = "ready" | "drain" | "maint"
export type ServerOperationalState = "stopped" | "starting" | "running" | "stopping" | "unknown"

export interface ServerStateRecord {
  readonly backendId: number
  readonly backendName: string
  readonly serverId: number
  readonly serverName: string
  readonly address: string
  readonly port: number
  readonly operationalState: ServerOperationalState
  /** srv_op_state: 0 stopped, 1 starting, 2 running, 3 stopping. */
  readonly operationalStateCode: number
  /** Summary of the admin bit field: any MAINT flag → maint, else any DRAIN flag → drain, else ready. */
  readonly adminState: ServerAdminState
  /** srv_admin_state bit field (0x01 FMAINT, 0x02 IMAINT, 0x04 CMAINT, 0x08 FDRAIN, 0x10 IDRAIN, 0x20 RMAINT, 0x40 HMAINT). */
  readonly adminStateCode: number
  readonly userWeight: number
  readonly initialWeight: number
  readonly checkStatus: number
  readonly checkResult: number
  readonly checkHealth: number
  readonly checkState: number
  readonly fqdn: string | undefined
  /** Every column by its header name, as text. */
  readonly columns: Readonly<Record<string, string>>
}

const OP_STATES: ReadonlyArray<ServerOperationalState> = ["stopped", "starting", "running", "stopping"]

export const adminStateOf = (code: number): ServerAdminState =>
  (code & (0x01 | 0x02 | 0x04 | 0x20 | 0x40)) !== 0 ? "maint" : (code & (0x08 | 0x10)) !== 0 ? "drain" : "ready"

/** Parses `show servers state` (format version 1); a string explains why the text is not that. */
export const parseServersState = (text: string): ReadonlyArray<ServerStateRecord> | string => {
  const lines = text.split("\n").map((l) => l.trimEnd()).filter((l) => l !== "")
  if (lines[0] !== "1") return "expected format version line `1`"
  const header = lines[1]
  if (header === undefined || !header.startsWith("# ")) return "missing `# be_id be_name ...` header"
  const names = header.slice(2).trim().split(/\s+/)
  const records: Array<ServerStateRecord> = []
  for (const line of lines.slice(2)) {
    if (line.startsWith("#")) continue
    const fields = line.split(" ")
    const columns: Record<string, string> = {}
    names.forEach((name, i) => {
      columns[name] = fields[i] ?? ""
    })
    const num = (name: string) => Number(columns[name] ?? "NaN")
    if (!Number.isFinite(num("be_id")) || columns["srv_name"] === undefined) {
      return `unrecognised server line ${JSON.stringify(line)}`
    }
    const op = num("srv_op_state")
    const admin = num("srv_admin_state")
    const fqdn = columns["srv_fqdn"]
    records.push({
      backendId: num("be_id"),
      backendName: columns["be_name"] ?? "",
      serverId: num("srv_id"),
      serverName: columns["srv_name"] ?? "",
      address: columns["srv_addr"] ?? "",
      port: num("srv_port"),
      operationalState: OP_STATES[op] ?? "unknown",
      operationalStateCode: op,
      adminState: adminStateOf(admin),
      adminStateCode: admin,
      userWeight: num("srv_uweight"),
      initialWeight: num("srv_iweight"),
      checkStatus: num("srv_check_status"),
      checkResult: num("srv_check_result"),
      checkHealth: num("srv_check_health"),
      checkState: num("srv_check_state"),
      fqdn: fqdn === undefined || fqdn === "-" ? undefined : fqdn,
      columns
    })
  }
  return records
}

export interface StatRecord {
  readonly proxy: string
  /** FRONTEND, BACKEND or the server name. */
  readonly service: string
  /** Current sessions. */
  readonly scur: number
  readonly status: string
  readonly columns: Readonly<Record<string, string>>
}

/** Parses `show stat` CSV. */
export const parseShowStat = (text: string): ReadonlyArray<StatRecord> | string => {
  const lines = text.split("\n").map((l) => l.trimEnd()).filter((l) => l !== "")
  const header = lines[0]
  if (header === undefined || !header.startsWith("# pxname,svname,")) return "missing `# pxname,svname,...` header"
  const names = header.slice(2).split(",")
  return lines.slice(1).map((line) => {
    const fields = line.split(",")
    const columns: Record<string, string> = {}
    names.forEach((name, i) => {
      if (name !== "") columns[name] = fields[i] ?? ""
    })
    return {
      proxy: columns["pxname"] ?? "",
      service: columns["svname"] ?? "",
      scur: Number(columns["scur"] || "0"),
      status: columns["status"] ?? "",
      columns
    }
  })
}

export interface MapEntry {
  readonly key: string
  readonly value: string
}

/** Parses `show map <ref>` lines `0x<ref> <key> <value>`. */
export const parseShowMap = (text: string): ReadonlyArray<MapEntry> | string => {
  const entries: Array<MapEntry> = []
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue
    const m = /^0x[0-9a-f]+ (\S+)(?: (.*))?$/.exec(line)
    if (m === null) return `unrecognised map line ${JSON.stringify(line)}`
    entries.push({ key: m[1] ?? "", value: m[2] ?? "" })
  }
  return entries
}

/** Answers to `set server ... addr` that mean the change was applied (2.6 and 3.x wordings). */
const isAddrChangeOk = (answer: string): boolean =>
  /^(IP changed from|no need to change the addr|port changed from|nothing changed)/.test(answer.trim()) &&
  !/invalid|can't|cannot|not supported|only supported|problem|No such|Require|Unknown/i.test(answer)

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

export interface RuntimeApiOptions {
  readonly socket?: SocketRequestOptions | undefined
  /** Largest request sent for one payload chunk; default and maximum {@link MAX_REQUEST_BYTES}. */
  readonly maxChunkBytes?: number | undefined
  /** Retries (100 ms apart) when the socket cannot be connected to (nothing was sent). Default 3. */
  readonly connectRetries?: number | undefined
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
  /** Current sessions (`scur`) on one server: 0 means it can be deleted after maint. */
  readonly serverSessions: (backend: string, server: string) => Effect.Effect<number, RuntimeError>
  readonly waitServerIdle: (
    backend: string,
    server: string,
    options?: { readonly timeout?: Duration.Input; readonly interval?: Duration.Input }
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

/** Splits map lines into chunks whose encoded `add map @ver <ref> <<` request fits in maxBytes. */
export const chunkMapLines = (
  command: string,
  lines: ReadonlyArray<string>,
  maxBytes: number
): Array<Array<string>> => {
  const overhead = Buffer.byteLength(`${command} <<\n`) + 1 // the final empty line
  const chunks: Array<Array<string>> = []
  let current: Array<string> = []
  let size = overhead
  for (const line of lines) {
    const bytes = Buffer.byteLength(line) + 1
    if (current.length > 0 && size + bytes > maxBytes) {
      chunks.push(current)
      current = []
      size = overhead
    }
    current.push(line)
    size += bytes
  }
  if (current.length > 0) chunks.push(current)
  return chunks
}

export const makeRuntimeApi = (socketPath: string, options?: RuntimeApiOptions): RuntimeApiShape => {
  const socketOptions = options?.socket
  const maxChunkBytes = Math.min(options?.maxChunkBytes ?? MAX_REQUEST_BYTES, MAX_REQUEST_BYTES)
  const connectRetries = Math.max(0, options?.connectRetries ?? 3)

  const failed = (command: string, answer: string) => new RuntimeCommandFailed({ socketPath, command, answer })

  /**
   * Connect-phase failures are retried: the request is only written after the connection is
   * established, so nothing reached HAProxy (and a reloading worker briefly refuses or resets).
   */
  const retryConnect = <A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A, E> =>
    effect.pipe(Effect.retry({
      times: connectRetries,
      schedule: Schedule.spaced(Duration.millis(100)),
      while: (e) => e instanceof SocketUnavailable && e.phase === "connect"
    }))

  const run = (command: string) => retryConnect(sendCommand(socketPath, command, socketOptions))

  /** Commands whose only success answer is empty output. */
  const runExpectEmpty = (command: string): Effect.Effect<void, RuntimeError> =>
    Effect.flatMap(run(command), (answer) => answer.trim() === "" ? Effect.void : Effect.fail(failed(command, answer)))

  const runExpect = (command: string, ok: (answer: string) => boolean): Effect.Effect<string, RuntimeError> =>
    Effect.flatMap(
      run(command),
      (answer) => ok(answer) ? Effect.succeed(answer.trim()) : Effect.fail(failed(command, answer))
    )

  const runParsed = <A>(command: string, parse: (text: string) => A | string): Effect.Effect<A, RuntimeError> =>
    Effect.flatMap(run(command), (answer) => {
      const parsed = parse(answer)
      return typeof parsed === "string" ? Effect.fail(failed(command, answer)) : Effect.succeed(parsed)
    })

  const serverRef = (backend: string, server: string) =>
    Effect.zipWith(assertName("backend", backend), assertName("server", server), (b, s) => `${b}/${s}`)

  const entryLine = (entry: MapEntry) =>
    Effect.zipWith(assertName("map key", entry.key), assertName("map value", entry.value), (k, v) => `${k} ${v}`)

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

  const serverSessions = (backend: string, server: string) =>
    Effect.gen(function*() {
      const ref = yield* serverRef(backend, server)
      const command = `show stat ${backend} 4 -1`
      const rows = yield* runParsed(command, parseShowStat)
      const row = rows.find((r) => r.proxy === backend && r.service === server)
      if (row === undefined) return yield* failed(command, `no stats row for ${ref}`)
      return row.scur
    })

  const waitServerIdle = (
    backend: string,
    server: string,
    opts?: { readonly timeout?: Duration.Input; readonly interval?: Duration.Input }
  ): Effect.Effect<void, RuntimeError | DrainTimeout> =>
    Effect.gen(function*() {
      const timeoutMs = Duration.toMillis(opts?.timeout ?? Duration.seconds(30))
      const intervalMs = Duration.toMillis(opts?.interval ?? Duration.millis(100))
      const deadline = Date.now() + timeoutMs
      while (true) {
        const sessions = yield* serverSessions(backend, server)
        if (sessions === 0) return
        if (Date.now() >= deadline) return yield* new DrainTimeout({ backend, server, sessions, timeoutMs })
        yield* Effect.sleep(Duration.millis(intervalMs))
      }
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
        const answer = yield* retryConnect(sendPayloadCommand(socketPath, command, chunk, socketOptions))
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
    serverSessions,
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
