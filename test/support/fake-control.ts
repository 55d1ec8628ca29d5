/**
 * A fake HaproxyControl (the applier's seam to HAProxy) that records what it was asked and what
 * haproxy.cfg held at that moment, and fails on demand with the real typed errors.
 */
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
      // HAProxy before 3.4: new and removed services take a reload.
      runtimeBackends: Effect.succeed(false),
      // Like the real runtime updater: a change that needs a reload is refused (false).
      applyRuntime: (_before, _after, diff) =>
        Effect.suspend(() => {
          fake.calls.push("runtime")
          const failure = needsReload(diff) ? undefined : fake.fail.runtime.shift()
          return failure === undefined ? Effect.succeed(fake.runtime && !needsReload(diff)) : Effect.fail(failure)
        })
    }
  }
  return fake
}
