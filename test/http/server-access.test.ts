/**
 * The agent's request handler (src/http/server.ts) applies the access rule by the connection's
 * peer address: a request from another host (a fake socket address: test servers bind loopback
 * only) needs the stats credentials for /, /status and /status/servers, while /healthz, /readyz
 * and /metrics stay open; X-Forwarded-For never makes a request local.
 */
import { Buffer } from "node:buffer"
import type { IncomingMessage, ServerResponse } from "node:http"
import { Context, Redacted } from "effect"
import { describe, expect, it } from "vitest"
import type { Credentials } from "../../src/config/agent-config.ts"
import { agentHttpHandler } from "../../src/http/server.ts"
import { initialStatus } from "../../src/status/status.ts"

const STATS: Credentials = { user: "stats_user", password: Redacted.make("pw") }
const GOOD = `Basic ${Buffer.from("stats_user:pw").toString("base64")}`

interface Answer {
  readonly status: number
  readonly headers: Record<string, string>
  readonly body: string
}

const ask = (stats: Credentials | undefined, remoteAddress: string, path: string, headers: Record<string, string> = {}) =>
  new Promise<Answer>((resolve) => {
    const handler = agentHttpHandler(
      {
        address: "127.0.0.1",
        port: 0,
        status: () => initialStatus("test", 0),
        rules: { maxHeartbeatAgeMs: 120_000, maxStalenessMs: undefined, dryRun: false },
        stats,
        liveServers: () => Promise.resolve({ at: "1970-01-01T00:00:00.000Z", available: false, error: "test", backends: [] })
      },
      () => 1000,
      Context.empty()
    )
    let status = 0
    let written: Record<string, string> = {}
    const req = { method: "GET", url: path, headers, socket: { remoteAddress } } as unknown as IncomingMessage
    const res = {
      writeHead: (code: number, h: Record<string, string>) => {
        status = code
        written = h
      },
      end: (body?: string) => resolve({ status, headers: written, body: body ?? "" })
    } as unknown as ServerResponse
    handler(req, res)
  })

const GUARDED = ["/", "/status", "/status/servers"]

describe("agent endpoints: access by peer address", () => {
  it.each(GUARDED)("%s answers loopback without credentials", async (path) => {
    for (const peer of ["127.0.0.1", "::1", "::ffff:127.0.0.1"]) expect((await ask(STATS, peer, path)).status).toBe(200)
  })

  it.each(GUARDED)("%s needs the stats credentials from another host", async (path) => {
    const none = await ask(STATS, "10.1.2.3", path)
    expect(none.status).toBe(401)
    expect(none.headers["www-authenticate"]).toMatch(/^Basic realm=/)
    expect(none.body).not.toContain("routes")
    expect((await ask(STATS, "10.1.2.3", path, { authorization: `Basic ${Buffer.from("stats_user:nope").toString("base64")}` })).status).toBe(401)
    expect((await ask(STATS, "10.1.2.3", path, { "x-forwarded-for": "127.0.0.1" })).status).toBe(401)
    expect((await ask(STATS, "10.1.2.3", path, { authorization: GOOD })).status).toBe(200)
  })

  it.each(GUARDED)("%s is 403 from another host when stats are disabled, saying how to enable them", async (path) => {
    const answer = await ask(undefined, "2001:db8::1", path, { authorization: GOOD })
    expect(answer.status).toBe(403)
    expect(answer.body).toContain("STATS_ENABLED=true")
    expect((await ask(undefined, "127.0.0.1", path)).status).toBe(200)
  })

  it.each(["/healthz", "/readyz", "/metrics"])("%s stays open to every host", async (path) => {
    const answer = await ask(STATS, "10.1.2.3", path)
    expect([200, 503]).toContain(answer.status)
    expect(answer.headers["www-authenticate"]).toBeUndefined()
  })

  it("serves the page with its CSP, and the live state as JSON", async () => {
    const page = await ask(STATS, "127.0.0.1", "/")
    expect(page.headers["content-security-policy"]).toMatch(/script-src 'sha256-/)
    expect(page.body).toMatch(/^<!doctype html>/)
    const live = await ask(STATS, "127.0.0.1", "/status/servers")
    expect(JSON.parse(live.body)).toMatchObject({ available: false, error: "test" })
    const status = JSON.parse((await ask(STATS, "127.0.0.1", "/status?x=1")).body)
    expect(status.recentChanges).toEqual([])
  })
})
