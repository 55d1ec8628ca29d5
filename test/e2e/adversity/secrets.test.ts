/**
 * Adversity: secrets and file modes (issue 9, item 5). HAProxy runs with an allow-listed
 * environment (no STATS_PASSWD, PROM_PASSWD or AWS credentials in `show env` or
 * /proc/<pid>/environ), and what the agent writes into CONFIG_DIR (password hashes included) is
 * readable by its own user only: files 0600, directories 0700.
 */
import { lstatSync, readdirSync, readFileSync, realpathSync, statSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { sendCommand } from "../../../src/haproxy/socket-client.ts"
import { type MockCloudMapHandle, startMockCloudMap } from "../../../src/mock/server.ts"
import { type AgentProcess, APPS_HOST_MAP, eventually, startAgent } from "../../support/agent.ts"
import { type Backends, startBackends } from "../../support/backends.ts"
import { appsFixture } from "../../support/fixtures.ts"
import { createService, namespaceId, register, sdkFor } from "../../support/cloudmap-sdk.ts"
import { faultWrapper } from "../../support/fault-wrapper.ts"

const SECRETS = { STATS_PASSWD: "stats-secret-9d1f", PROM_PASSWD: "prom-secret-4c2e", AWS_SECRET_ACCESS_KEY: "aws-secret-77ab", AWS_SESSION_TOKEN: "aws-token-31c0" }


const mode = (path: string) => statSync(path).mode & 0o777

/** Every file and directory under `dir` (links followed to what they name), with its mode. */
const modesUnder = (dir: string): Array<{ path: string; dir: boolean; mode: number }> =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    const link = lstatSync(path)
    if (link.isSocket() || link.isSymbolicLink()) return []
    const isDir = link.isDirectory()
    return [{ path, dir: isDir, mode: link.mode & 0o777 }, ...(isDir ? modesUnder(path) : [])]
  })

describe("adversity: secrets and file modes", () => {
  let backends: Backends
  let mock: MockCloudMapHandle
  let agent: AgentProcess
  let faultDir: string

  beforeAll(async () => {
    backends = await startBackends([{ name: "web-1" }, { name: "blocked-1" }])
    mock = await startMockCloudMap({ fixture: appsFixture(backends, { web: ["web-1"] }) })
    faultDir = realpathSync(await import("node:fs").then((fs) => fs.mkdtempSync("/tmp/cmh-secret-fault-")))
    agent = await startAgent({
      ...SECRETS,
      AWS_ACCESS_KEY_ID: "aws-key-id",
      AWS_ENDPOINT_URL_SERVICEDISCOVERY: mock.url,
      NAMESPACE_MAP: APPS_HOST_MAP,
      HAPROXY_BIN: faultWrapper(faultDir)
    })
    await agent.ready()
  })
  afterAll(async () => {
    await agent?.stop()
    await mock?.close()
    await backends?.close()
  })

  it("HAProxy's environment holds no secret: not in `show env`, not in /proc/<pid>/environ", async () => {
    const pids = agent.haproxyPids()
    expect(pids.length).toBeGreaterThanOrEqual(2) // master and worker
    for (const pid of pids) {
      const environ = readFileSync(`/proc/${pid}/environ`, "utf8")
      for (const secret of Object.values(SECRETS)) expect(environ).not.toContain(secret)
      expect(environ).not.toMatch(/(^|\0)(STATS_PASSWD|PROM_PASSWD|AWS_[A-Z_]+)=/)
    }
    const env = await Effect.runPromise(sendCommand(join(agent.configDir, "admin.sock"), "show env"))
    expect(env).toContain("PATH=")
    for (const secret of Object.values(SECRETS)) expect(env).not.toContain(secret)
    expect(env).not.toMatch(/^(STATS_PASSWD|PROM_PASSWD|AWS_[A-Z_]+)=/m)
  })

  it("CONFIG_DIR and everything the agent writes there are its user's only (dirs 0700, files 0600), rejected candidates included", async () => {
    // A candidate that validation refuses is kept in rejected/.
    writeFileSync(join(faultDir, "fail-check"), "")
    const sdk = sdkFor(mock.url)
    const id = await createService(sdk, await namespaceId(sdk, "apps"), "blocked")
    await register(sdk, id, "blocked-1", backends.byName("blocked-1").port)
    await eventually("a rejected candidate", async () => {
      try {
        return readdirSync(join(agent.configDir, "rejected")).length > 0
      } catch {
        return false
      }
    })
    expect(mode(agent.configDir)).toBe(0o700)
    // The live configuration holds the password hashes.
    expect(readFileSync(join(agent.configDir, "haproxy.cfg"), "utf8")).toContain("password '$6$")
    expect(mode(join(agent.configDir, "haproxy.cfg"))).toBe(0o600)
    const entries = modesUnder(agent.configDir)
    expect(entries.some((e) => e.path.includes("/rejected/") && !e.dir)).toBe(true)
    // HAProxy's own pid file included: the agent runs with umask 077.
    expect(entries.some((e) => e.path.endsWith("haproxy.pid"))).toBe(true)
    const loose = entries.filter((e) => e.mode !== (e.dir ? 0o700 : 0o600))
    expect(loose.map((e) => `${e.path} ${e.mode.toString(8)}`)).toEqual([])
  })
})
