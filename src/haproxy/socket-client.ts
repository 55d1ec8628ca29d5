/**
 * Low-level request/response over an HAProxy unix CLI socket (the master CLI
 * from `-S`, or a worker's `stats socket`).
 *
 * One command per connection: connect, write the request and half-close
 * (`socket.end(...)`, the master CLI otherwise stays connected), read until the
 * peer closes. See docs/haproxy.md §2.3 and §4.2.
 *
 * Safety rules enforced here (defence in depth, callers validate too):
 * - a command is one line of printable ASCII and never contains `;` (the CLI
 *   splits commands on `;`, docs/haproxy.md §6 item 6);
 * - the only multi-line form is the documented payload form
 *   (`add map|acl [@<ver>] <ref> <<` followed by lines and an empty line);
 * - the encoded request must fit in {@link MAX_REQUEST_BYTES}; HAProxy
 *   silently drops requests larger than `tune.bufsize` (16 384), so an
 *   oversized request is an error here, never a truncation.
 */
import { Buffer } from "node:buffer"
import { connect } from "node:net"
import { Duration, Effect, Schema } from "effect"

/** Upper bound for one encoded request (command + payload), below HAProxy's 16 384-byte buffer. */
export const MAX_REQUEST_BYTES = 15 * 1024

const DEFAULT_CONNECT_TIMEOUT = Duration.seconds(2)
const DEFAULT_RESPONSE_TIMEOUT = Duration.seconds(10)
const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024

/** Commands that accept a `<<` payload (management.txt: "payload supported instead of key/val"). */
const PAYLOAD_COMMAND = /^add (map|acl) (@[0-9]+ )?[^\s;]+$/

// ---------------------------------------------------------------------------
// Errors

export class SocketUnavailable extends Schema.TaggedError<SocketUnavailable>()("SocketUnavailable", {
  socketPath: Schema.String,
  command: Schema.String,
  /** "connect" when the socket could not be reached, "io" when the connection broke mid-request. */
  phase: Schema.Literals(["connect", "io"]),
  code: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    const hint = this.phase === "connect"
      ? "Is HAProxy running, and does the path match `-S` (master CLI) or `stats socket` (admin socket)? " +
        "During a reload the master CLI is briefly unavailable; retry."
      : "HAProxy closed the connection before answering; it may be reloading or stopping. Retry, and check its logs."
    return `HAProxy socket ${this.socketPath} ${this.phase === "connect" ? "is not reachable" : "broke"} ` +
      `(${this.code}: ${this.detail}) while sending \`${this.command}\`. ${hint}`
  }
}

export class SocketTimeout extends Schema.TaggedError<SocketTimeout>()("SocketTimeout", {
  socketPath: Schema.String,
  command: Schema.String,
  phase: Schema.Literals(["connect", "response"]),
  timeoutMs: Schema.Number
}) {
  override get message(): string {
    return `HAProxy socket ${this.socketPath} did not ${this.phase === "connect" ? "accept a connection" : "finish answering"} ` +
      `within ${this.timeoutMs} ms for \`${this.command}\`. HAProxy may be overloaded or stuck; ` +
      `check its CPU and logs, or raise the socket timeout.`
  }
}

export class CommandRejected extends Schema.TaggedError<CommandRejected>()("CommandRejected", {
  /** The offending command, JSON-escaped so control characters are visible. */
  command: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `Refused to send ${this.command} to HAProxy: ${this.reason}. Nothing was sent. ` +
      `This means unvalidated input reached the runtime API client; fix the caller.`
  }
}

export class PayloadTooLarge extends Schema.TaggedError<PayloadTooLarge>()("PayloadTooLarge", {
  command: Schema.String,
  bytes: Schema.Number,
  limit: Schema.Number
}) {
  override get message(): string {
    return `Request \`${this.command} <<\` is ${this.bytes} bytes, over the ${this.limit}-byte limit ` +
      `(HAProxy silently drops requests larger than tune.bufsize). Nothing was sent; split the payload into smaller chunks.`
  }
}

