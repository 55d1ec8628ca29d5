/**
 * Whether this process has run out of file descriptors, asked of the kernel (Linux /proc). Needed
 * because not every HTTP stack says so: under Bun, node:http (the AWS SDK's) reports a socket it
 * could not create as `connect ECONNREFUSED`, while fetch says EMFILE. Read only after a connection
 * failed, so the cost (one directory listing) is paid on errors alone.
 */
import { readdirSync, readFileSync } from "node:fs"

/** Free descriptors below which the process counts as out of them (the listing itself takes one). */
const MARGIN = 4

/** The soft `Max open files` of /proc/self/limits, or undefined. */
const softLimit = (): number | undefined => {
  const line = readFileSync("/proc/self/limits", "utf8").split("\n").find((l) => l.startsWith("Max open files"))
  const value = line === undefined ? undefined : Number(line.slice("Max open files".length).trim().split(/\s+/)[0])
  return value !== undefined && Number.isFinite(value) ? value : undefined
}

export const descriptorsExhausted = (): boolean => {
  try {
    const open = readdirSync("/proc/self/fd").length
    const limit = softLimit()
    return limit !== undefined && open >= limit - MARGIN
  } catch (e) {
    // Listing them needs a descriptor too: that it cannot be had says they ran out.
    const code = (e as { code?: unknown } | undefined)?.code
    return code === "EMFILE" || code === "ENFILE"
  }
}
