import { execFile } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { createServer, type Server } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import { expect, it } from "vitest"
import { ROOT } from "../support/agent.ts"
import { freePort } from "../support/ports.ts"

const listen = (port: number) =>
  new Promise<Server>((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(port, "127.0.0.1", () => resolve(server))
  })

/** The first of `count` consecutive ports that are free now (tried from a random base). */
const freeRange = async (count: number): Promise<number> => {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000)
    const held: Array<Server> = []
    try {
      for (let i = 0; i < count; i++) held.push(await listen(base + i))
      return base
    } catch {
      // taken: try another base
    } finally {
      await Promise.all(held.map((s) => new Promise((r) => s.close(r))))
    }
  }
  throw new Error(`no ${count} consecutive free ports found`)
}

const runDemo = async (env: Record<string, string>) => {
  const runDir = mkdtempSync(join(tmpdir(), "cmh-demo-"))
  try {
    return await promisify(execFile)("bash", [join(ROOT, "scripts/demo.sh"), "--check"], {
      cwd: ROOT,
      env: { ...process.env, RUN_DIR: runDir, ...env },
      timeout: 90_000
    }).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: e.code ?? -1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" })
    )
  } finally {
    rmSync(runDir, { recursive: true, force: true })
  }
}

const ports = async () => ({
  LISTEN_PORT: String(await freePort()),
  HEALTH_PORT: String(await freePort()),
  MOCK_PORT: String(await freePort()),
  BACKEND_PORT_BASE: String(await freeRange(8))
})

it("the README's demo command starts everything and routes a request (scripts/demo.sh --check)", async () => {
  const { code, stdout, stderr } = await runDemo(await ports())
  expect(code, stderr).toBe(0)
  expect(stdout).toContain("hello from web-")
  expect(stdout).toContain("hello from api-")
  expect(stdout).toContain("path=/hello")
  // The demo's option (an HTTP health check on shop) and zone affinity (web-1 is in the agent's zone).
  expect(stdout).toContain("shop: only shop-1 served (HTTP health check)")
  expect(stdout).toMatch(/4 hello from web-1 /)
  expect(stdout).toContain("demo OK")
}, 120_000)

it("the demo stops with the cause and a non-zero exit when a port it needs is taken, before starting anything", async () => {
  const env = await ports()
  const taken = await listen(Number(env.LISTEN_PORT))
  try {
    const { code, stdout, stderr } = await runDemo(env)
    expect(code).not.toBe(0)
    expect(stderr).toContain(`port ${env.LISTEN_PORT} is in use (LISTEN_PORT)`)
    expect(stdout).not.toContain("Try:")
    expect(stdout).not.toContain("demo OK")
  } finally {
    await new Promise((r) => taken.close(r))
  }
  const base = Number(env.BACKEND_PORT_BASE)
  const backend = await listen(base + 3)
  try {
    const { code, stderr } = await runDemo({ ...env, LISTEN_PORT: String(await freePort()) })
    expect(code).not.toBe(0)
    expect(stderr).toContain(`port ${base + 3} is in use (a sample backend`)
  } finally {
    await new Promise((r) => backend.close(r))
  }
}, 60_000)