export type SocketError = SocketUnavailable | SocketTimeout
export type RequestError = SocketError | CommandRejected | PayloadTooLarge

// ---------------------------------------------------------------------------
// Request encoding (pure)

export interface SocketRequestOptions {
  readonly connectTimeout?: Duration.Input | undefined
  readonly responseTimeout?: Duration.Input | undefined
  /** Fail (as an I/O error) rather than buffer more than this many answer bytes. */
  readonly maxResponseBytes?: number | undefined
}

const printable = (s: string): boolean => /^[\x20-\x7e]*$/.test(s)

const describe = (s: string): string => JSON.stringify(s)

/** Validates one command line; returns a reason when it must not be sent. */
export const commandProblem = (command: string): string | undefined => {
  if (command.length === 0) return "the command is empty"
  if (command.includes("\n") || command.includes("\r")) return "it contains a line break"
  if (command.includes(";")) return "it contains ';', which HAProxy treats as a command separator"
  if (!printable(command)) return "it contains non-printable or non-ASCII characters"
  if (command !== command.trim()) return "it has leading or trailing whitespace"
  if (command.length > MAX_REQUEST_BYTES - 1) return `it is longer than ${MAX_REQUEST_BYTES - 1} characters`
  return undefined
}

/** Encodes a single-line command. */
export const encodeCommand = (command: string): Effect.Effect<string, CommandRejected> => {
  const problem = commandProblem(command)
  return problem === undefined
    ? Effect.succeed(command + "\n")
    : Effect.fail(new CommandRejected({ command: describe(command), reason: problem }))
}

/**
 * Encodes the payload form `<command> <<\n<line>\n...<line>\n\n`.
 * Only `add map|acl [@ver] <ref>` may carry a payload; every line must be
 * non-empty (an empty line ends the payload) printable ASCII without `;`.
 */
export const encodePayloadCommand = (
  command: string,
  lines: ReadonlyArray<string>
): Effect.Effect<string, CommandRejected | PayloadTooLarge> =>
  Effect.gen(function*() {
    const problem = commandProblem(command)
    if (problem !== undefined) {
      return yield* new CommandRejected({ command: describe(command), reason: problem })
    }
    if (!PAYLOAD_COMMAND.test(command)) {
      return yield* new CommandRejected({
        command: describe(command),
        reason: "only `add map|acl [@<ver>] <ref>` accepts a `<<` payload"
      })
    }
    if (lines.length === 0) {
      return yield* new CommandRejected({ command: describe(command), reason: "the payload is empty" })
    }
    for (const [i, line] of lines.entries()) {
      const lineProblem = line.length === 0
        ? "is empty (an empty line ends the payload early)"
        : commandProblem(line)
      if (lineProblem !== undefined) {
        return yield* new CommandRejected({
          command: describe(command),
          reason: `payload line ${i + 1} (${describe(line)}) ${lineProblem.replace(/^it /, "")}`
        })
      }
    }
    const request = `${command} <<\n${lines.join("\n")}\n\n`
    const bytes = Buffer.byteLength(request)
    if (bytes > MAX_REQUEST_BYTES) {
      return yield* new PayloadTooLarge({ command, bytes, limit: MAX_REQUEST_BYTES })
    }
    return request
  })

// ---------------------------------------------------------------------------
// Transport

const errnoOf = (error: unknown): string => {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === "string" ? code : "EUNKNOWN"
}

const messageOf = (error: unknown): string => error instanceof Error ? error.message : String(error)

/**
 * Sends an already-encoded request and returns the whole answer as text.
 * `label` is what errors show (the command without its payload).
 *
 * The size limit is enforced here too: on 2.6.12 an oversized CLI request was
 * measured to be either silently dropped, left hanging, or to make the worker
 * abort ("A bogus APPCTX ... is spinning ... aborting now!", SIGSEGV), after
 * which the master exits (exit-on-failure) and HAProxy is gone.
 */
