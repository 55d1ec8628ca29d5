/**
 * Low-level request/response over an HAProxy unix CLI socket (the master CLI
 * from `-S`, or a worker's `stats socket`).
 *
 * One command per connection: connect, write the request and half-close
 * (`socket.end(...)`, the master CLI otherwise stays connected), read until the
 * peer closes. See docs/haproxy-facts.md ("Master-worker mode and reloads", "Runtime API").
 *
 * Safety rules enforced here (defence in depth, callers validate too): a command is one line of
 * printable ASCII, never contains `;` (the CLI splits commands on `;`, docs/haproxy-facts.md
 * "Injection"), and is shorter than {@link MAX_REQUEST_BYTES}: HAProxy silently drops requests larger than
 * `tune.bufsize` (16 384), so an oversized command is refused here, never truncated.
 */
import { Buffer } from "node:buffer"
import { connect } from "node:net"
import { Duration, Effect, Schema } from "effect"

/** Upper bound for one encoded request, below HAProxy's 16 384-byte buffer. */
export const MAX_REQUEST_BYTES = 15 * 1024

const DEFAULT_CONNECT_TIMEOUT = Duration.seconds(2)
const DEFAULT_RESPONSE_TIMEOUT = Duration.seconds(10)
const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024

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

export type SocketError = SocketUnavailable | SocketTimeout

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
const commandProblem = (command: string): string | undefined => {
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

// ---------------------------------------------------------------------------
// Transport

const errnoOf = (error: unknown): string => {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === "string" ? code : "EUNKNOWN"
}

const messageOf = (error: unknown): string => error instanceof Error ? error.message : String(error)

/**
 * Sends an encoded request and returns the whole answer as text. `label` is what errors show.
 *
 * The size limit matters: on 2.6.12 an oversized CLI request was measured to be either silently
 * dropped, left hanging, or to make the worker abort ("A bogus APPCTX ... is spinning ...
 * aborting now!", SIGSEGV), after which the master exits (exit-on-failure) and HAProxy is gone.
 * encodeCommand keeps every request under it.
 */
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

