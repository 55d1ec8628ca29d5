/** What a report says about the machine and the tree it ran on. */
import { spawnSync } from "node:child_process"
import { loadavg } from "node:os"
import process from "node:process"

/** The 1, 5 and 15 minute load averages: `0.25 0.59 0.66`. */
export const loadAverageText = (values: ReadonlyArray<number> = loadavg()) => values.map((x) => x.toFixed(2)).join(" ")

/** The bun running this script (`?` under another runtime). */
export const bunVersion = () => process.versions["bun"] ?? "?"

/** `git describe --always --dirty` of the checkout at `root` (`?` outside git). */
export const gitDescribe = (root: string): string => {
  const r = spawnSync("git", ["-C", root, "describe", "--always", "--dirty"], { encoding: "utf8" })
  return r.status === 0 ? r.stdout.trim() : "?"
}
