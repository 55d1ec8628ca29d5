/**
 * The shipped artefacts: the `bun build --compile` binary (what the image runs) and the same entry
 * under Deno, against the mock Cloud Map and Debian's HAProxy.
 */
import { execFile, spawn } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { demoFixture } from "../../src/mock/fixture.ts"
import { startMockCloudMap, type MockCloudMapHandle } from "../../src/mock/server.ts"
import { VERSION } from "../../src/version.ts"
import { BUN, eventually, pidsMatching, ROOT, viaHaproxy } from "../support/agent.ts"
import { type Backends, startBackends } from "../support/backends.ts"
import { freePort } from "../support/ports.ts"

const run = promisify(execFile)

/** package.json's `build` script as arguments for bun, writing to `outfile`. */
const buildArgs = (outfile: string): Array<string> => {
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: { build: string } }
  const words = pkg.scripts.build.trim().split(/\s+/)
  const out = words.indexOf("--outfile")
  if (words[0] !== "bun" || out === -1) throw new Error(`unexpected build script: ${pkg.scripts.build}`)
  words.splice(out, 2, "--outfile", outfile)
  return words.slice(1)
}
const work = mkdtempSync(join(tmpdir(), "cmh-dist-"))
const binary = join(work, "cloudmap-haproxy")
let mock: MockCloudMapHandle
let backends: Backends

const agentEnv = (extra: Record<string, string> = {}) => ({
  PATH: process.env.PATH ?? "/usr/bin:/bin",
  AWS_REGION: "us-east-1",
  AWS_ACCESS_KEY_ID: "test",
  AWS_SECRET_ACCESS_KEY: "test",
  AWS_ENDPOINT_URL_SERVICEDISCOVERY: mock.url,
  NAMESPACE_MAP: JSON.stringify([{ namespace: "apps", domainname: "example.test" }]),
  STATS_PASSWD: "s",
  PROM_PASSWD: "p",
  ALLOW_INSTANCE_NETWORKS: "127.0.0.0/8",
  ...(process.env.HAPROXY_BIN === undefined ? {} : { HAPROXY_BIN: process.env.HAPROXY_BIN }),
  ...extra
})

beforeAll(async () => {
  backends = await startBackends([{ name: "web-1" }])
  mock = await startMockCloudMap({
    fixture: {
      namespaces: [{
        name: "apps",
        services: [{ name: "web", instances: [{ id: "web-1", attributes: { AWS_INSTANCE_IPV4: "127.0.0.1", AWS_INSTANCE_PORT: String(backends.byName("web-1").port) } }] }, ...(demoFixture.namespaces[0]?.services ?? []).slice(1)]
      }]
    }
  })
  // Exactly package.json's build command (its flags shape the binary's memory), into our directory.
  await run(BUN, buildArgs(binary), { cwd: ROOT, timeout: 240_000 })
}, 300_000)

afterAll(async () => {
  await mock?.close()
  await backends?.close()
  rmSync(work, { recursive: true, force: true })
})

describe("compiled binary", () => {
  it("prints its version", async () => {
    expect(statSync(binary).size).toBeGreaterThan(50_000_000)
    const { stdout } = await run(binary, ["--version"])
    expect(stdout.trim()).toBe(VERSION)
  })

  it("renders against the mock Cloud Map", async () => {
    const out = join(work, "render")
    const { stderr } = await run(binary, ["render", "--out", out], { env: agentEnv() })
    expect(stderr).toContain("web.example.test")
    // Exit 0 is the verdict (`run` rejects otherwise); 3.x prints nothing on success, 2.6 "valid".
    await run(process.env["HAPROXY_BIN"] ?? "haproxy", ["-c", "-f", join(out, "haproxy.cfg")])
  })

  it("exits 78 naming every bad variable", async () => {
    const result = await run(binary, ["render"], { env: { PATH: process.env.PATH ?? "", LISTEN_PORT: "99999" } }).catch((e) => e)
    expect(result.code).toBe(78)
    expect(result.stderr).toContain("AWS_REGION")
    expect(result.stderr).toContain("NAMESPACE_MAP")
    expect(result.stderr).toContain("LISTEN_PORT")
  })

  it("runs the agent with Debian's HAProxy and routes a request; healthcheck tells liveness, --ready readiness", async () => {
    const configDir = join(work, "run")
    const listenPort = await freePort()
    const healthPort = await freePort()
    const env = agentEnv({ CONFIG_DIR: configDir, LISTEN_ADDRESS: "127.0.0.1", LISTEN_PORT: String(listenPort), HEALTH_PORT: String(healthPort) })
    const child = spawn(binary, ["run"], { env, stdio: "ignore" })
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)))
    try {
      await eventually("healthcheck --ready ok", async () => {
        const r = await run(binary, ["healthcheck", "--ready"], { env: { HEALTH_PORT: String(healthPort) } }).catch((e) => e)
        return r.code === undefined
      })
      const live = await run(binary, ["healthcheck"], { env: { HEALTH_PORT: String(healthPort) } })
      expect(live.stdout).toContain("healthz: 200")
      const reply = await viaHaproxy(listenPort, "web.example.test")
      expect(reply.status).toBe(200)
      expect(JSON.parse(reply.body).server).toBe("web-1")
    } finally {
      child.kill("SIGTERM")
      expect(await exited).toBe(0)
      expect(pidsMatching(`${configDir}/master.sock`)).toEqual([])
    }
    const notReady = await run(binary, ["healthcheck"], { env: { HEALTH_PORT: String(healthPort) } }).catch((e) => e)
    expect(notReady.code).toBe(1)
  })
})

describe("Deno", () => {
  it("runs the same entry with the documented permissions and renders", async () => {
    const deno = join(ROOT, "node_modules/.bin/deno")
    const { stdout, stderr } = await run(deno, [
      "run", "--allow-env", "--allow-read", "--allow-net", "--allow-sys", "--allow-run", "--allow-write",
      join(ROOT, "src/main.ts"), "render"
    ], { cwd: ROOT, env: { ...agentEnv(), DENO_NO_UPDATE_CHECK: "1" }, timeout: 120_000 })
    expect(stderr).toContain("web.example.test")
    expect(stdout).toContain("backend be_web.example.test")
  })
})

describe("Node", () => {
  it("runs the same entry with type stripping (Node 22) and renders", async () => {
    const node = join(ROOT, "node_modules/.bin/node")
    const { stdout, stderr } = await run(node, [join(ROOT, "src/main.ts"), "render"], { cwd: ROOT, env: agentEnv(), timeout: 120_000 })
    expect(stderr).toContain("web.example.test")
    expect(stdout).toContain("backend be_web.example.test")
  })
})
