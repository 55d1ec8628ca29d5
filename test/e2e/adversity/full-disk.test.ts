/**
 * Adversity: CONFIG_DIR on a nearly full file system. A real 512 KiB tmpfs is mounted (skipped
 * when mounting is not permitted) and the real agent runs on it with a real HAProxy. A filler
 * file takes all the space but one page, so a write of a configuration larger than a page is
 * cut short (the kernel writes one page, then answers ENOSPC) rather than refused outright.
 *
 * 1. The disk is nearly full before a new service appears. Required: the write failure is
 *    logged as such (stage write, ENOSPC, the path), shown in /status and counted; the live
 *    haproxy.cfg and maps are byte-identical and still pass `haproxy -c`; HAProxy was not
 *    reloaded; existing routes serve and the new one does not; no half-written generation is
 *    left. Once the filler is gone the change is retried and applied within the rejected-retry
 *    interval (max(10 s, 2 x REFRESH_RATE) = 10 s here).
 * 2. The disk fills up between validation and install (an HAProxy wrapper fills it right after
 *    a successful `haproxy -c`, as another writer on the volume would). Required: what was
 *    validated is what HAProxy loads; installing needs no data blocks, so the change applies
 *    and the live configuration stays valid.
 */
import { execFileSync, spawnSync } from "node:child_process"
import { createHash } from "node:crypto"
import {
  closeSync,
  existsSync,
  ftruncateSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmdirSync,
  rmSync,
  statfsSync,
  statSync,
  writeFileSync,
  writeSync
} from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, expect, it } from "vitest"
import type { Fixture } from "../../../src/mock/fixture.ts"
import { type MockCloudMapHandle, startMockCloudMap } from "../../../src/mock/server.ts"
import { type AgentProcess, eventually, masterReloads, startAgent, viaHaproxy } from "../../support/agent.ts"
import { type Backends, startBackends } from "../../support/backends.ts"
import { createService, createServiceNeedingReload, namespaceId, register, sdkFor } from "../../support/cloudmap-sdk.ts"

const HAPROXY = process.env["HAPROXY_BIN"] ?? "haproxy"
const NAMESPACE_MAP = JSON.stringify([{ namespace: "apps", domainname: "example.test", mode: "host" }])
const LIVE = ["haproxy.cfg", "hosts.map", "paths.map"] as const
const PAGE = 4096

const mountPoint = mkdtempSync(join(tmpdir(), "cmh-fulldisk-"))
const work = mkdtempSync(join(tmpdir(), "cmh-fulldisk-work-"))
let mounted = false
let mountError = ""
let backends: Backends | undefined
let mock: MockCloudMapHandle | undefined
const agents: Array<AgentProcess> = []

/** Enough instances that haproxy.cfg spans more than one page (a one-page write cuts it short). */
const fixtureFor = (b: Backends): Fixture => ({
  namespaces: [{
    name: "apps",
    id: "ns-apps",
    services: [{
      name: "web",
      id: "srv-web",
      instances: Array.from({ length: 32 }, (_, i) => ({
        id: `web-${String(i + 1).padStart(2, "0")}`,
        attributes: { AWS_INSTANCE_IPV4: "127.0.0.1", AWS_INSTANCE_PORT: String(b.byName("web").port) }
      }))
    }]
  }]
})

beforeAll(async () => {
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=512k,mode=0700", "tmpfs", mountPoint], { stdio: "pipe" })
    mounted = true
  } catch (e) {
    mountError = `${(e as { stderr?: Buffer }).stderr?.toString().trim() || (e as Error).message}`
    return
  }
  backends = await startBackends([{ name: "web" }, { name: "shop" }])
  mock = await startMockCloudMap({ fixture: fixtureFor(backends) })
})

afterAll(async () => {
  for (const agent of agents) await agent.stop()
  await mock?.close()
  await backends?.close()
  if (mounted) {
    const done = spawnSync("umount", [mountPoint])
    if (done.status !== 0) spawnSync("umount", ["-l", mountPoint])
  }
  rmdirSync(mountPoint)
  rmSync(work, { recursive: true, force: true })
})

const sha256 = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex")
const liveHashes = (dir: string) => Object.fromEntries(LIVE.map((n) => [n, sha256(join(dir, n))]))
const freeBytes = (path: string) => {
  const s = statfsSync(path)
  return s.bavail * s.bsize
}

/** Fills the file system with `path` until ENOSPC, then gives back `slack` bytes. */
const fill = (path: string, slack: number): number => {
  const fd = openSync(path, "wx", 0o600)
  const chunk = Buffer.alloc(PAGE, 0x78)
  let size = 0
  try {
    for (;;) {
      const n = writeSync(fd, chunk)
      if (n === 0) break
      size += n
    }
  } catch (e) {
    if ((e as { code?: string }).code !== "ENOSPC") throw e
  }
  ftruncateSync(fd, Math.max(0, size - slack))
  closeSync(fd)
  return size - slack
}

