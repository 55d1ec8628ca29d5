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
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Context, Effect, Layer } from "effect"
import { AgentConfigService } from "../config/service.ts"
import type { ReloadError } from "../haproxy/master-cli.ts"
import type { HaproxyStartFailed } from "../haproxy/process.ts"
import { adminSocketPath, makeRuntimeApi } from "../haproxy/runtime-api.ts"
import { HaproxySupervisor, type HaproxyNotRunning } from "../haproxy/supervisor.ts"
import { validateConfig, type ValidateError } from "../haproxy/validate.ts"
import type { Desired } from "../model/desired.ts"
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
   * Applies a change without a reload when it can (instances of existing backends). Succeeds
   * with false when the change needs a reload; fails when it could not be applied or verified
   * (the applier falls back to a reload).
   */
  readonly applyRuntime: (before: Desired, after: Desired, diff: DesiredDiff) => Effect.Effect<boolean, RuntimeUpdateError>
}>()("cloudmap-haproxy/apply/HaproxyControl") {
  static readonly layer = Layer.effect(
    HaproxyControl,
    Effect.gen(function*() {
      const config = yield* AgentConfigService
      const supervisor = yield* HaproxySupervisor
      const applyRuntime = makeRuntimeUpdater({ runtime: makeRuntimeApi(adminSocketPath(config.configDir)) })
      return HaproxyControl.of({
        validate: (cfgPath) => validateConfig(config.haproxyBin, cfgPath).pipe(Effect.asVoid, Effect.provide(NodeServices.layer)),
        isRunning: supervisor.isRunning,
        start: supervisor.start,
        reload: supervisor.reload.pipe(
          Effect.tap((r) =>
            Effect.logInfo("HAProxy reloaded", { durationMs: r.durationMs, worker: r.newWorkerPid, oldWorkers: r.oldWorkerPids.length })
          ),
          Effect.asVoid
        ),
        applyRuntime
      })
    })
  )
}
