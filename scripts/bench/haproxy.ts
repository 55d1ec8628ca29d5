/** The installed HAProxy: which executable, and which version. */
import { spawnSync } from "node:child_process"
import { existsSync } from "node:fs"
import process from "node:process"

/** HAPROXY_BIN, else /usr/sbin/haproxy when present, else `haproxy` from PATH. */
export const haproxyBinary = (): string =>
  process.env["HAPROXY_BIN"] ?? (existsSync("/usr/sbin/haproxy") ? "/usr/sbin/haproxy" : "haproxy")

export interface HaproxyVersion {
  /** The first line of `haproxy -v` without its prefix and URL: `2.6.12-1+deb12u4 2026/10/17`. */
  readonly line: string
  /** The version alone: `2.6.12-1+deb12u4`. */
  readonly version: string
}

/** `bin -v`, parsed; undefined when it cannot be run. */
export const haproxyVersion = (bin: string): HaproxyVersion | undefined => {
  const r = spawnSync(bin, ["-v"], { encoding: "utf8" })
  if (r.status !== 0) return undefined
  return {
    line: (r.stdout.split("\n")[0] ?? "").replace(/ - https?:.*$/, "").replace("HAProxy version ", ""),
    version: /version (\S+)/.exec(r.stdout)?.[1] ?? "?"
  }
}
