/**
 * What /proc says about processes: which ones run HAProxy for a config directory, and how much
 * memory (VmRSS, RssAnon, RssFile) and CPU time (utime + stime) one process uses. Read directly
 * from /proc, no pattern-matching tools.
 */
import { execFileSync } from "node:child_process"
import { readdirSync, readFileSync } from "node:fs"
import process from "node:process"

/** Every process visible in /proc with its argv (processes that vanish meanwhile are skipped). */
export const processes = (): Array<{ readonly pid: number; readonly argv: ReadonlyArray<string> }> => {
  const out: Array<{ pid: number; argv: ReadonlyArray<string> }> = []
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue
    try {
      out.push({ pid: Number(entry), argv: readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0") })
    } catch {
      // gone meanwhile
    }
  }
  return out
}

/** Whether argv runs HAProxy (argv[0] ends in `haproxy`) with an argument naming a path inside `configDir`. */
const runsHaproxyOf = (configDir: string, argv: ReadonlyArray<string>): boolean =>
  (argv[0] ?? "").endsWith("haproxy") && argv.some((a) => a.includes(`${configDir}/`))

/** HAProxy processes (master, workers, validations) of one config directory. */
export const haproxyPidsFor = (configDir: string): Array<number> =>
  processes()
    .filter(({ pid, argv }) => pid !== process.pid && runsHaproxyOf(configDir, argv))
    .map(({ pid }) => pid)

/**
 * The running HAProxy of one config directory, master and workers: haproxyPidsFor without the
 * short-lived `haproxy -c` validations, which would count a second copy of the configuration.
 */
export const haproxyServingPidsFor = (configDir: string): Array<number> =>
  processes()
    .filter(({ pid, argv }) => pid !== process.pid && runsHaproxyOf(configDir, argv) && !argv.includes("-c"))
    .map(({ pid }) => pid)

/** VmRSS of one process in bytes (/proc/<pid>/status), undefined when it is gone. */
export const rssBytes = (pid: number): number | undefined => {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))
    return m === null ? undefined : Number(m[1]) * 1024
  } catch {
    return undefined
  }
}

/** VmRSS split into anonymous memory (heap, JIT) and file-backed pages (the mapped executable). */
export const rssBreakdown = (pid: number): { anonBytes: number; fileBytes: number } | undefined => {
  try {
    const text = readFileSync(`/proc/${pid}/status`, "utf8")
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? NaN) * 1024
    return { anonBytes: kb("RssAnon"), fileBytes: kb("RssFile") + kb("RssShmem") }
  } catch {
    return undefined
  }
}

/** Sum of VmRSS over several processes (the ones gone count 0). */
export const rssBytesOf = (pids: ReadonlyArray<number>): number => pids.reduce((sum, pid) => sum + (rssBytes(pid) ?? 0), 0)

let clockTicks: number | undefined
/** Clock ticks per second (`getconf CLK_TCK`, 100 when unknown). */
const clkTck = (): number =>
  (clockTicks ??= Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100)

/** utime + stime of one process in seconds (/proc/<pid>/stat fields 14 and 15). */
export const cpuSeconds = (pid: number): number => {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ") // fields[0] is field 3 (state)
  return (Number(fields[11]) + Number(fields[12])) / clkTck()
}
