/**
 * A fake HaproxyControl (the applier's seam to HAProxy) that records what it was asked and what
 * haproxy.cfg held at that moment, and fails on demand with the real typed errors.
 */
import { planRuntimeBackends } from "../../src/apply/backend-plan.ts"
import { needsReload } from "../../src/apply/diff.ts"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { Effect } from "effect"
import type { ControlError, HaproxyControl } from "../../src/apply/haproxy-control.ts"
import type { RuntimeUpdateError } from "../../src/apply/runtime-update.ts"
import { ReloadFailed, ReloadTimeout } from "../../src/haproxy/master-cli.ts"
import { HaproxyStartFailed } from "../../src/haproxy/process.ts"
import { CandidateInvalid, ValidatorFailed } from "../../src/haproxy/validate.ts"

export interface FakeControl {
  readonly control: HaproxyControl["Service"]
  readonly calls: Array<string>
  /** What haproxy.cfg said when each validate/start/reload ran (the bytes HAProxy would load). */
  readonly seen: Array<string>
  /** Failures to answer with, taken one per call in order. */
  readonly fail: { validate: Array<ControlError>; start: Array<ControlError>; reload: Array<ControlError>; runtime: Array<RuntimeUpdateError> }
  /** Runs after each validation (between staging a candidate and installing it). */
  afterValidate: (() => void) | undefined
  runtime: boolean
  /** HAProxy 3.4+: new and removed services go through the runtime API when their profiles are loaded. */
  backends: boolean
  running: boolean
}

/** HAProxy refused the candidate (`haproxy -c` exit 1). */
export const candidateInvalid = (output = "[ALERT] injected: bad config") =>
  new CandidateInvalid({ cfgPath: "haproxy.cfg", exitCode: 1, output })
/** `haproxy -c` could not be run at all (an infrastructure fault). */
export const validatorMissing = () => new ValidatorFailed({ haproxyBin: "haproxy", cfgPath: "haproxy.cfg", detail: "ENOENT" })
/** The new worker failed to load the configuration. */
export const reloadFailed = (alert = "[ALERT] injected: Loading failure") =>
  new ReloadFailed({
    reason: "failed-count",
    masterReloads: 2,
    failedCount: 1,
    previousWorkerPid: 1,
    currentWorkerPids: [1],
    durationMs: 1,
    answer: "",
    logLines: [alert]
  })
/** No verdict from the master CLI (an infrastructure fault). */
export const reloadTimeout = () => new ReloadTimeout({ timeoutMs: 30_000, masterReloadsBefore: 1, lastShowProc: "", lastError: "" })
export const startExited = () =>
  new HaproxyStartFailed({ bin: "haproxy", cfgPath: "haproxy.cfg", reason: "exited", detail: "exit code 1", lastLines: ["[ALERT] cannot bind socket"] })

export const fakeControl = (configDir: string): FakeControl => {
  const fake: FakeControl = {
    calls: [],
    seen: [],
    fail: { validate: [], start: [], reload: [], runtime: [] },
    afterValidate: undefined,
    runtime: false,
    backends: false,
    running: false,
    control: {
      validate: (cfg) =>
        Effect.suspend(() => {
          fake.calls.push(`validate ${cfg}`)
          fake.seen.push(readFileSync(cfg, "utf8"))
          fake.afterValidate?.()
          const failure = fake.fail.validate.shift()
          return failure === undefined ? Effect.void : Effect.fail(failure as CandidateInvalid)
        }),
      isRunning: Effect.sync(() => fake.running),
      start: Effect.suspend(() => {
        fake.calls.push("start")
        fake.seen.push(readFileSync(join(configDir, "haproxy.cfg"), "utf8"))
        const failure = fake.fail.start.shift()
        if (failure !== undefined) return Effect.fail(failure as HaproxyStartFailed)
        fake.running = true
        return Effect.void
      }),
      reload: Effect.suspend(() => {
        fake.calls.push("reload")
        fake.seen.push(readFileSync(join(configDir, "haproxy.cfg"), "utf8"))
        const failure = fake.fail.reload.shift()
        return failure === undefined ? Effect.void : Effect.fail(failure as ReloadFailed)
      }),
      runtimeBackends: Effect.sync(() => fake.backends),
      // Like the real runtime updater: a change it cannot make answers false (the applier reloads):
      // new and removed services before 3.4, or with an option profile HAProxy has not loaded.
      applyRuntime: (before, after, diff, loaded) =>
        Effect.suspend(() => {
          fake.calls.push("runtime")
          const services = needsReload(diff)
          if (services && (!fake.backends || planRuntimeBackends(before, after, diff, loaded)._tag === "Reload")) return Effect.succeed(false)
          const failure = fake.fail.runtime.shift()
          return failure === undefined ? Effect.succeed(fake.runtime || services) : Effect.fail(failure)
        })
    }
  }
  return fake
}
