import { createServer, type Server } from "node:http"
import { type AddressInfo, connect, type Socket } from "node:net"
import { afterEach, describe, expect, it } from "vitest"
import { guardConnections, healthConnectionCap } from "../../src/http/connection-guard.ts"

describe("healthConnectionCap", () => {
  it("a quarter of the file limit, between 16 and 256 (1,024 when unknown)", () => {
    expect(healthConnectionCap(1024)).toBe(256)
    expect(healthConnectionCap(65_536)).toBe(256)
    expect(healthConnectionCap(400)).toBe(100)
    expect(healthConnectionCap(32)).toBe(16)
    expect(healthConnectionCap(undefined)).toBe(256)
  })
})

let server: Server | undefined
const sockets: Array<Socket> = []
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy()
  const s = server
  server = undefined
  if (s === undefined) return
  s.closeAllConnections()
  await new Promise((r) => s.close(r))
})

const closed = (s: Socket) => new Promise<void>((r) => (s.destroyed ? r() : s.once("close", () => r())))

describe("guardConnections", () => {
  it("beyond the cap evicts the oldest connection without a request in progress; a request being answered stays", async () => {
    let release: () => void = () => undefined
    server = createServer((req, res) => {
      guard.busy(req, res)
      if (req.url === "/slow") release = () => res.end("slow\n")
      else res.end("ok\n")
    })
    const guard = guardConnections(server, 3)
    await new Promise<void>((r) => server!.listen(0, "127.0.0.1", () => r()))
    const port = (server.address() as AddressInfo).port
    const open = async (first: string) => {
      const s = connect({ host: "127.0.0.1", port })
      s.on("error", () => undefined)
      sockets.push(s)
      await new Promise<void>((r) => s.once("connect", () => r()))
      s.write(first)
      await new Promise((r) => setTimeout(r, 50))
      return s
    }
    const busy = await open("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
    const slow1 = await open("GET / HTTP/1.1\r\nHo")
    const slow2 = await open("GET / HTTP/1.1\r\nHo")
    expect(guard.evicted()).toBe(0)
    const fresh = await open("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    await closed(slow1)
    expect(guard.evicted()).toBe(1)
    expect(busy.destroyed).toBe(false)
    expect(slow2.destroyed).toBe(false)
    expect(fresh.destroyed).toBe(false)
    let answer = ""
    busy.on("data", (c: Buffer) => (answer += c.toString()))
    release()
    await new Promise((r) => setTimeout(r, 50))
    expect(answer).toContain("slow")
  })
})
