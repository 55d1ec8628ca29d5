/**
 * The status page in a real headless Chromium (test/support/browser.ts):
 *
 * - against the real agent, HAProxy and the mock Cloud Map: routes, instances with HAProxy's live
 *   state (UP), a quarantined record and ignored options whose Cloud Map text is hostile HTML,
 *   shown as text and never run (no global set by it, no dialog, no element made from it);
 *   screenshots to test-output/status-page.png (and docs/status-page.png when it is missing or
 *   UPDATE_SCREENSHOTS=1);
 * - against the agent's request handler in this process with a made-up Status: control, bidi
 *   and zero-width characters are shown as `\uXXXX`, never raw, every live state has a badge, and
 *   the change feed is shown off, active (with its last round) or unavailable (why, and when retried).
 */
import { copyFileSync, existsSync, mkdirSync } from "node:fs"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { join } from "node:path"
import { Context, Redacted } from "effect"
import type { Page } from "puppeteer-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { LiveState } from "../../src/http/live-servers.ts"
import { agentHttpHandler } from "../../src/http/server.ts"
import { type MockCloudMapHandle, startMockCloudMap } from "../../src/mock/server.ts"
import { type ChangeFeedState, initialStatus, type Status } from "../../src/status/status.ts"
import { type AgentProcess, APPS_HOST_MAP, eventually, ROOT, startAgent } from "../support/agent.ts"
import { type Backends, startBackends } from "../support/backends.ts"
import { type Chromium, startChromium } from "../support/browser.ts"
import { sdkFor } from "../support/cloudmap-sdk.ts"
import { backend, desired } from "../support/desired.ts"
import { OPTIONS_ENV, registerWith, statusOf } from "../support/options.ts"

const OUTPUT = join(ROOT, "test-output")
const DOCS_SHOT = join(ROOT, "docs/status-page.png")

/** Each sets a global or opens a dialog if it ever runs. */
const SCRIPT_TAG = "<script>window.__pwned=1;alert(1)</script>"
const IMG_TAG = "\"><img src=x onerror=\"window.__pwned=2;alert(2)\">"
const SVG_TAG = "<svg/onload=window.__pwned=3>"

/** What must hold on any rendering of hostile data. */
const assertInert = async (page: Page, seen: { dialogs: Array<string>; errors: Array<string>; console: Array<string> }) => {
  const probe = await page.evaluate(() => ({
    pwned: (window as unknown as { __pwned?: unknown }).__pwned ?? null,
    scripts: document.querySelectorAll("script").length,
    made: document.querySelectorAll("img, svg, iframe, object, embed, a, form, input").length
  }))
  expect(probe).toEqual({ pwned: null, scripts: 1, made: 0 })
  expect(seen.dialogs).toEqual([])
  expect(seen.errors).toEqual([])
  expect(seen.console.filter((m) => /Content.Security.Policy|Trusted Type|Refused to/i.test(m))).toEqual([])
}

const textOf = (page: Page) => page.evaluate(() => document.body.innerText)

const waitRendered = (page: Page) =>
  page.waitForFunction(() => Number(document.body.dataset.refreshes ?? "0") >= 1 && document.getElementById("problem")?.textContent === "", {
    timeout: 20_000
  })

/** The live-state badge of the instance row whose Instance cell reads `instance`. */
const liveBadge = (page: Page, instance: string) =>
  page.evaluate((id) => {
    const row = [...document.querySelectorAll("#routes tr")].find((tr) => [...(tr as HTMLTableRowElement).cells].some((td) => td.textContent === id))
    return row === undefined ? null : row.querySelectorAll(".badge")[0]?.textContent ?? null
  }, instance)

let chromium: Chromium

beforeAll(async () => {
  chromium = await startChromium()
})

afterAll(async () => {
  await chromium?.close()
})

