/**
 * The ports tests hand to the agent and HAProxy are never ones the kernel may give an outgoing
 * connection in the meantime (the cause of an agent that stopped on EADDRINUSE in CI).
 */
import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { freePort } from "./ports.ts"

describe("freePort", () => {
  it("hands out distinct ports below the kernel's ephemeral range", async () => {
    const [low] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/).map(Number)
    const ports = await Promise.all(Array.from({ length: 50 }, () => freePort()))
    expect(new Set(ports).size).toBe(50)
    for (const port of ports) expect(port).toBeLessThan(low!)
  })
})
