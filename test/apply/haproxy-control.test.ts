/** The live HaproxyControl: what it takes from the agent's context. */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Result } from "effect"
import { ChildProcessSpawner } from "effect/process"
import { HaproxyControl } from "../../src/apply/haproxy-control.ts"
import { readAgentConfig } from "../../src/config/agent-config.ts"
import { AgentConfigService } from "../../src/config/service.ts"
import { HaproxySupervisor } from "../../src/haproxy/supervisor.ts"

const config = Result.getOrThrow(readAgentConfig({
  AWS_REGION: "eu-west-1",
  NAMESPACE_MAP: JSON.stringify([{ namespace: "apps", domainname: "example.com", mode: "host" }]),
  STATS_PASSWD: "s3cret-stats",
  PROM_PASSWD: "s3cret-prom",
  HAPROXY_BIN: "/opt/haproxy/bin/haproxy"
}))

const notUsed = Effect.die("not used by this test")
const supervisor = HaproxySupervisor.of({
  isRunning: Effect.succeed(false),
  start: notUsed,
  reload: notUsed,
  showProc: notUsed,
  rewriteBeforeRestart: () => Effect.void,
  died: Effect.never
})

describe("HaproxyControl", () => {
  it.effect("validates with the process spawner of the agent's context (built once), not one of its own per call", () =>
    Effect.gen(function*() {
      const spawned: Array<ReadonlyArray<string>> = []
      const spawner = ChildProcessSpawner.make((command) => {
        if (command._tag === "StandardCommand") spawned.push([command.command, ...command.args.map(String)])
        return Effect.die("spawning is not part of this test")
      })
      const control = yield* HaproxyControl.pipe(
        Effect.provide(HaproxyControl.layer.pipe(
          Layer.provide(Layer.succeed(AgentConfigService, config)),
          Layer.provide(Layer.succeed(HaproxySupervisor, supervisor)),
          Layer.provide(Layer.succeed(ChildProcessSpawner.ChildProcessSpawner, spawner))
        ))
      )
      yield* Effect.exit(control.validate("/run/candidate/haproxy.cfg"))
      yield* Effect.exit(control.validate("/run/candidate/haproxy.cfg"))
      assert.deepStrictEqual(spawned, [
        ["/opt/haproxy/bin/haproxy", "-c", "-f", "/run/candidate/haproxy.cfg"],
        ["/opt/haproxy/bin/haproxy", "-c", "-f", "/run/candidate/haproxy.cfg"]
      ])
    }))
})
