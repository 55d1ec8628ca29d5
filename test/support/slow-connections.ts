/**
 * A slow-connection attacker, run as a process of its own (`bun test/support/slow-connections.ts
 * <port> <count> <seconds> [dripMs]`) so the process measuring the victim is not busy with its
 * sockets: opens `count` connections to 127.0.0.1:<port>, sends part of a request head, then one
 * more byte on each every `dripMs` (2,000). Prints `ready <open>` once every connection was tried (or after
 * 5 s), and exits by itself
 * after `seconds` (bounded), closing everything.
 */
import { connect, type Socket } from "node:net"
import process from "node:process"

const [port, count, seconds, dripMs = 2000] = process.argv.slice(2).map(Number) as [number, number, number, number?]
const head = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: "
const sockets: Array<Socket> = []
let settled = 0
let open = 0
let told = false
const ready = () => {
  if (told) return
  told = true
  process.stdout.write(`ready ${open}\n`)
}
const settle = () => {
  settled += 1
  if (settled === count) ready()
}
// A victim that accepts no more leaves connections pending in its backlog: go on after 5 s.
setTimeout(ready, 5000)
for (let i = 0; i < count; i++) {
  const s = connect({ host: "127.0.0.1", port }, () => {
    open += 1
    s.write(head.slice(0, 10))
    settle()
  })
  s.once("error", () => (s.connecting ? settle() : undefined))
  sockets.push(s)
}
const timer = setInterval(() => {
  for (const s of sockets) if (!s.destroyed && !s.connecting) s.write("a")
}, dripMs)
setTimeout(() => {
  clearInterval(timer)
  for (const s of sockets) s.destroy()
  process.exit(0)
}, seconds * 1000)
