/** What a report says about the machine and the tree it ran on. */
import { spawnSync } from "node:child_process"
import { loadavg } from "node:os"
import process from "node:process"
import { processes } from "./proc.ts"

/** The 1, 5 and 15 minute load averages: `0.25 0.59 0.66`. */
export const loadAverageText = (values: ReadonlyArray<number> = loadavg()) => values.map((x) => x.toFixed(2)).join(" ")

/** The bun running this script (`?` under another runtime). */
export const bunVersion = () => process.versions["bun"] ?? "?"

/** `git describe --always --dirty` of the checkout at `root` (`?` outside git). */
export const gitDescribe = (root: string): string => {
  const r = spawnSync("git", ["-C", root, "describe", "--always", "--dirty"], { encoding: "utf8" })
  return r.status === 0 ? r.stdout.trim() : "?"
}

/**
 * Other measurement-sensitive work on this machine, to be waited for or at least named in a
 * report: `pid argv` of every process that runs vitest, a scripts/bench-*.ts or a compiled agent
 * (`…/cloudmap-haproxy`), except this process and its parent. Call it before starting agents.
 */
export const otherBenchmarkRuns = (): Array<string> =>
  processes()
    .filter(({ pid, argv }) =>
      pid !== process.pid && pid !== process.ppid &&
      (argv.some((a) => /vitest|scripts\/bench-[\w-]+\.ts/.test(a)) || (argv[0] ?? "").endsWith("cloudmap-haproxy"))
    )
    .map(({ pid, argv }) => `${pid} ${argv.join(" ").trim().slice(0, 120)}`)