describe("status page: the real agent", () => {
  let backends: Backends
  let mock: MockCloudMapHandle
  let agent: AgentProcess
  // An instance whose HTTP health check HAProxy sees fail with a 500.
  let sick: Server

  beforeAll(async () => {
    backends = await startBackends([{ name: "web-1" }, { name: "web-2" }, { name: "api-1" }])
    sick = createServer((_req, res) => {
      res.statusCode = 500
      res.end("sick")
    })
    await new Promise<void>((r) => sick.listen(0, "127.0.0.1", r))
    const sickPort = (sick.address() as AddressInfo).port
    const at = (name: string) => ({ AWS_INSTANCE_IPV4: "127.0.0.1", AWS_INSTANCE_PORT: String(backends.byName(name).port) })
    mock = await startMockCloudMap({
      fixture: {
        namespaces: [{
          name: "apps",
          id: "ns-apps",
          services: [
            {
              name: "web",
              id: "srv-web",
              attributes: {
                "haproxy.check": "http",
                "haproxy.check.path": IMG_TAG,
                "haproxy.timeout.server": `${SCRIPT_TAG}\u202e`,
                [`haproxy.${SVG_TAG}`]: "1"
              },
              instances: [
                { id: "web-1", attributes: at("web-1") },
                { id: "web-2", attributes: at("web-2") },
                { id: "web-sick", attributes: { AWS_INSTANCE_IPV4: "127.0.0.1", AWS_INSTANCE_PORT: String(sickPort) } }
              ]
            },
            {
              name: "api",
              id: "srv-api",
              instances: [
                { id: "api-1", attributes: at("api-1") },
                { id: "api-evil", attributes: { AWS_INSTANCE_IPV4: "127.0.0.1", AWS_INSTANCE_PORT: SCRIPT_TAG } }
              ]
            }
          ]
        }]
      }
    })
    agent = await startAgent({
      AWS_ENDPOINT_URL_SERVICEDISCOVERY: mock.url,
      NAMESPACE_MAP: APPS_HOST_MAP,
      ...OPTIONS_ENV
    })
    await eventually("ready with the hostile records reported", async () => {
      if ((await agent.get("/readyz")).status !== 200) return false
      const s = await statusOf(agent)
      return s.quarantined.length === 1 && s.ignoredOptions.length >= 3 && s.routes.length === 2 && s.polling !== null
    }, 40_000)
  })

  afterAll(async () => {
    await agent?.stop()
    await mock?.close()
    await backends?.close()
    sick?.closeAllConnections()
    await new Promise((r) => sick?.close(r))
  })

  it("/status/servers has HAProxy's live state of every server", async () => {
    const live = await eventually("web-1 UP in HAProxy", async () => {
      const l = JSON.parse((await agent.get("/status/servers")).body) as LiveState
      const web = l.backends.find((b) => b.backend === "be_web.example.test")
      return web?.servers.some((s) => s.state === "UP") ? l : undefined
    })
    expect(live.available).toBe(true)
    expect(live.backends.map((b) => b.backend).sort()).toEqual(expect.arrayContaining(["be_api.example.test", "be_web.example.test"]))
  })

  it("shows routes, live states, the quarantined record and ignored options, with hostile text as text", async () => {
    const seen = await chromium.open()
    const { page } = seen
    const response = await page.goto(`http://127.0.0.1:${agent.healthPort}/`, { waitUntil: "load" })
    expect(response?.headers()["content-security-policy"]).toMatch(/script-src 'sha256-/)
    await waitRendered(page)
    await page.waitForFunction(
      () => [...document.querySelectorAll("#routes .badge")].filter((b) => b.textContent === "UP").length >= 3,
      { timeout: 20_000 }
    )
    expect(await liveBadge(page, "web-1")).toBe("UP")
    expect(await liveBadge(page, "api-1")).toBe("UP")

    const text = await textOf(page)
    for (const shown of ["web.example.test", "api.example.test", "be_web.example.test", "web-2", "api-evil", "haproxy.check.path"]) {
      expect(text, shown).toContain(shown)
    }
    // The hostile text is on the page as text: the quarantine reason quotes the port, the ignored
    // options quote their values and the unknown key.
    expect(text).toContain(SCRIPT_TAG)
    expect(text).toContain("<img src=x onerror=")
    expect(text).toContain(SVG_TAG)
    expect(text).not.toContain("\u202e")
    expect(text).toMatch(/Calls per minute\s+\d+/)
    expect(text).toMatch(/Change feed\s+active/)
    expect(text).toMatch(/start\s+applied/)
    await assertInert(page, seen)

    // For a settled screenshot: first health checks done and the worker count known (not asserted).
    await page.waitForFunction(() => !/\bINI\b|\b0 worker/.test(document.body.innerText), { timeout: 8000 }).catch(() => undefined)
    mkdirSync(OUTPUT, { recursive: true })
    await page.screenshot({ path: join(OUTPUT, "status-page.png"), fullPage: true })
    if (process.env.UPDATE_SCREENSHOTS === "1" || !existsSync(DOCS_SHOT)) copyFileSync(join(OUTPUT, "status-page.png"), DOCS_SHOT)
    await page.close()
  })

  it("puts problems first: an instance failing its HTTP check is DOWN with HAProxy's L7STS/500, in the summary line and at the top", async () => {
    const seen = await chromium.open()
    const { page } = seen
    await page.goto(`http://127.0.0.1:${agent.healthPort}/`, { waitUntil: "load" })
    await waitRendered(page)
    await page.waitForFunction(() => document.getElementById("attention")?.textContent?.includes("web-sick"), { timeout: 30_000 })
    const attention = await page.evaluate(() => document.getElementById("attention")!.innerText)
    expect(attention).toMatch(/Instance web-sick of web\.example\.test \(127\.0\.0\.1:\d+\) is DOWN: check L7STS\/500/)
    // The quarantined record and the ignored options are listed too.
    expect(attention).toContain("1 Cloud Map record left out of routing")
    expect(attention).toMatch(/\d+ routing options ignored/)
    const summary = await page.evaluate(() => document.getElementById("summary")!.innerText)
    expect(summary).toMatch(/^\d+ problems\s+1 instance DOWN · 1 quarantined record · \d+ ignored options/)
    expect(await liveBadge(page, "web-sick")).toBe("DOWN")
    const checkCell = await page.evaluate(() => {
      const row = [...document.querySelectorAll("#routes tr")].find((tr) => tr.textContent?.includes("web-sick"))
      return row === undefined ? null : (row as HTMLTableRowElement).cells[(row as HTMLTableRowElement).cells.length - 1]!.textContent
    })
    expect(checkCell).toBe("L7STS/500")
    // First on the page: before the routes.
    expect(await page.evaluate(() => document.querySelector("main section")?.id)).toBe("attention-section")
    await assertInert(page, seen)
    await page.close()
  })

  it("refreshes in place: a new instance appears without reloading the page", async () => {
    const { page } = await chromium.open()
    await page.goto(`http://127.0.0.1:${agent.healthPort}/`, { waitUntil: "load" })
    await waitRendered(page)
    await page.evaluate(() => {
      ;(window as unknown as { __marker: number }).__marker = 1
    })
    await registerWith(sdkFor(mock.url), "srv-api", "api-2", backends.byName("api-1").port)
    await page.waitForFunction(() => document.body.innerText.includes("api-2"), { timeout: 30_000 })
    expect(await page.evaluate(() => (window as unknown as { __marker?: number }).__marker)).toBe(1)
    // Recent changes name the instance and the cause.
    await page.waitForFunction(() => document.getElementById("changes")?.textContent?.includes("api.example.test: + api-2 127.0.0.1:"), { timeout: 10_000 })
    expect(await page.evaluate(() => document.getElementById("changes")!.textContent)).toMatch(
      /api\.example\.test: \+ api-2 127\.0\.0\.1:\d+: new in Cloud Map's answer \(registered, or healthy again\)/
    )
    await page.close()
  })
})

describe("status page: made-up status with control characters", () => {
  let server: Server
  let url = ""

  const CONTROLS = ["rlo\u202egnp.exe", "zero\u200bwidth", "nul\u0000bell\u0007", "line\u2028sep", "bom\ufeff"]
  const RETRY_AT = Date.parse("2031-02-03T04:05:06.000Z")
  const UNAVAILABLE: ChangeFeedState = {
    state: "unavailable",
    problem: "denied",
    detail: `not allowed ${SCRIPT_TAG} ${CONTROLS[0]}`,
    since: RETRY_AT - 300_000,
    retryAt: RETRY_AT
  }
  let feed: ChangeFeedState = UNAVAILABLE

  const status = (): Status => {
    const now = Date.now()
    const api = backend("api", [9090, 9091])
    const applied = {
      ...desired(backend("web", [8080, 8081, 8082, 8083]), {
        ...api,
        servers: api.servers.map((sv, i) => ({ ...sv, zone: i === 0 ? "us-east-1a" : "us-east-1b", backup: i === 1 }))
      }, backend("idle", [])),
      quarantined: CONTROLS.map((c, i) => ({ namespace: "apps", service: "api", instanceId: `bad-${i}`, reason: `${c} ${SCRIPT_TAG}` })),
      ignoredOptions: [{ namespace: "apps", service: "web", key: `haproxy.${IMG_TAG}`, reason: `unknown key ${CONTROLS[0]}` }]
    }
    return {
      ...initialStatus("test", now - 60_000),
      heartbeatAt: now,
      firstAppliedAt: now - 50_000,
      initialSyncAt: now - 50_000,
      lastRefresh: { at: now - 1000, kind: "fast", ok: false, error: `throttled ${SVG_TAG}`, durationMs: 12 },
      lastSuccessAt: now - 30_000,
      applied,
      namespaces: [{ namespace: "apps", domain: "example.com", mode: "host", found: false, read: true, error: `gone ${CONTROLS[1]}` }],
      recentChanges: [
        { at: now - 5000, method: "reload", reason: "new service web", ok: false, error: IMG_TAG, durationMs: 30 },
        {
          at: now - 2000,
          method: "runtime",
          reason: "instances of be_web.example.com (+1 -1 ~0)",
          changes: [
            "web.example.com: + i-web-3 10.0.0.1:8083 (us-east-1a): new in Cloud Map's answer (registered, or healthy again)",
            `web.example.com: - i-web-9 10.0.0.1:8089: gone from Cloud Map's answer ${SCRIPT_TAG}`
          ],
          ok: true,
          durationMs: 4
        }
      ],
      haproxy: { running: true, pid: 4242, workers: 1 },
      polling: { services: 1, checkIntervalSeconds: 1, refreshIntervalSeconds: 30, callsPerMinute: 42, problems: [CONTROLS[3]!] },
      changeFeed: feed
    }
  }

  const live = (): LiveState => ({
    at: new Date().toISOString(),
    available: true,
    error: null,
    backends: [{
      backend: "be_web.example.com",
      status: "UP",
      sessions: 3,
      servers: (["UP", "DOWN", "MAINT", "DRAIN"] as const).map((state, i) => ({
        server: `i-web-${i}`,
        address: `10.0.0.1:${8080 + i}`,
        state,
        status: state,
        weight: state === "UP" ? 1 : 0,
        sessions: state === "UP" ? 3 : 0,
        backup: false,
        check: state === "DOWN" ? "L7STS/500" : "L4OK",
        lastChangeSeconds: 10
      }))
    }, {
      // The agent's zone's instance is down: only the other zone's backup serves.
      backend: "be_api.example.com",
      status: "UP",
      sessions: 1,
      servers: [
        { server: "i-api-0", address: "10.0.0.1:9090", state: "DOWN", status: "DOWN", weight: 1, sessions: 0, backup: false, check: "L4CON", lastChangeSeconds: 7 },
        { server: "i-api-1", address: "10.0.0.1:9091", state: "UP", status: "UP", weight: 1, sessions: 1, backup: true, check: "L4OK", lastChangeSeconds: 99 }
      ]
    }]
  })

  beforeAll(async () => {
    const handler = agentHttpHandler(
      {
        address: "127.0.0.1",
        port: 0,
        status,
        rules: { maxHeartbeatAgeMs: 120_000, maxStalenessMs: undefined, dryRun: false },
        stats: { user: "u", password: Redacted.make("p") },
        liveServers: () => Promise.resolve(live())
      },
      () => Date.now(),
      Context.empty()
    )
    server = createServer(handler)
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r))
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
  })

  afterAll(async () => {
    server?.closeAllConnections()
    await new Promise((r) => server?.close(r))
  })

  it("shows invisible characters as \\uXXXX, every live state as a badge, and runs nothing", async () => {
    const seen = await chromium.open()
    const { page } = seen
    await page.goto(url, { waitUntil: "load" })
    await waitRendered(page)
    const text = await page.evaluate(() => document.body.textContent ?? "")
    expect(text).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f\u200b\u202e\u2028\ufeff]/)
    for (const escaped of ["rlo\\u202egnp.exe", "zero\\u200bwidth", "nul\\u0000bell\\u0007", "line\\u2028sep", "bom\\ufeff"]) {
      expect(text).toContain(escaped)
    }
    expect(text).toContain(SCRIPT_TAG)
    expect(text).toContain(IMG_TAG)
    expect(text).toContain(`throttled ${SVG_TAG}`)
    for (const [instance, state] of [["i-web-0", "UP"], ["i-web-1", "DOWN"], ["i-web-2", "MAINT"], ["i-web-3", "DRAIN"]]) {
      expect(await liveBadge(page, instance!), instance).toBe(state)
    }
    expect(await page.evaluate(() => document.body.innerText)).toMatch(/Calls per minute\s+42/)
    expect(text).toContain(`unavailable — denied: not allowed ${SCRIPT_TAG} rlo\\u202egnp.exe, retry at 2031-02-03 04:05:06Z; revision polling meanwhile`)
    await assertInert(page, seen)
    await page.close()
  })

  it("puts what is not right first: DOWN instances with their check, routes on backups or on nothing, quarantine, ignored options, the change feed; instance and cause in recent changes", async () => {
    const seen = await chromium.open()
    const { page } = seen
    await page.goto(url, { waitUntil: "load" })
    await waitRendered(page)
    const attention = await page.evaluate(() => document.getElementById("attention")!.textContent!)
    for (const shown of [
      "Instance i-web-1 of web.example.com (10.0.0.1:8081) is DOWN: check L7STS/500, for 10 s",
      "Instance i-api-0 of api.example.com (10.0.0.1:9090) is DOWN: check L4CON, for 7 s",
      "Route api.example.com is served only by backups (other zones' instances): none of its own is up",
      "Route idle.example.com has no instance: it answers 503",
      "The change feed is unavailable (denied): revision polling meanwhile",
      "5 Cloud Map records left out of routing (see Quarantined records)",
      "1 routing option ignored (see Ignored options)"
    ]) expect(attention, shown).toContain(shown)
    const summary = await page.evaluate(() => document.getElementById("summary")!.innerText)
    expect(summary).toContain("2 instances DOWN · 1 route served by nothing · 1 route only on backups")
    expect(await page.evaluate(() => document.querySelector("#summary .badge")?.className)).toBe("badge down")
    const changes = await page.evaluate(() => document.getElementById("changes")!.textContent!)
    expect(changes).toContain("web.example.com: + i-web-3 10.0.0.1:8083 (us-east-1a): new in Cloud Map's answer (registered, or healthy again)")
    expect(changes).toContain(`gone from Cloud Map's answer ${SCRIPT_TAG}`)
    await assertInert(page, seen)
    await page.close()
  })

  it("shows the change feed off, and active with its last round", async () => {
    const seen = await chromium.open()
    const { page } = seen
    const feedText = async () => {
      await page.goto(url, { waitUntil: "load" })
      await waitRendered(page)
      return page.evaluate(() => document.body.innerText)
    }
    try {
      feed = { state: "off" }
      expect(await feedText()).toMatch(/Change feed\s+off \(revision polling\)/)
      feed = { state: "active" }
      expect(await feedText()).toMatch(/Change feed\s+active\n/)
      feed = { state: "active", lastRound: { at: Date.now() - 2000, pages: 1, operations: 3, new: 1, services: 1, checkedAll: false } }
      expect(await feedText()).toMatch(/Change feed\s+active — last round \d+ s ago: 1 page, 3 operations, 1 new, 1 service read\n/)
      feed = { state: "active", lastRound: { at: Date.now(), pages: 2, operations: 40, new: 25, services: 0, checkedAll: true } }
      expect(await feedText()).toContain("2 pages, 40 operations, 25 new, 0 services read, every revision checked")
      await assertInert(page, seen)
    } finally {
      feed = UNAVAILABLE
      await page.close()
    }
  })
})