export const sendRaw = (
  socketPath: string,
  label: string,
  request: string,
  options?: SocketRequestOptions
): Effect.Effect<string, SocketError | PayloadTooLarge> => {
  const bytes = Buffer.byteLength(request)
  return bytes > MAX_REQUEST_BYTES
    ? Effect.fail(new PayloadTooLarge({ command: label, bytes, limit: MAX_REQUEST_BYTES }))
    : transport(socketPath, label, request, options)
}

const transport = (
  socketPath: string,
  label: string,
  request: string,
  options?: SocketRequestOptions
): Effect.Effect<string, SocketError> =>
  Effect.callback<string, SocketError>((resume) => {
    const connectMs = Duration.toMillis(options?.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT)
    const responseMs = Duration.toMillis(options?.responseTimeout ?? DEFAULT_RESPONSE_TIMEOUT)
    const maxBytes = options?.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES
    const chunks: Array<Buffer> = []
    let received = 0
    let connected = false
    let done = false
    let timer: ReturnType<typeof setTimeout> | undefined

    const socket = connect({ path: socketPath })

    const finish = (effect: Effect.Effect<string, SocketError>): void => {
      if (done) return
      done = true
      if (timer !== undefined) clearTimeout(timer)
      socket.removeAllListeners()
      socket.on("error", () => {}) // late errors after destroy must not crash the process
      socket.destroy()
      resume(effect)
    }

    timer = setTimeout(() => {
      finish(Effect.fail(new SocketTimeout({ socketPath, command: label, phase: "connect", timeoutMs: connectMs })))
    }, connectMs)

    socket.on("connect", () => {
      connected = true
      if (timer !== undefined) clearTimeout(timer)
      timer = setTimeout(() => {
        finish(
          Effect.fail(new SocketTimeout({ socketPath, command: label, phase: "response", timeoutMs: responseMs }))
        )
      }, responseMs)
      socket.end(request)
    })
    socket.on("data", (chunk: Buffer) => {
      received += chunk.length
      if (received > maxBytes) {
        finish(Effect.fail(
          new SocketUnavailable({
            socketPath,
            command: label,
            phase: "io",
            code: "ERESPONSETOOLARGE",
            detail: `answer exceeded ${maxBytes} bytes`
          })
        ))
        return
      }
      chunks.push(chunk)
    })
    socket.on("error", (error) => {
      finish(Effect.fail(
        new SocketUnavailable({
          socketPath,
          command: label,
          phase: connected ? "io" : "connect",
          code: errnoOf(error),
          detail: messageOf(error)
        })
      ))
    })
    socket.on("close", () => {
      finish(Effect.succeed(Buffer.concat(chunks).toString("utf8")))
    })

    return Effect.sync(() => {
      if (done) return
      done = true
      if (timer !== undefined) clearTimeout(timer)
      socket.removeAllListeners()
      socket.on("error", () => {})
      socket.destroy()
    })
  })

/** Sends one single-line command and returns the answer text. */
export const sendCommand = (
  socketPath: string,
  command: string,
  options?: SocketRequestOptions
): Effect.Effect<string, SocketError | CommandRejected> =>
  Effect.flatMap(encodeCommand(command), (request) => transport(socketPath, command, request, options))

/** Sends `add map|acl [@ver] <ref> <<` with payload lines; errors never include the payload. */
export const sendPayloadCommand = (
  socketPath: string,
  command: string,
  lines: ReadonlyArray<string>,
  options?: SocketRequestOptions
): Effect.Effect<string, RequestError> =>
  Effect.flatMap(
    encodePayloadCommand(command, lines),
    (request) => transport(socketPath, `${command} << (${lines.length} lines)`, request, options)
  )
