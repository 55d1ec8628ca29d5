/**
 * What the applier needs from HAProxy, with the real error union: the seam between applying
 * (pure decisions, files) and the HAProxy process. The live layer is the supervisor, `haproxy -c`
 * and the runtime API; tests provide a fake.
 *
 * Errors are classified by `_tag` (`isConfigFault`): HAProxy refusing the configuration
 * (`CandidateInvalid`, `ReloadFailed`, a start that exited) is the candidate's fault, archived
 * in rejected/ and counted as invalid; everything else (no validator, a timeout, a socket
 * problem, a spawn failure) is the infrastructure's, and only retried.
 */
import { Context, Effect, Layer } from "effect"
import { ChildProcessSpawner } from "effect/process"
import { AgentConfigService } from "../config/service.ts"
import type { ReloadError } from "../haproxy/master-cli.ts"
import type { HaproxyStartFailed } from "../haproxy/process.ts"
import { checkHaproxyBinary } from "../haproxy/preflight.ts"
import { adminSocketPath, makeRuntimeApi } from "../haproxy/runtime-api.ts"
import { makeRuntimeBackendApi, supportsRuntimeBackends } from "../haproxy/runtime-backend-api.ts"
import { makeRuntimeTransport } from "../haproxy/runtime-transport.ts"
import { HaproxySupervisor, type HaproxyNotRunning } from "../haproxy/supervisor.ts"
import { validateConfig, type ValidateError } from "../haproxy/validate.ts"
import type { Desired } from "../model/desired.ts"
import type { LoadedConfig } from "./backend-plan.ts"
import type { DesiredDiff } from "./diff.ts"
import { makeRuntimeUpdater, type RuntimeUpdateError } from "./runtime-update.ts"

export type ReloadProblem = ReloadError | HaproxyNotRunning

export type ControlError = ValidateError | HaproxyStartFailed | ReloadProblem | RuntimeUpdateError

/** True when HAProxy refused the configuration itself (rather than failing to be asked). */
export const isConfigFault = (e: ControlError): boolean => {
  switch (e._tag) {
    case "CandidateInvalid":
      return true
    case "ReloadFailed":
      return e.reason !== "busy"
    case "HaproxyStartFailed":
      return e.reason === "exited"
    default:
      return false
  }
}

export class HaproxyControl extends Context.Service<HaproxyControl, {
  readonly validate: (cfgPath: string) => Effect.Effect<void, ValidateError>
  readonly isRunning: Effect.Effect<boolean>
  /** Starts HAProxy on the files in place (the first apply). */
  readonly start: Effect.Effect<void, HaproxyStartFailed>
  /** Reloads and verifies. */
  readonly reload: Effect.Effect<void, ReloadProblem>
  /**
   * Whether HAPROXY_BIN adds and deletes backends at runtime (3.4 or later; detected once from
   * `haproxy -v`, never configured): new and removed services then need no reload.
   */
  readonly runtimeBackends: Effect.Effect<boolean>
  /**
   * Applies a change without a reload when it can (instances of existing backends; on HAProxy
   * 3.4 also new and removed backends and routes, given what `loaded` has loaded). Succeeds
   * with false when the change needs a reload; fails when it could not be applied or verified
   * (the applier falls back to a reload).
   */
  readonly applyRuntime: (
    before: Desired,
    after: Desired,
    diff: DesiredDiff,
    loaded?: LoadedConfig
  ) => Effect.Effect<boolean, RuntimeUpdateError>
}>()("cloudmap-haproxy/apply/HaproxyControl") {
  static readonly layer = Layer.effect(
    HaproxyControl,
    Effect.gen(function*() {
      const config = yield* AgentConfigService
      const supervisor = yield* HaproxySupervisor
      // `haproxy -c` runs with the agent's process spawner (built once, with the agent).
      const spawner = yield* ChildProcessSpawner.ChildProcessSpawner
      // One transport: the servers' and the backends' commands share one connection bound.
      const socket = adminSocketPath(config.configDir)
      const transport = makeRuntimeTransport(socket)
      const applyRuntime = makeRuntimeUpdater({
        runtime: makeRuntimeApi(socket, undefined, transport),
        backends: makeRuntimeBackendApi(transport)
      })
      const runtimeBackends = yield* Effect.cached(
        checkHaproxyBinary(config.haproxyBin).pipe(
          Effect.map(supportsRuntimeBackends),
          Effect.tap((yes) =>
            Effect.logInfo(
              yes
                ? "HAProxy adds backends at runtime: new and removed services are applied without a reload"
                : "HAProxy before 3.4: new and removed services are applied with a reload"
            )
          ),
          Effect.orElseSucceed(() => false)
        )
      )
      return HaproxyControl.of({
        validate: (cfgPath) =>
          validateConfig(config.haproxyBin, cfgPath).pipe(Effect.asVoid, Effect.provideService(ChildProcessSpawner.ChildProcessSpawner, spawner)),
        isRunning: supervisor.isRunning,
        start: supervisor.start,
        reload: supervisor.reload.pipe(
          Effect.tap((r) =>
            Effect.logInfo("HAProxy reloaded", { durationMs: r.durationMs, worker: r.newWorkerPid, oldWorkers: r.oldWorkerPids.length })
          ),
          Effect.asVoid
        ),
        runtimeBackends,
        applyRuntime
      })
    })
  )
}
