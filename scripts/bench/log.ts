/** Progress lines of a bench run. */
import process from "node:process"

/** `[  12s] line` on stdout, seconds since `started` (epoch ms). */
export const timestamped = (started: number) => (line: string) =>
  process.stdout.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s] ${line}\n`)

/** A plain line on stderr (stdout carries the report). */
export const toStderr = (line: string) => process.stderr.write(`${line}\n`)
