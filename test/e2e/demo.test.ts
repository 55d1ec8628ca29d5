import { execFile, spawn } from "node:child_process"
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { connect, createServer, type Server } from "node:net"
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
  // The story it tells: web-3, registered as its text says, serves next to web-1.
  expect(stdout).toContain("web-3: registered in the agent's zone, served next to web-1")
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

/** Every process below `root` now (from /proc), deepest last. */
const descendants = (root: number): Array<number> => {
  const children = new Map<number, Array<number>>()
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue
    try {
      // The command name is in parentheses and may hold spaces: the parent pid follows the last ")".
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8")
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1])
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)])
    } catch {
      // gone meanwhile
    }
  }
  const found: Array<number> = []
  const walk = (pid: number) => {
    for (const child of children.get(pid) ?? []) {
      found.push(child)
      walk(child)
    }
  }
  walk(root)
  return found
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    // A zombie has exited: only its parent has not collected it yet.
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"))
  } catch {
    return false
  }
}

const answers = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect({ host: "127.0.0.1", port }, () => {
      socket.destroy()
      resolve(true)
    })
    socket.on("error", () => resolve(false))
  })

/** `npm run demo` until the agent is ready; what it started (pids and ports). */
const startDemo = async () => {
  const env = await ports()
  const runDir = mkdtempSync(join(tmpdir(), "cmh-demo-"))
  const npm = spawn("npm", ["run", "demo"], { cwd: ROOT, env: { ...process.env, RUN_DIR: runDir, ...env }, stdio: ["ignore", "pipe", "pipe"] })
  let output = ""
  npm.stdout!.on("data", (c) => (output += c))
  npm.stderr!.on("data", (c) => (output += c))
  const deadline = Date.now() + 90_000
  while (!output.includes("Press Ctrl-C")) {
    if (Date.now() > deadline || npm.exitCode !== null) throw new Error(`the demo did not start: ${output}`)
    await new Promise((r) => setTimeout(r, 250))
  }
  const base = Number(env.BACKEND_PORT_BASE)
  const demoPorts = [env.LISTEN_PORT, env.HEALTH_PORT, env.MOCK_PORT].map(Number).concat(Array.from({ length: 8 }, (_, i) => base + i))
  return { npm, runDir, pids: descendants(npm.pid!), ports: demoPorts, output: () => output }
}

/** Waits until none of the demo's processes runs and none of its 11 ports answers. */
const expectAllStopped = async (demo: Awaited<ReturnType<typeof startDemo>>) => {
  const deadline = Date.now() + 30_000
  let left: Array<string> = []
  do {
    await new Promise((r) => setTimeout(r, 500))
    left = [
      ...[demo.npm.pid!, ...demo.pids].filter(alive).map((pid) => `pid ${pid}`),
      ...(await Promise.all(demo.ports.map(async (port) => ((await answers(port)) ? `port ${port}` : "")))).filter((x) => x !== "")
    ]
  } while (left.length > 0 && Date.now() < deadline)
  // Anything still there is stopped here (by pid), so a failure leaves nothing behind.
  for (const pid of demo.pids) if (alive(pid)) process.kill(pid, "SIGKILL")
  rmSync(demo.runDir, { recursive: true, force: true })
  expect(left, demo.output()).toEqual([])
}

it("SIGTERM to `npm run demo` stops everything it started: mock, backends, agent, HAProxy, and frees its 11 ports", async () => {
  const demo = await startDemo()
  // What it started: the shell, the backends, the mock, the agent and HAProxy (master and worker).
  expect(demo.pids.length).toBeGreaterThanOrEqual(6)
  expect((await Promise.all(demo.ports.map(answers))).every(Boolean)).toBe(true)
  demo.npm.kill("SIGTERM")
  await expectAllStopped(demo)
}, 180_000)

it("SIGKILL of the demo's shell still stops everything it started (its watchdog does)", async () => {
  const demo = await startDemo()
  const shell = demo.pids.find((pid) => readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").includes("scripts/demo.sh"))!
  expect(shell).toBeDefined()
  process.kill(shell, "SIGKILL")
  await expectAllStopped(demo)
}, 180_000)
