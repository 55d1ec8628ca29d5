/**
 * A Host that is not exactly one host[:port] gets 400 (issue 19, point 2). HAProxy's req.hdr()
 * splits a header on commas and takes the last element, so `Host: web.example.test,
 * other.example.test` was routed to `other` while `other`'s application saw the whole header (an
 * ALB rule or WAF keyed on the Host is bypassed). Real agent, real HAProxy, raw HTTP bytes; the
 * backends count every request they get.
 */
import { connect } from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startMockCloudMap, type MockCloudMapHandle } from "../../../src/mock/server.ts"
import { type AgentProcess, eventually, startAgent, viaHaproxy } from "../../support/agent.ts"
import { type Backends, startBackends } from "../../support/backends.ts"

/** Sends `raw` on a fresh connection; resolves to everything HAProxy answered. */
const rawRequest = (port: number, raw: string): Promise<string> =>
  new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port }, () => socket.end(raw))
    let data = ""
    socket.setEncoding("utf8")
    socket.setTimeout(10_000, () => socket.destroy(new Error("timeout")))
    socket.on("data", (chunk: string) => (data += chunk))
    socket.on("end", () => resolve(data))
    socket.on("error", reject)
  })

const at = (port: number) => ({ AWS_INSTANCE_IPV4: "127.0.0.1", AWS_INSTANCE_PORT: String(port) })

let backends: Backends
let mock: MockCloudMapHandle
let agent: AgentProcess

beforeAll(async () => {
  backends = await startBackends([{ name: "web-1" }, { name: "other-1" }, { name: "docs-1" }])
  mock = await startMockCloudMap({
    fixture: {
      namespaces: [
        {
          name: "apps",
          services: [
            { name: "web", id: "srv-web", instances: [{ id: "web-1", attributes: at(backends.byName("web-1").port) }] },
            { name: "other", id: "srv-other", instances: [{ id: "other-1", attributes: at(backends.byName("other-1").port) }] }
          ]
        },
        { name: "int", services: [{ name: "docs", id: "srv-docs", instances: [{ id: "docs-1", attributes: at(backends.byName("docs-1").port) }] }] }
      ]
    }
  })
  agent = await startAgent({
    AWS_ENDPOINT_URL_SERVICEDISCOVERY: mock.url,
    NAMESPACE_MAP: JSON.stringify([
      { namespace: "apps", domainname: "example.test", mode: "host" },
      { namespace: "int", domainname: "int.test", mode: "path" }
    ])
  })
  await agent.ready(30_000)
  await eventually("routes", async () =>
    (await viaHaproxy(agent.listenPort, "other.example.test")).body.includes("other-1") &&
    (await viaHaproxy(agent.listenPort, "int.test", "/docs/")).body.includes("docs-1"), 30_000)
}, 90_000)

afterAll(async () => {
  await agent?.stop()
  await mock?.close()
  await backends?.close()
})

const request = (hostLines: ReadonlyArray<string>, path = "/") =>
  rawRequest(agent.listenPort, `GET ${path} HTTP/1.1\r\n${hostLines.map((h) => `Host: ${h}\r\n`).join("")}Connection: close\r\n\r\n`)

describe("Host headers that are not one host[:port]", () => {
  it.each([
    [["web.example.test, other.example.test"], "/"],
    [["web.example.test,other.example.test"], "/"],
    [["web.example.test", "other.example.test"], "/"],
    [["int.test, other.example.test"], "/docs/"],
    [["other.example.test, int.test"], "/docs/"],
    [["web.example.test other.example.test"], "/"],
    [["web.example.test:80:80"], "/"],
    [["other.example.test, web.example.test"], "/stats"]
  ])("%j %s: 400, no backend sees the request", async (hosts, path) => {
    const reply = await request(hosts, path)
    expect(reply.split("\r\n")[0]).toMatch(/^HTTP\/1\.1 400 /)
    expect(reply).not.toContain("\"server\"")
  })

  it("an absolute-form target naming another host than Host: 400 (HAProxy's own check, kept as a regression test)", async () => {
    const reply = await rawRequest(agent.listenPort, "GET http://web.example.test/ HTTP/1.1\r\nHost: other.example.test\r\nConnection: close\r\n\r\n")
    expect(reply.split("\r\n")[0]).toMatch(/^HTTP\/1\.1 400 /)
  })

  it("one host[:port] still routes, and the application sees the Host routing used", async () => {
    const reply = await request(["Other.Example.Test:8080"])
    expect(reply.split("\r\n")[0]).toMatch(/^HTTP\/1\.1 200 /)
    const body = JSON.parse(reply.slice(reply.indexOf("\r\n\r\n") + 4)) as { server: string; host: string }
    expect(body).toMatchObject({ server: "other-1", host: "Other.Example.Test:8080" })
    expect(await request(["int.test"], "/docs/x")).toContain("docs-1")
    // Two identical Host lines are one Host to HAProxy (it keeps one): routing and application agree.
    const twice = await request(["web.example.test", "web.example.test"])
    expect(JSON.parse(twice.slice(twice.indexOf("\r\n\r\n") + 4))).toMatchObject({ server: "web-1", host: "web.example.test" })
  })
})
