/**
 * One JSON object per line on stderr: `{"time","level","msg",...fields}`. The first string of a
 * log call is the message; plain objects passed after it, and log annotations, become fields.
 * Callers never pass secrets or rendered configuration (see the README's logging section).
 */
import { Cause, Layer, Logger, References } from "effect"
import type { LogLevel } from "../config/agent-config.ts"

const levelName = (level: string) => level.toLowerCase()

const jsonLineLogger = Logger.make<unknown, void>(({ cause, date, fiber, logLevel, message }) => {
  const parts = Array.isArray(message) ? message : [message]
  const line: Record<string, unknown> = { time: date.toISOString(), level: levelName(logLevel) }
  const texts: Array<string> = []
  for (const part of parts) {
    if (typeof part === "string") texts.push(part)
    else if (part !== null && typeof part === "object" && !(part instanceof Error)) Object.assign(line, part)
    else texts.push(String(part))
  }
  line.msg = texts.join(" ")
  Object.assign(line, fiber.getRef(References.CurrentLogAnnotations))
  if (cause.reasons.length > 0) line.cause = Cause.pretty(cause).split("\n").slice(0, 8).join("\n")
  process.stderr.write(JSON.stringify(line) + "\n")
})

const MINIMUM = { debug: "Debug", info: "Info", warn: "Warn", error: "Error" } as const

export const loggerLayer = (level: LogLevel) =>
  Layer.mergeAll(
    Logger.layer([jsonLineLogger]),
    Layer.succeed(References.MinimumLogLevel, MINIMUM[level])
  )