it("a full CONFIG_DIR never corrupts the live configuration, and the change goes through once there is room", async (ctx) => {
  ctx.skip(!mounted, `cannot mount a tmpfs here (${mountError}): the full-disk test needs mount permission`)
  const configDir = join(mountPoint, "cfg")
  const a = await startAgent({ AWS_ENDPOINT_URL_SERVICEDISCOVERY: mock!.url, NAMESPACE_MAP, CONFIG_DIR: configDir })
  agents.push(a)
  await a.ready()
  await eventually("web served", async () => (await viaHaproxy(a.listenPort, "web.example.test")).status === 200)
  expect(statSync(join(configDir, "haproxy.cfg")).size).toBeGreaterThan(PAGE)

  const before = liveHashes(configDir)
  const reloadsBefore = await masterReloads(a)
  ctx.onTestFinished(() => rmSync(join(mountPoint, "filler"), { force: true }))
  const filled = fill(join(mountPoint, "filler"), PAGE)
  expect(freeBytes(mountPoint)).toBeLessThanOrEqual(PAGE)
  const mark = a.logs.length
  const sdk = sdkFor(mock!.url)
  const shop = await createService(sdk, await namespaceId(sdk, "apps"), "shop")
  await register(sdk, shop, "shop-1", backends!.byName("shop").port)

  // The agent's first attempt at the new configuration: an outcome is logged with its stage
  // (not applied) or its method (applied).
  const attempt = await eventually("the agent's attempt at the new configuration", async () =>
    a.logs.slice(mark).find((l) => /"stage":"|"method":"/.test(l)), 15_000)
  console.log(`[full-disk] first attempt: ${attempt}`)

  // Nothing that HAProxy reads changed, and it still validates.
  expect(liveHashes(configDir)).toEqual(before)
  const check = spawnSync(HAPROXY, ["-c", "-f", join(configDir, "haproxy.cfg")], { encoding: "utf8" })
  expect(check.status, `${check.stdout}${check.stderr}`).toBe(0)
  expect(await masterReloads(a)).toBe(reloadsBefore)
  expect((await viaHaproxy(a.listenPort, "web.example.test")).status).toBe(200)
  expect((await viaHaproxy(a.listenPort, "shop.example.test")).status).toBe(404)

  // Reported as what it is: a write that failed for lack of space (not an invalid configuration).
  expect(attempt).toMatch(/"level":"(error|warn)"/)
  expect(attempt).toContain('"stage":"write"')
  expect(attempt).toContain("ENOSPC")
  expect(attempt).toContain(join(configDir, "generations"))

  // No half-written generation is left behind: only what `current` points to.
  expect(readdirSync(join(configDir, "generations"))).toEqual([readlinkSync(join(configDir, "current")).split("/")[1]])

  // Shown and counted.
  expect((await a.get("/status")).body).toContain("ENOSPC")
  const metrics = (await a.get("/metrics")).body
  const failed = metrics.split("\n").filter((l) => l.startsWith("cloudmap_haproxy_reloads_total") && l.includes('outcome="failed"'))
    .reduce((n, l) => n + Number(l.trim().split(/\s+/).pop()), 0)
  expect(failed).toBeGreaterThanOrEqual(1)

  // Room again: the retry applies the change on its own.
  rmSync(join(mountPoint, "filler"))
  const freedAt = Date.now()
  await eventually("shop served after the retry", async () =>
    (await viaHaproxy(a.listenPort, "shop.example.test")).status === 200, 25_000)
  const retryMs = Date.now() - freedAt
  expect(retryMs).toBeLessThan(20_000)
  expect(liveHashes(configDir)).not.toEqual(before)
  expect((await viaHaproxy(a.listenPort, "web.example.test")).status).toBe(200)

  // Modes (password hashes inside): directories 0700, files 0600.
  const mode = (p: string) => statSync(p).mode & 0o777
  expect(mode(configDir)).toBe(0o700)
  const current = join(configDir, readlinkSync(join(configDir, "current")))
  expect(mode(current)).toBe(0o700)
  for (const name of LIVE) expect(mode(join(current, name))).toBe(0o600)
  console.log(`[full-disk] filler ${filled} bytes; change applied ${retryMs} ms after the space came back`)
  await a.stop()
})

