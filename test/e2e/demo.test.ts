import { execFile } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import { expect, it } from "vitest"
import { ROOT } from "../support/agent.ts"
import { freePort } from "../support/ports.ts"

it("the README's demo command starts everything and routes a request (scripts/demo.sh --check)", async () => {
  const runDir = mkdtempSync(join(tmpdir(), "cmh-demo-"))
  try {
    const { stdout } = await promisify(execFile)("bash", [join(ROOT, "scripts/demo.sh"), "--check"], {
      cwd: ROOT,
      env: {
        ...process.env,
        LISTEN_PORT: String(await freePort()),
        HEALTH_PORT: String(await freePort()),
        MOCK_PORT: String(await freePort()),
        RUN_DIR: runDir
      },
      timeout: 90_000
    })
    expect(stdout).toContain("hello from web-")
    expect(stdout).toContain("hello from api-")
    expect(stdout).toContain("path=/hello")
    // The demo's option (an HTTP health check on shop) and zone affinity (web-1 is in the agent's zone).
    expect(stdout).toContain("shop: only shop-1 served (HTTP health check)")
    expect(stdout).toMatch(/4 hello from web-1 /)
    expect(stdout).toContain("demo OK")
  } finally {
    rmSync(runDir, { recursive: true, force: true })
  }
})
