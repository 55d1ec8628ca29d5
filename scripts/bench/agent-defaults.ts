/**
 * The defaults of the agent under test, as that binary states them (`<binary> run --help` lists
 * every variable as `  NAME (default: …)`): a report names the settings that were in force even
 * when the source tree has moved on since the build.
 */
import { spawnSync } from "node:child_process"

/** Variable name → default as the help text shows it; empty when the binary cannot say. */
export const agentDefaults = (binary: string): Record<string, string> => {
  const r = spawnSync(binary, ["run", "--help"], { encoding: "utf8", timeout: 10_000 })
  const out: Record<string, string> = {}
  for (const m of `${r.stdout ?? ""}`.matchAll(/^ {2}([A-Z][A-Z0-9_]*) \(default: (.*)\)$/gm)) out[m[1]!] = m[2]!
  return out
}
