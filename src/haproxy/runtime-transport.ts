/**
 * Request/answer layer of the runtime API client: every command to one admin socket goes through
 * here, one connection per command (src/haproxy/socket-client.ts), with two guarantees that keep a
 * burst of changes (hundreds of servers at once) from turning into errors:
 *
 * - Bounded connections: at most `maxInFlight` commands are in flight on the socket. HAProxy's CLI
 *   accepts `stats maxconn` connections (default 10) and the kernel queues only a few more; 500
 *   parallel connections were measured to get EAGAIN (Node) / ECONNREFUSED (Bun) for all but ~20.
 * - Connect-phase retries: a connection that could not be made sent nothing, so it is retried a few
 *   times with a short jittered exponential backoff (a full CLI, or a worker that is reloading and
 *   briefly refuses or has no socket file). The permit is released while waiting.
 *
 * Commands are never joined with `;` into one connection: on 2.6.12 `del server` leaves out the
 * empty line that ends its answer, so the answers of a `cmd1;cmd2;...` line cannot be told apart
 * reliably (measured), and one command per connection costs ~0.2 ms.
 */
import { Duration, Effect, Schedule, Semaphore } from "effect"
import { RuntimeCommandFailed, type RuntimeError } from "./runtime-errors.ts"
import { sendCommand, type SocketError, type SocketRequestOptions, SocketUnavailable } from "./socket-client.ts"

/** Default commands in flight on one admin socket: 4 of HAProxy's 10 CLI slots, leaving room for operators. */
const DEFAULT_MAX_IN_FLIGHT = 4
/** Default connect retries: 5 (about 50, 100, 200, 400, 800 ms, jittered: ~1.5 s in all). */
const DEFAULT_CONNECT_RETRIES = 5
const DEFAULT_CONNECT_BACKOFF = Duration.millis(50)
const MAX_CONNECT_BACKOFF = Duration.seconds(1)

export interface RuntimeTransportOptions {
  readonly socket?: SocketRequestOptions | undefined
  /** Commands in flight at once on this socket (1-64). Default {@link DEFAULT_MAX_IN_FLIGHT}. */
  readonly maxInFlight?: number | undefined
  /** Retries when the socket cannot be connected to (nothing was sent). Default {@link DEFAULT_CONNECT_RETRIES}. */
  readonly connectRetries?: number | undefined
  /** First retry delay, doubled each time (jittered, at most 1 s). Default 50 ms. */
  readonly connectBackoff?: Duration.Input | undefined
}

export interface RuntimeTransport {
  readonly socketPath: string
  readonly failed: (command: string, answer: string) => RuntimeCommandFailed
  /** Commands whose only success answer is empty output. */
  readonly runExpectEmpty: (command: string) => Effect.Effect<void, RuntimeError>
  /** Fails with the answer unless `ok` accepts it; returns the trimmed answer. */
  readonly runExpect: (command: string, ok: (answer: string) => boolean) => Effect.Effect<string, RuntimeError>
  /** Parses the answer; a parser's string result (why it is not that) fails with the answer. */
  readonly runParsed: <A>(command: string, parse: (text: string) => A | string) => Effect.Effect<A, RuntimeError>
}

/** Nothing was sent: the connection itself failed (refused, no socket file, backlog full, reset). */
const isConnectFailure = (e: unknown): e is SocketUnavailable =>
  e instanceof SocketUnavailable && e.phase === "connect"

export const makeRuntimeTransport = (socketPath: string, options?: RuntimeTransportOptions): RuntimeTransport => {
  const socketOptions = options?.socket
  const maxInFlight = Math.min(64, Math.max(1, Math.floor(options?.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT)))
  const connectRetries = Math.max(0, Math.floor(options?.connectRetries ?? DEFAULT_CONNECT_RETRIES))
  const backoff = Schedule.min([
    Schedule.exponential(options?.connectBackoff ?? DEFAULT_CONNECT_BACKOFF),
    Schedule.spaced(MAX_CONNECT_BACKOFF)
  ]).pipe(Schedule.jittered)
  const permits = Semaphore.makeUnsafe(maxInFlight)

  const failed = (command: string, answer: string) => new RuntimeCommandFailed({ socketPath, command, answer })

  /** One attempt holds one permit; a retry waits without it and queues again. */
  const bounded = <A, E extends SocketError | RuntimeError>(send: Effect.Effect<A, E>): Effect.Effect<A, E> =>
    permits.withPermits(1)(send).pipe(Effect.retry({ times: connectRetries, schedule: backoff, while: isConnectFailure }))

  const run = (command: string) => bounded(sendCommand(socketPath, command, socketOptions))

  const runExpectEmpty = (command: string): Effect.Effect<void, RuntimeError> =>
    Effect.flatMap(run(command), (answer) => answer.trim() === "" ? Effect.void : Effect.fail(failed(command, answer)))

  const runExpect = (command: string, ok: (answer: string) => boolean): Effect.Effect<string, RuntimeError> =>
    Effect.flatMap(run(command), (answer) => ok(answer) ? Effect.succeed(answer.trim()) : Effect.fail(failed(command, answer)))

  const runParsed = <A>(command: string, parse: (text: string) => A | string): Effect.Effect<A, RuntimeError> =>
    Effect.flatMap(run(command), (answer) => {
      const parsed = parse(answer)
      return typeof parsed === "string" ? Effect.fail(failed(command, answer)) : Effect.succeed(parsed)
    })

  return { socketPath, failed, runExpectEmpty, runExpect, runParsed }
}