it("the disk filling up between validation and install changes nothing that was validated", async (ctx) => {
  ctx.skip(!mounted, `cannot mount a tmpfs here (${mountError}): the full-disk test needs mount permission`)
  const configDir = join(mountPoint, "cfg2")
  const filler = join(mountPoint, "filler2")
  const arm = join(work, "fill-after-next-check")
  // `haproxy -c` as usual; when armed, a passing check is followed by filling the disk (all but
  // one page). Start and reload go to the real binary (the master re-executes argv[0]).
  ctx.onTestFinished(() => rmSync(filler, { force: true }))
  const wrapper = join(work, "haproxy-fill.sh")
  writeFileSync(wrapper, [
    "#!/bin/bash",
    `real=${JSON.stringify(HAPROXY)}`,
    'if [[ " $* " == *" -c "* ]]; then',
    '  "$real" "$@"; rc=$?',
    `  if [ $rc -eq 0 ] && [ -e ${JSON.stringify(arm)} ]; then`,
    `    rm -f ${JSON.stringify(arm)}`,
    `    dd if=/dev/zero of=${JSON.stringify(filler)} bs=${PAGE} 2>/dev/null`,
    `    truncate -s -${PAGE} ${JSON.stringify(filler)}`,
    "  fi",
    "  exit $rc",
    "fi",
    'exec -a "$0" "$real" "$@"',
    ""
  ].join("\n"), { mode: 0o700 })
  const a = await startAgent({ AWS_ENDPOINT_URL_SERVICEDISCOVERY: mock!.url, NAMESPACE_MAP, CONFIG_DIR: configDir, HAPROXY_BIN: wrapper })
  agents.push(a)
  await a.ready()
  await eventually("web served", async () => (await viaHaproxy(a.listenPort, "web.example.test")).status === 200)

  const mark = a.logs.length
  writeFileSync(arm, "")
  const sdk = sdkFor(mock!.url)
  // Options of its own: a reload on HAProxy 3.4 too (a new service with the defaults would go
  // through the runtime API there, and its files would follow later).
  const cart = await createServiceNeedingReload(sdk, await namespaceId(sdk, "apps"), "cart", 41)
  await register(sdk, cart, "cart-1", backends!.byName("shop").port)
  const attempt = await eventually("the agent's attempt at the new configuration", async () =>
    a.logs.slice(mark).find((l) => /"stage":"|"method":"/.test(l)), 15_000)
  console.log(`[full-disk] first attempt with the disk filled after validation: ${attempt}`)
  expect(existsSync(filler)).toBe(true)
  expect(freeBytes(mountPoint)).toBeLessThanOrEqual(PAGE)

  // What HAProxy loads from CONFIG_DIR is valid, and it is the new configuration.
  const check = spawnSync(HAPROXY, ["-c", "-f", join(configDir, "haproxy.cfg")], { encoding: "utf8" })
  expect(check.status, `${check.stdout}${check.stderr}`).toBe(0)
  expect(attempt).toContain('"method":"reload"')
  expect((await viaHaproxy(a.listenPort, "cart.example.test")).status).toBe(200)
  expect((await viaHaproxy(a.listenPort, "web.example.test")).status).toBe(200)
  expect(readFileSync(join(configDir, "hosts.map"), "utf8")).toContain("cart.example.test")
  await a.stop()
})

it("a full CONFIG_DIR does not hold a new instance: HAProxy serves it at once, its files follow when there is room", async (ctx) => {
  ctx.skip(!mounted, `cannot mount a tmpfs here (${mountError}): the full-disk test needs mount permission`)
  const configDir = join(mountPoint, "cfg3")
  const filler = join(mountPoint, "filler3")
  ctx.onTestFinished(() => rmSync(filler, { force: true }))
  const a = await startAgent({ AWS_ENDPOINT_URL_SERVICEDISCOVERY: mock!.url, NAMESPACE_MAP, CONFIG_DIR: configDir })
  agents.push(a)
  await a.ready()
  const before = liveHashes(configDir)
  const instancesBefore = JSON.parse((await a.get("/status")).body).counts.instances as number
  fill(filler, PAGE)
  // A rolling deploy during the full disk: web gets a new task (on the shop backend's port).
  await register(sdkFor(mock!.url), "srv-web", "web-new", backends!.byName("shop").port)
  const registeredAt = Date.now()
  // Round robin over 33 instances: the new one answers within 33 requests once HAProxy has it.
  await eventually("the new instance serves", async () => {
    for (let i = 0; i < 40; i++) {
      const r = await viaHaproxy(a.listenPort, "web.example.test")
      if (r.status === 200 && JSON.parse(r.body).server === "shop") return true
    }
    return undefined
  }, 20_000)
  console.log(`[full-disk] new instance served ${Date.now() - registeredAt} ms after its registration, disk full`)
  const status = JSON.parse((await a.get("/status")).body)
  expect(status.pending?.served).toBe(true)
  expect(status.pending?.error).toContain("ENOSPC")
  expect(status.counts.instances).toBe(instancesBefore + 1)
  expect(liveHashes(configDir)).toEqual(before)

  rmSync(filler)
  await eventually("files written once there is room", async () => {
    const s = JSON.parse((await a.get("/status")).body)
    return s.pending === null && readFileSync(join(configDir, "haproxy.cfg"), "utf8").includes("web-new") ? true : undefined
  }, 25_000)
  const check = spawnSync(HAPROXY, ["-c", "-f", join(configDir, "haproxy.cfg")], { encoding: "utf8" })
  expect(check.status, `${check.stdout}${check.stderr}`).toBe(0)
  await a.stop()
})
