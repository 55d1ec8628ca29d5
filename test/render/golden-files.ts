/**
 * Golden files under test/golden/: `golden(file, actual)` gives the committed bytes; with
 * `UPDATE_GOLDEN=1` it (re)writes them from `actual` first (review the diff).
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

export const GOLDEN_DIR = fileURLToPath(new URL("../golden/", import.meta.url))
const UPDATE = process.env["UPDATE_GOLDEN"] === "1"

/** The config directory the golden renderings name. */
export const GOLDEN_CONFIG_DIR = "/run/cloudmap-haproxy"

export const golden = (file: string, actual: string): string => {
  const path = join(GOLDEN_DIR, file)
  if (UPDATE) writeFileSync(path, actual)
  if (!existsSync(path)) throw new Error(`missing golden file ${path}: run with UPDATE_GOLDEN=1 to create it`)
  return readFileSync(path, "utf8")
}
