/**
 * The agent as shipped: the compiled dist/cloudmap-haproxy, built by `npm run build` when it is
 * missing, older than any source it is built from (a stale binary once measured an older commit
 * than the one a report named), or when `rebuild` is set.
 */
import { spawnSync } from "node:child_process"
import { existsSync, readdirSync, statSync } from "node:fs"
import { join } from "node:path"

/** The repository root. */
export const ROOT = join(new URL(".", import.meta.url).pathname, "../..")
export const AGENT_BINARY = join(ROOT, "dist/cloudmap-haproxy")
/** The bun of node_modules (the one `npm run build` uses). */
export const BUN = join(ROOT, "node_modules/.bin/bun")

/** The newest modification time (ms) of the files under `dir`, recursively. */
const newestUnder = (dir: string): number => {
  let newest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    newest = Math.max(newest, entry.isDirectory() ? newestUnder(path) : statSync(path).mtimeMs)
  }
  return newest
}

/** The binary is missing or older than src/, package.json or package-lock.json. */
export const agentBinaryIsStale = (): boolean => {
  if (!existsSync(AGENT_BINARY)) return true
  const built = statSync(AGENT_BINARY).mtimeMs
  const sources = Math.max(
    newestUnder(join(ROOT, "src")),
    statSync(join(ROOT, "package.json")).mtimeMs,
    statSync(join(ROOT, "package-lock.json")).mtimeMs
  )
  return sources > built
}

/** Builds dist/cloudmap-haproxy with `npm run build` when it is stale (see above) or `rebuild` is set. */
export const ensureAgentBinary = (rebuild: boolean, log: (line: string) => void): void => {
  if (!rebuild && !agentBinaryIsStale()) return
  log("building dist/cloudmap-haproxy (npm run build)...")
  const b = spawnSync("npm", ["run", "build"], { cwd: ROOT, stdio: "inherit" })
  if (b.status !== 0) throw new Error("npm run build failed")
}
