/**
 * A per-test copy of haproxy-wrapper.sh with its fault directory and real HAProxy written in:
 * the agent starts HAProxy with an allow-listed environment, so FAULT_DIR and REAL_HAPROXY
 * cannot travel through it.
 */
import { chmodSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { ROOT } from "./agent.ts"

export const faultWrapper = (faultDir: string): string => {
  const template = readFileSync(join(ROOT, "test/support/haproxy-wrapper.sh"), "utf8").replace(/^#!.*\n/, "")
  const real = process.env.HAPROXY_BIN ?? "haproxy"
  const path = join(faultDir, "haproxy")
  writeFileSync(path, `#!/bin/bash\nFAULT_DIR=${JSON.stringify(faultDir)}\nREAL_HAPROXY=${JSON.stringify(real)}\n${template}`)
  chmodSync(path, 0o755)
  return path
}
