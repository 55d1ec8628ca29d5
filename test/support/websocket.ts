/**
 * Minimal WebSocket (RFC 6455) for tests, no dependency: an echo server (node:http `upgrade`)
 * and a client over a raw TCP socket, so the request can carry any Host header (HAProxy routes
 * by it). Text frames only, payloads under 64 KiB; enough to hold a tunnel open through HAProxy.
 */
import { createHash, randomBytes } from "node:crypto"
import { createServer, type Server } from "node:http"
import { type AddressInfo, connect, type Socket } from "node:net"

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

const acceptFor = (key: string) => createHash("sha1").update(key + GUID).digest("base64")

/** One frame: FIN set, the given opcode, masked when `mask` (clients must mask, servers must not). */
const frame = (opcode: number, payload: Buffer, mask: boolean): Buffer => {
  if (payload.length >= 65_536) throw new Error("test frames are under 64 KiB")
  const head = payload.length < 126 ? Buffer.from([0x80 | opcode, (mask ? 0x80 : 0) | payload.length]) : Buffer.from([
    0x80 | opcode,
    (mask ? 0x80 : 0) | 126,
    payload.length >> 8,
    payload.length & 0xff
  ])
  if (!mask) return Buffer.concat([head, payload])
  const key = randomBytes(4)
  const masked = Buffer.from(payload.map((b, i) => b ^ key[i % 4]!))
  return Buffer.concat([head, key, masked])
}

interface Frame {
  readonly opcode: number
  readonly payload: Buffer
}

/** Takes every complete frame off the front of `buffer`; returns them and what is left. */
const parseFrames = (buffer: Buffer): { frames: Array<Frame>; rest: Buffer } => {
  const frames: Array<Frame> = []
  let at = 0
  for (;;) {
    if (buffer.length - at < 2) break
    const opcode = buffer[at]! & 0x0f
    const masked = (buffer[at + 1]! & 0x80) !== 0
    let length = buffer[at + 1]! & 0x7f
    let offset = at + 2
    if (length === 126) {
      if (buffer.length - offset < 2) break
      length = buffer.readUInt16BE(offset)
      offset += 2
    } else if (length === 127) {
      if (buffer.length - offset < 8) break
      length = Number(buffer.readBigUInt64BE(offset))
      offset += 8
    }
    const keyLength = masked ? 4 : 0
    if (buffer.length - offset < keyLength + length) break
    const key = buffer.subarray(offset, offset + keyLength)
    const data = Buffer.from(buffer.subarray(offset + keyLength, offset + keyLength + length))
    if (masked) for (let i = 0; i < data.length; i++) data[i] = data[i]! ^ key[i % 4]!
    frames.push({ opcode, payload: data })
    at = offset + keyLength + length
  }
  return { frames, rest: buffer.subarray(at) }
}

export interface WebSocketEcho {
  readonly port: number
  readonly close: () => Promise<void>
}

/** Echoes every text frame; plain HTTP requests get a 200 (for health checks). */
export const startWebSocketEcho = (): Promise<WebSocketEcho> =>
  new Promise((resolve, reject) => {
    const sockets = new Set<Socket>()
    const server: Server = createServer((_req, res) => res.end("websocket echo\n"))
    server.on("upgrade", (req, socket: Socket) => {
      const key = req.headers["sec-websocket-key"]
      if (typeof key !== "string" || (req.headers.upgrade ?? "").toLowerCase() !== "websocket") {
        socket.end("HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n")
        return
      }
      sockets.add(socket)
      socket.on("close", () => sockets.delete(socket))
      socket.on("error", () => socket.destroy())
      socket.write(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
          `Sec-WebSocket-Accept: ${acceptFor(key)}\r\n\r\n`
      )
      let pending: Buffer = Buffer.alloc(0)
      socket.on("data", (chunk: Buffer) => {
        const { frames, rest } = parseFrames(Buffer.concat([pending, chunk]))
        pending = rest
        for (const f of frames) {
          if (f.opcode === 0x1) socket.write(frame(0x1, f.payload, false))
          else if (f.opcode === 0x9) socket.write(frame(0xa, f.payload, false))
          else if (f.opcode === 0x8) socket.end(frame(0x8, f.payload, false))
        }
      })
    })
    server.on("error", reject)
    server.listen(0, "127.0.0.1", () =>
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy()
            server.closeAllConnections()
            server.close(() => done())
          })
      }))
  })

export interface WebSocketClient {
  /** Sends a text message; resolves to the echoed text, or undefined when the connection closed or nothing came back in `timeoutMs`. */
  readonly echo: (text: string, timeoutMs?: number) => Promise<string | undefined>
  /** When the connection was closed by the other side (ms since epoch), or undefined while open. */
  readonly closedAt: () => number | undefined
  readonly destroy: () => void
}

/** Opens a WebSocket to 127.0.0.1:`port` with the given Host header; rejects unless the answer is 101. */
export const openWebSocket = (port: number, host: string, path = "/", timeoutMs = 5000): Promise<WebSocketClient> =>
  new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port })
    const key = randomBytes(16).toString("base64")
    let buffer: Buffer = Buffer.alloc(0)
    let upgraded = false
    let closedAt: number | undefined
    const messages: Array<string> = []
    const waiters: Array<() => void> = []
    const wake = () => waiters.splice(0).forEach((w) => w())
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`no WebSocket handshake from ${host} within ${timeoutMs} ms`))
    }, timeoutMs)
    socket.on("connect", () =>
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`
      ))
    socket.on("data", (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk])
      if (!upgraded) {
        const end = buffer.indexOf("\r\n\r\n")
        if (end < 0) return
        const head = buffer.subarray(0, end).toString("latin1")
        buffer = buffer.subarray(end + 4)
        clearTimeout(timer)
        if (!/^HTTP\/1\.1 101 /.test(head) || !head.includes(acceptFor(key))) {
          socket.destroy()
          reject(new Error(`WebSocket handshake refused: ${head.split("\r\n")[0]}`))
          return
        }
        upgraded = true
        resolve({
          echo: (text, wait = 3000) => {
            if (closedAt !== undefined || socket.destroyed) return Promise.resolve(undefined)
            socket.write(frame(0x1, Buffer.from(text), true))
            return new Promise((done) => {
              const t = setTimeout(() => done(messages.shift()), wait)
              const check = () => {
                if (messages.length > 0 || closedAt !== undefined) {
                  clearTimeout(t)
                  done(messages.shift())
                } else waiters.push(check)
              }
              check()
            })
          },
          closedAt: () => closedAt,
          destroy: () => socket.destroy()
        })
      }
      const { frames, rest } = parseFrames(buffer)
      buffer = rest
      for (const f of frames) if (f.opcode === 0x1) messages.push(f.payload.toString())
      if (frames.length > 0) wake()
    })
    const onGone = () => {
      closedAt ??= Date.now()
      clearTimeout(timer)
      if (!upgraded) reject(new Error(`connection to ${host} closed before the WebSocket handshake`))
      wake()
    }
    socket.on("end", onGone)
    socket.on("close", onGone)
    socket.on("error", onGone)
  })
