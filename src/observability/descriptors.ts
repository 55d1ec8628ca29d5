/**
 * This process's file descriptors, asked of the kernel (Linux /proc): the soft limit (the agent's
 * port takes a quarter of it, http/connection-guard.ts), and whether they ran out. The latter is needed
 * because not every HTTP stack says so: under Bun, node:http (the AWS SDK's) reports a socket it
 * could not create as `connect ECONNREFUSED`, while fetch says EMFILE. Read only after a connection
 * failed, so the cost (one directory listing) is paid on errors alone.
 */
import { readdirSync, readFileSync } from "node:fs"

/** Free descriptors below which the process counts as out of them (the listing itself takes one). */
const MARGIN = 4

/** The soft limit on open files of this process (Linux /proc/self/limits), or undefined. */
export const openFileLimit = (): number | undefined => {
  try {
    const line = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync("/proc/self/limits", "utf8"))
    if (line === null) return undefined
    return line[1] === "unlimited" ? Number.MAX_SAFE_INTEGER : Number(line[1])
  } catch {
    return undefined
  }
}

export const descriptorsExhausted = (): boolean => {
  try {
    const open = readdirSync("/proc/self/fd").length
    const limit = openFileLimit()
    return limit !== undefined && open >= limit - MARGIN
  } catch (e) {
    // Listing them needs a descriptor too: that it cannot be had says they ran out.
    const code = (e as { code?: unknown } | undefined)?.code
    return code === "EMFILE" || code === "ENFILE"
  }
}
