/** The agent as shipped: the compiled dist/cloudmap-haproxy, built by `npm run build` when missing. */
import { spawnSync } from "node:child_process"
import { existsSync } from "node:fs"
import { join } from "node:path"

/** The repository root. */
export const ROOT = join(new URL(".", import.meta.url).pathname, "../..")
export const AGENT_BINARY = join(ROOT, "dist/cloudmap-haproxy")
/** The bun of node_modules (the one `npm run build` uses). */
export const BUN = join(ROOT, "node_modules/.bin/bun")

/** Builds dist/cloudmap-haproxy with `npm run build` when it is missing or `rebuild` is set. */
export const ensureAgentBinary = (rebuild: boolean, log: (line: string) => void): void => {
  if (!rebuild && existsSync(AGENT_BINARY)) return
  log("building dist/cloudmap-haproxy (npm run build)...")
  const b = spawnSync("npm", ["run", "build"], { cwd: ROOT, stdio: "inherit" })
  if (b.status !== 0) throw new Error("npm run build failed")
}
