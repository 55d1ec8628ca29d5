/**
 * `cloudmap-haproxy check` end to end: `bun src/main.ts check` as a subprocess against the mock
 * Cloud Map (faults injected through /_mock/faults), the host's HAProxy, temp directories and
 * ports held by the test. Also `config`'s and a usage error's exit codes through main.ts.
 */
import { execFile, execFileSync } from "node:child_process"
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { createServer, type Server } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { startMockCloudMap, type MockCloudMapHandle } from "../../src/mock/server.ts"
import { namespaceIdFor, serviceIdFor } from "../../src/mock/state-model.ts"
import { BUN, ROOT } from "../support/agent.ts"
import { deregister, register, sdkFor } from "../support/cloudmap-sdk.ts"
import { freePort } from "../support/ports.ts"

let mock: MockCloudMapHandle
const work = mkdtempSync(join(tmpdir(), "cmh-check-"))

beforeAll(async () => {
  mock = await startMockCloudMap({
    fixture: {
      namespaces: [
        {
          name: "apps",
          services: [{ name: "web", instances: [{ id: "web-1", attributes: { AWS_INSTANCE_IPV4: "127.0.0.1", AWS_INSTANCE_PORT: "8080" } }] }]
        },
        { name: "empty", services: [] }
      ]
    }
  })
})

afterAll(async () => {
  await mock.close()
  rmSync(work, { recursive: true, force: true })
})

afterEach(async () => {
  await fetch(`${mock.url}/_mock/faults`, { method: "DELETE" })
})

const fault = async (rule: Record<string, unknown>) => {
  const res = await fetch(`${mock.url}/_mock/faults`, { method: "POST", body: JSON.stringify(rule) })
  expect(res.status).toBe(200)
}

interface Run {
  readonly code: number
  readonly lines: ReadonlyArray<string>
  readonly stderr: string
}

/** `bun src/main.ts <args>` with a complete, valid environment and `env` on top. */
const cli = async (args: ReadonlyArray<string>, env: Record<string, string | undefined> = {}): Promise<Run> => {
  const full: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: work,
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: "AKIDCHECKTEST",
    AWS_SECRET_ACCESS_KEY: "test",
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_ENDPOINT_URL_SERVICEDISCOVERY: mock.url,
    NAMESPACE_MAP: JSON.stringify([{ namespace: "apps", domainname: "example.test" }]),
    STATS_PASSWD: "s",
    PROM_PASSWD: "p",
    CONFIG_DIR: join(work, "config"),
    LISTEN_ADDRESS: "127.0.0.1",
    LISTEN_PORT: String(await freePort()),
    HEALTH_PORT: String(await freePort()),
    CLOUDMAP_MAX_ATTEMPTS: "1",
    ...(process.env.HAPROXY_BIN === undefined ? {} : { HAPROXY_BIN: process.env.HAPROXY_BIN })
  }
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete full[k]
    else full[k] = v
  }
  return new Promise((resolve, reject) => {
    const child = execFile(BUN, [join(ROOT, "src/main.ts"), ...args], { env: full, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = child.exitCode ?? (error as { code?: number } | null)?.code
      if (typeof code !== "number") return reject(error ?? new Error("no exit code"))
      resolve({ code, lines: stdout.split("\n").filter((l) => l !== ""), stderr })
    })
  })
}

const line = (run: Run, start: string): string => {
  const found = run.lines.find((l) => l.startsWith(start))
  if (found === undefined) throw new Error(`no line starting with ${JSON.stringify(start)} in:\n${run.lines.join("\n")}\n${run.stderr}`)
  return found
}

const ACTIONS = [
  "ListNamespaces", "ListServices", "DiscoverInstances", "DiscoverInstancesRevision", "GetServiceAttributes", "ListOperations", "GetOperation"
]

