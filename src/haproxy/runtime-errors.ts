/**
 * Errors of the runtime API client (src/haproxy/runtime-api.ts) and the argument
 * checks it runs before anything is sent: names `[a-z0-9_.-]`, IP literals,
 * integer ports, map paths. A failed check is an {@link InvalidRuntimeArgument}
 * and nothing reaches HAProxy.
 */
import { isIP } from "node:net"
import { Effect, Schema } from "effect"
import type { CommandRejected, PayloadTooLarge, SocketError } from "./socket-client.ts"

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

export const assertMapRef = (argument: string, value: string): Effect.Effect<string, InvalidRuntimeArgument> =>
  typeof value === "string" && MAP_REF.test(value) && !value.split("/").includes("..")
    ? Effect.succeed(value)
    : reject(argument, value, "a map file path made of [A-Za-z0-9_./-] (or #<id>)")

/** `<backend>/<server>`, both checked. */
export const serverRef = (backend: string, server: string): Effect.Effect<string, InvalidRuntimeArgument> =>
  Effect.zipWith(assertName("backend", backend), assertName("server", server), (b, s) => `${b}/${s}`)

/** One map line `<key> <value>`, both checked. */
export const entryLine = (entry: { readonly key: string; readonly value: string }): Effect.Effect<string, InvalidRuntimeArgument> =>
  Effect.zipWith(assertName("map key", entry.key), assertName("map value", entry.value), (k, v) => `${k} ${v}`)

export const assertVersion = (value: number) => assertInt("map version", value, 0, 2 ** 31 - 1)
