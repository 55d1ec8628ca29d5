/**
 * Errors of the runtime API client (src/haproxy/runtime-api.ts) and the argument
 * checks it runs before anything is sent: names `[a-z0-9_.-]`, IP literals,
 * integer ports. A failed check is an {@link InvalidRuntimeArgument}
 * and nothing reaches HAProxy.
 */
import { isIP } from "node:net"
import { Effect, Schema } from "effect"
import type { CommandRejected, SocketError } from "./socket-client.ts"

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
    const hint = /No such (server|backend)|Can't find backend/i.test(a)
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

export type RuntimeError =
  | SocketError
  | CommandRejected
  | InvalidRuntimeArgument
  | RuntimeCommandFailed

// ---------------------------------------------------------------------------
// Argument validation

const NAME = /^[a-z0-9_.-]{1,253}$/

export const reject = (argument: string, value: unknown, expected: string) =>
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

export const assertInt = (
  argument: string,
  value: number,
  min: number,
  max: number
): Effect.Effect<number, InvalidRuntimeArgument> =>
  Number.isInteger(value) && value >= min && value <= max
    ? Effect.succeed(value)
    : reject(argument, value, `an integer between ${min} and ${max}`)

/** `<backend>/<server>`, both checked. */
export const serverRef = (backend: string, server: string): Effect.Effect<string, InvalidRuntimeArgument> =>
  Effect.zipWith(assertName("backend", backend), assertName("server", server), (b, s) => `${b}/${s}`)