describe("cloudmap-haproxy check", () => {
  it("everything in place: a ✓ line per item, exit 0", async () => {
    const run = await cli(["check"])
    expect(run.code, run.lines.join("\n") + run.stderr).toBe(0)
    expect(line(run, "✓ variables valid")).toBe("✓ variables valid (1 mapped namespace in us-east-1)")
    expect(line(run, "✓ AWS credentials found")).toBe("✓ AWS credentials found (access key …TEST)")
    expect(line(run, "✓ namespace \"apps\" exists")).toMatch(/^✓ namespace "apps" exists \(ns-/)
    for (const action of ACTIONS) line(run, `✓ servicediscovery:${action} allowed`)
    expect(line(run, "✓ servicediscovery:GetServiceAttributes")).toContain("on apps/web")
    expect(line(run, "✓ servicediscovery:ListOperations")).toMatch(
      /^✓ servicediscovery:ListOperations allowed \(\d+ instance operations? in the last 15 minutes; (Cloud Map reads UPDATE_DATE in seconds|the UPDATE_DATE unit is learnt at run time)\)$/
    )
    expect(line(run, "✓ servicediscovery:GetOperation")).toBe(
      "✓ servicediscovery:GetOperation allowed (OperationNotFound for an operation id that does not exist)"
    )
    expect(line(run, "✓ HAProxy 2.6 or later")).toMatch(/HAProxy 2\.6 or later \(\S+: [23]\.\d+/)
    line(run, "✓ CONFIG_DIR writable")
    line(run, "✓ LISTEN_PORT free")
    line(run, "✓ HEALTH_PORT free")
    expect(run.lines.filter((l) => l.startsWith("✗"))).toEqual([])
    expect(run.lines.at(-1)).toBe("14 passed, 0 failed, 0 skipped")
  })

  it("reports the UPDATE_DATE unit that the account's recent operations show: seconds, or milliseconds", async () => {
    const options = (body: Record<string, unknown>) =>
      fetch(`${mock.url}/_mock/options`, { method: "POST", body: JSON.stringify(body) }).then((r) => expect(r.status).toBe(200))
    const sdk = sdkFor(mock.url)
    const webId = serviceIdFor(namespaceIdFor("apps"), "web")
    await register(sdk, webId, "web-check", 8081)
    try {
      expect(line(await cli(["check"]), "✓ servicediscovery:ListOperations")).toMatch(/\(\d+ instance operations? in the last 15 minutes; Cloud Map reads UPDATE_DATE in seconds\)$/)
      await options({ updateDateUnit: "milliseconds" })
      expect(line(await cli(["check"]), "✓ servicediscovery:ListOperations")).toMatch(
        /\(\d+ instance operations? in the last 15 minutes; Cloud Map reads UPDATE_DATE in milliseconds \(the agent switches to them by itself\)\)$/
      )
    } finally {
      await options({ updateDateUnit: "seconds" })
      await deregister(sdk, webId, "web-check")
    }
  })

  it.each(["GetServiceAttributes", "DiscoverInstances", "DiscoverInstancesRevision", "ListServices"])(
    "a denied %s fails its line, naming the IAM action to grant; exit 1",
    async (action) => {
      await fault({ kind: "accessDenied", operation: action })
      const run = await cli(["check"])
      expect(run.code).toBe(1)
      const failed = line(run, `✗ servicediscovery:${action} allowed`)
      expect(failed).toContain("denied (AccessDeniedException)")
      expect(failed).toContain(`Fix: grant the IAM action servicediscovery:${action} to the task role`)
      expect(run.lines.filter((l) => l.startsWith("✗"))).toEqual([failed])
    }
  )

  it.each(["ListOperations", "GetOperation"])(
    "a denied %s (the change feed) fails its line: grant it, or set CHANGE_FEED=false; exit 1",
    async (action) => {
      await fault({ kind: "accessDenied", operation: action })
      const run = await cli(["check"])
      expect(run.code).toBe(1)
      const failed = line(run, `✗ servicediscovery:${action} allowed`)
      expect(failed).toBe(
        `✗ servicediscovery:${action} allowed: denied (AccessDeniedException). ` +
          `Fix: grant the IAM action servicediscovery:${action} to the task role, or set CHANGE_FEED=false to poll revisions instead ` +
          "(without the action the agent falls back to revision polling by itself, and says so in its log and /status)"
      )
      expect(run.lines.filter((l) => l.startsWith("✗"))).toEqual([failed])
      expect(run.lines.at(-1)).toBe("13 passed, 1 failed, 0 skipped")
    }
  )

  it("a throttled ListOperations fails with the throttling fix, not the IAM one", async () => {
    await fault({ kind: "throttle", operation: "ListOperations" })
    const run = await cli(["check"])
    expect(run.code).toBe(1)
    const failed = line(run, "✗ servicediscovery:ListOperations allowed")
    expect(failed).toContain("Fix: Cloud Map throttled the call")
    expect(failed).not.toContain("CHANGE_FEED")
  })

  it("CHANGE_FEED=false: the feed's items are skipped and its calls not made (a denial there does not fail), exit 0", async () => {
    await fault({ kind: "accessDenied", operation: ["ListOperations", "GetOperation"] })
    const run = await cli(["check"], { CHANGE_FEED: "false" })
    expect(run.code, run.lines.join("\n")).toBe(0)
    for (const action of ["ListOperations", "GetOperation"]) {
      expect(line(run, `- servicediscovery:${action}`)).toBe(`- servicediscovery:${action} allowed: skipped: CHANGE_FEED=false (revision polling)`)
    }
    expect(run.lines.at(-1)).toBe("12 passed, 0 failed, 2 skipped")
  })

  it("a denied ListNamespaces fails and skips what needs it", async () => {
    await fault({ kind: "accessDenied", operation: "ListNamespaces" })
    const run = await cli(["check"])
    expect(run.code).toBe(1)
    expect(line(run, "✗ servicediscovery:ListNamespaces allowed")).toContain("grant the IAM action servicediscovery:ListNamespaces")
    expect(line(run, "- namespace \"apps\" exists")).toBe("- namespace \"apps\" exists: skipped: ListNamespaces failed")
    // The change feed's calls need no namespace: still tried.
    line(run, "✓ servicediscovery:ListOperations allowed")
    line(run, "✓ servicediscovery:GetOperation allowed")
  })

  it("a namespace that does not exist fails with the closest one", async () => {
    const run = await cli(["check"], {
      NAMESPACE_MAP: JSON.stringify([{ namespace: "apps", domainname: "a.test" }, { namespace: "aps", domainname: "b.test" }])
    })
    expect(run.code).toBe(1)
    expect(line(run, "✗ namespace \"aps\" exists")).toBe(
      "✗ namespace \"aps\" exists: not found in us-east-1 (namespaces: apps, empty). " +
        "Fix: create it in Cloud Map or correct NAMESPACE_MAP (did you mean \"apps\"?)"
    )
    line(run, "✓ namespace \"apps\" exists")
    line(run, "✓ servicediscovery:GetServiceAttributes allowed")
  })

  it("a mapped namespace without services: the reads are skipped (no service), exit 0", async () => {
    const run = await cli(["check"], { NAMESPACE_MAP: JSON.stringify([{ namespace: "empty", domainname: "e.test" }]) })
    expect(run.code).toBe(0)
    for (const action of ["DiscoverInstances", "DiscoverInstancesRevision", "GetServiceAttributes"]) {
      expect(line(run, `- servicediscovery:${action}`)).toBe(`- servicediscovery:${action} allowed: skipped: no service`)
    }
  })

  it("no AWS credentials: that line fails and the calls are skipped", async () => {
    const run = await cli(["check"], {
      AWS_ACCESS_KEY_ID: undefined,
      AWS_SECRET_ACCESS_KEY: undefined,
      AWS_SHARED_CREDENTIALS_FILE: join(work, "none"),
      AWS_CONFIG_FILE: join(work, "none")
    })
    expect(run.code).toBe(1)
    expect(line(run, "✗ AWS credentials found")).toContain("Fix: give the task an IAM role")
    line(run, "- servicediscovery:ListNamespaces allowed: skipped: no AWS credentials")
    line(run, "- servicediscovery:ListOperations allowed: skipped: no AWS credentials")
    line(run, "- servicediscovery:GetOperation allowed: skipped: no AWS credentials")
  })

  describe("ports", () => {
    let held: Server | undefined
    afterEach(() => new Promise<void>((resolve) => (held === undefined ? resolve() : held.close(() => resolve()))))
    const hold = async () => {
      const port = await freePort()
      held = createServer()
      await new Promise<void>((resolve) => held!.listen(port, "127.0.0.1", resolve))
      return port
    }

    it("a busy LISTEN_PORT fails with the fix", async () => {
      const port = await hold()
      const run = await cli(["check"], { LISTEN_PORT: String(port) })
      expect(run.code).toBe(1)
      expect(line(run, "✗ LISTEN_PORT free")).toBe(
        `✗ LISTEN_PORT free: LISTEN_PORT="${port}": the port is already in use on 127.0.0.1 (EADDRINUSE); another HAProxy would share its traffic. ` +
          "Fix: stop what listens there, or set LISTEN_PORT to a free port"
      )
    })

    it("a busy MONITORING_PORT fails naming MONITORING_PORT; unset, it is not an item", async () => {
      const port = await hold()
      const run = await cli(["check"], { MONITORING_PORT: String(port) })
      expect(run.code).toBe(1)
      expect(line(run, "✗ MONITORING_PORT free")).toBe(
        `✗ MONITORING_PORT free: MONITORING_PORT="${port}": the port is already in use on 127.0.0.1 (EADDRINUSE); HAProxy could not serve /stats and /metrics there. ` +
          "Fix: stop what listens there, or set MONITORING_PORT to a free port"
      )
      const unset = await cli(["check"], {})
      expect(unset.lines.filter((l) => l.includes("MONITORING_PORT"))).toEqual([])
    })

    it("a busy HEALTH_PORT fails naming HEALTH_PORT", async () => {
      const port = await hold()
      const run = await cli(["check"], { HEALTH_PORT: String(port) })
      expect(run.code).toBe(1)
      expect(line(run, "✗ HEALTH_PORT free")).toContain(`HEALTH_PORT="${port}": the port is already in use on 127.0.0.1`)
      expect(line(run, "✗ HEALTH_PORT free")).toContain("Fix: stop what listens there, or set HEALTH_PORT to a free port")
    })
  })

  describe("CONFIG_DIR", () => {
    it("missing, under a writable directory: passes and is not created", async () => {
      const dir = join(work, "not", "yet")
      const run = await cli(["check"], { CONFIG_DIR: dir })
      expect(run.code).toBe(0)
      expect(line(run, "✓ CONFIG_DIR writable")).toBe(`✓ CONFIG_DIR writable (${dir} does not exist yet; the agent creates it in ${work})`)
      expect(existsSync(join(work, "not"))).toBe(false)
    })

    it("read-only: fails with the fix", async () => {
      const dir = mkdtempSync(join(work, "ro-"))
      // root writes through mode bits: make the directory immutable instead.
      const root = process.getuid?.() === 0
      if (root) execFileSync("chattr", ["+i", dir])
      else chmodSync(dir, 0o500)
      try {
        const run = await cli(["check"], { CONFIG_DIR: dir })
        expect(run.code).toBe(1)
        expect(line(run, "✗ CONFIG_DIR writable")).toMatch(
          new RegExp(`^✗ CONFIG_DIR writable: CONFIG_DIR="${dir}": the agent cannot write there \\((EACCES|EPERM|EROFS)\\)\\. Fix: mount a writable volume`)
        )
      } finally {
        if (root) execFileSync("chattr", ["-i", dir])
        else chmodSync(dir, 0o700)
      }
    })

    it("below a file: fails", async () => {
      const file = join(work, "a-file")
      writeFileSync(file, "")
      const run = await cli(["check"], { CONFIG_DIR: join(file, "config") })
      expect(run.code).toBe(1)
      expect(line(run, "✗ CONFIG_DIR writable")).toContain("ENOTDIR")
    })
  })

  it("invalid variables: each reported, exit 78, nothing else checked", async () => {
    const run = await cli(["check"], { NAMESPACE_MAP: JSON.stringify([{ namespace: "apps", domainname: "x.test", mdoe: "path" }]) })
    expect(run.code).toBe(78)
    expect(run.lines[0]).toBe(
      '✗ NAMESPACE_MAP[0]="mdoe" is invalid: expected one of the keys namespace, domainname, mode: "mdoe" is unknown, did you mean "mode"?'
    )
    expect(run.lines.some((l) => l.includes("servicediscovery"))).toBe(false)
  })
})

describe("main.ts exit codes", () => {
  it("config: 0 with the values, 78 with the same problems as run", async () => {
    const ok = await cli(["config"], { STATS_PASSWD: "pa55word" })
    expect(ok.code).toBe(0)
    expect(ok.lines.join("\n")).not.toContain("pa55word")
    expect(line(ok, "STATS_PASSWD=")).toMatch(/^STATS_PASSWD=<redacted> +\(set\)$/)
    const bad = await cli(["config", "--json"], { LISTEN_PORT: "0" })
    expect(bad.code).toBe(78)
    expect(bad.stderr).toContain('LISTEN_PORT="0" is invalid: expected an integer from 1 to 65535')
  })

  it("an unknown flag or command: exit 64 naming the closest", async () => {
    const flag = await cli(["config", "--jsn"])
    expect(flag.code).toBe(64)
    expect(flag.stderr).toContain('unknown flag "--jsn": did you mean "--json"?')
    const command = await cli(["chek"])
    expect(command.code).toBe(64)
    expect(command.stderr).toContain('unknown command "chek": did you mean "check"?')
  })
})
