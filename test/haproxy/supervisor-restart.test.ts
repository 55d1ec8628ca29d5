/**
 * HAPROXY_RESTART=true against the real HAProxy: the supervisor restarts HAProxy 1 s after it
 * died. An apply in that second sees HAProxy not running and starts it too (the applier's start);
 * launches are serialised and a launch finds HAProxy already running, so one master runs, not two.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { execFileSync } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Layer, Result } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import { readAgentConfig } from "../../src/config/agent-config.ts"
import { AgentConfigService } from "../../src/config/service.ts"
import { HaproxySupervisor } from "../../src/haproxy/supervisor.ts"
import { StatusStore } from "../../src/status/status-store.ts"
import { freePort } from "../support/ports.ts"

const dirs: Array<string> = []
afterAll(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

/** HAProxy masters started for `configDir`: processes on its master socket whose parent is not one of them. */
const masters = (configDir: string): Array<number> => {
  const lines = execFileSync("ps", ["-eo", "pid=,ppid=,args="], { encoding: "utf8" }).split("\n")
  const procs = lines.filter((l) => l.includes(`${configDir}/master.sock`)).map((l) => l.trim().split(/\s+/).slice(0, 2).map(Number) as [number, number])
  const pids = new Set(procs.map(([pid]) => pid))
  return procs.filter(([, ppid]) => !pids.has(ppid)).map(([pid]) => pid)
}

const killAll = (configDir: string) => {
  for (const l of execFileSync("ps", ["-eo", "pid=,args="], { encoding: "utf8" }).split("\n")) {
    if (!l.includes(`${configDir}/master.sock`)) continue
    try {
      process.kill(Number(l.trim().split(/\s+/)[0]), "SIGKILL")
    } catch {
      // gone
    }
  }
}

describe("HAProxy supervisor, HAPROXY_RESTART=true", () => {
  it("an apply during the restart delay does not launch a second master", async () => {
    const configDir = mkdtempSync(join(tmpdir(), "cmh-restart-"))
    dirs.push(configDir)
    const port = await freePort()
    writeFileSync(join(configDir, "haproxy.cfg"), [
      "global",
      "defaults",
      "  mode http",
      "  timeout connect 1s",
      "  timeout client 5s",
      "  timeout server 5s",
      "frontend f",
      `  bind 127.0.0.1:${port}`,
      "  http-request return status 200",
      ""
    ].join("\n"))
    const config = Result.getOrThrow(readAgentConfig({
      NAMESPACE_MAP: JSON.stringify([{ namespace: "apps", domainname: "example.test" }]),
      AWS_REGION: "us-east-1",
      CONFIG_DIR: configDir,
      HAPROXY_RESTART: "true",
      HAPROXY_WATCHDOG: "0",
      STATS_ENABLED: "false",
      METRICS_ENABLED: "false",
      DRAIN_SECONDS: "0"
    }))
    const layer = HaproxySupervisor.layer.pipe(
      Layer.provideMerge(Layer.mergeAll(AgentConfigService.layerOf(config), StatusStore.layer, NodeServices.layer))
    )
    try {
      const found = await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
        const supervisor = yield* HaproxySupervisor
        yield* supervisor.start
        const [first] = masters(configDir)
        expect(first).toBeDefined()
        process.kill(first!, "SIGKILL")
        // Seen as dead (the worker goes with its master), then an apply starts it in the delay.
        while (yield* supervisor.isRunning) yield* Effect.sleep(20)
        yield* supervisor.start
        // The supervisor's own restart is due 1 s after the death: wait past it.
        yield* Effect.sleep(3000)
        return masters(configDir)
      })).pipe(Effect.provide(layer)))
      expect(found.length, `masters: ${found.join(", ")}`).toBe(1)
    } finally {
      killAll(configDir)
    }
  }, 30_000)
})
