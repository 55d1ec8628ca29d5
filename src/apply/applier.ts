/**
 * Desired → running HAProxy, safely. The rendered files are compared byte for byte with what is
 * applied: equal means nothing happens. Otherwise the candidate is staged as a new generation
 * (generations.ts: written in full, fsynced, read back), `haproxy -c` checks exactly those bytes,
 * and only then is it installed (one symlink rename) and HAProxy started, updated through the
 * runtime API, or reloaded through the master CLI with the reload verified (`show proc`).
 * A candidate that cannot be written never touches what is installed (stage "write"); one that
 * fails validation never reaches HAProxy; a reload that fails flips `current` back to the
 * previous generation (no data written, so a full disk cannot stop it) and reloads that.
 *
 * Failures are told apart by `_tag` (haproxy-control.ts `isConfigFault`): a candidate HAProxy
 * refused is moved into `rejected/` and reported with `fault: "config"`; an infrastructure
 * failure (no validator, a timeout, a socket problem) is discarded and reported with
 * `fault: "infrastructure"`. Both are retried by the apply loop; neither changes what runs.
 * Reload pacing (RELOAD_MIN_INTERVAL) belongs to the apply loop, not here.
 */
import { createHash } from "node:crypto"
import { Clock, Context, Effect, Layer } from "effect"
import { toRenderSettings } from "../config/render-settings.ts"
import { AgentConfigService } from "../config/service.ts"
import type { Desired } from "../model/desired.ts"
import type { RenderSettings } from "../render/settings.ts"
import { render, type RenderedFiles } from "../render/render.ts"
import { type LoadedConfig, planRuntimeBackends, profilesOf } from "./backend-plan.ts"
import { describeDiff, diffDesired, needsReload, reasonLabel } from "./diff.ts"
import { instanceChanges } from "./instance-changes.ts"
import type { FileSet, FileWriteFailed, WriteFn } from "./files.ts"
import { makeGenerationStore, type Staged } from "./generations.ts"
import { type ControlError, HaproxyControl, isConfigFault } from "./haproxy-control.ts"

export interface Applied {
  /** What HAProxy runs. */
  readonly desired: Desired
  /** What is installed in CONFIG_DIR: `desired`'s files, unless `unsaved`. */
  readonly files: RenderedFiles
  readonly hash: string
  readonly generation: number
  /**
   * HAProxy runs `desired` (applied through the runtime API) but its files could not be written
   * (a full disk, say): `files`, `hash` and `generation` are still the previous ones. Applying
   * the same state again writes them.
   */
  readonly unsaved?: { readonly error: string; readonly errorTag: string; readonly code?: string | undefined } | undefined
  /** What the running HAProxy loaded at its last start or reload (runtime changes keep it). */
  readonly loaded?: LoadedConfig | undefined
}

export type ApplyOutcome =
  | { readonly _tag: "Unchanged" }
  | {
    readonly _tag: "Applied"
    readonly applied: Applied
    readonly method: "start" | "reload" | "runtime" | "dry-run"
    readonly reason: string
    /** Instance by instance, with the cause (./instance-changes.ts). */
    readonly changes?: ReadonlyArray<string>
    readonly label: string
    readonly durationMs: number
  }
  | {
    readonly _tag: "Rejected"
    /** runtime: a runtime-only apply (no reload allowed) the runtime API could not make. */
    readonly stage: "validate" | "write" | "start" | "reload" | "runtime"
    /** config: HAProxy refused the candidate (kept in rejected/); infrastructure: it could not be asked. */
    readonly fault: "config" | "infrastructure"
    /** The failure's `_tag` (CandidateInvalid, ValidatorFailed, ReloadFailed, FileWriteFailed, ...). */
    readonly errorTag: string
    readonly reason: string
    readonly changes?: ReadonlyArray<string>
    readonly label: string
    readonly error: string
    readonly durationMs: number
    /** Stage "write": the errno code (ENOSPC, EROFS, EACCES, ...) or SHORT_WRITE / READBACK_MISMATCH. */
    readonly code?: string
  }

const hashFiles = (files: FileSet): string => {
  const h = createHash("sha256")
  for (const name of Object.keys(files).sort()) h.update(name).update("\0").update(files[name]!).update("\0")
  return h.digest("hex").slice(0, 16)
}

export interface ApplierOptions {
  readonly settings: RenderSettings
  readonly dryRun: boolean
  readonly control: HaproxyControl["Service"]
  /** The write function candidates are written with (tests inject short or wrong writes). */
  readonly write?: WriteFn | undefined
}

/**
 * Whether applying `desired` over `previous` takes a reload (or the first start): new and removed
 * services do only where HAProxy adds no backends at runtime or lacks their option profile. Pure.
 */
export const takesReload = (previous: Applied | undefined, desired: Desired): boolean => {
  if (previous === undefined) return true
  const diff = diffDesired(previous.desired, desired)
  return needsReload(diff) && planRuntimeBackends(previous.desired, desired, diff, previous.loaded)._tag === "Reload"
}

export interface ApplyOptions {
  /**
   * False: only the runtime API may apply it (the apply loop's instance changes while a reload
   * is paced); when it cannot, the outcome is Rejected at stage "runtime" and nothing is reloaded.
   */
  readonly reload?: boolean
}

export const makeApplier = (options: ApplierOptions) => {
  const { settings, control } = options
  const store = makeGenerationStore({ configDir: settings.configDir, write: options.write })

  const keepRejected = (staged: Staged, reason: string) =>
    Effect.gen(function*() {
      const kept = yield* store.reject(staged, yield* Clock.currentTimeMillis)
      if (kept !== undefined) yield* Effect.logWarning("candidate configuration kept for inspection", { path: kept, reason })
    })

  const apply = (previous: Applied | undefined, desired: Desired, applyOptions: ApplyOptions = {}): Effect.Effect<ApplyOutcome> =>
    Effect.gen(function*() {
      const started = yield* Clock.currentTimeMillis
      const elapsed = Effect.map(Clock.currentTimeMillis, (now) => now - started)
      const files = render(desired, settings)
      const hash = hashFiles(files)
      if (previous !== undefined && previous.hash === hash && previous.unsaved === undefined) return { _tag: "Unchanged" } as const
      const diff = diffDesired(previous?.desired, desired)
      const reason = previous === undefined ? "first configuration" : describeDiff(diff)
      const label = previous === undefined ? "start" : reasonLabel(diff)
      const changes = previous === undefined ? [] : instanceChanges(diff, previous.desired, desired)
      const applied: Applied = { desired, files, hash, generation: (previous?.generation ?? 0) + 1, loaded: previous?.loaded }
      // A candidate HAProxy refused is kept for inspection; one it could not be asked about is dropped.
      const refused = (stage: "validate" | "start" | "reload", staged: Staged, e: ControlError) =>
        Effect.gen(function*() {
          const fault = isConfigFault(e) ? "config" as const : "infrastructure" as const
          if (fault === "config") yield* keepRejected(staged, e.message)
          else yield* store.discard(staged)
          const durationMs = yield* elapsed
          return { _tag: "Rejected", stage, fault, errorTag: e._tag, reason, changes, label, error: e.message, durationMs } satisfies ApplyOutcome
        })
      const writeFailed = (e: FileWriteFailed) =>
        Effect.map(elapsed, (durationMs): ApplyOutcome => ({
          _tag: "Rejected",
          stage: "write",
          fault: "infrastructure",
          errorTag: e._tag,
          reason,
          changes,
          label,
          error: `${e.message}. Nothing was installed: HAProxy keeps serving the current configuration.`,
          code: e.code,
          durationMs
        }))
      // Why a change the runtime API could have made took a reload after all (its failure).
      let fellBack: string | undefined
      // A reload or start loads the option profiles this generation renders.
      const done = (method: "start" | "reload" | "runtime" | "dry-run") =>
        Effect.gen(function*() {
          const durationMs = yield* elapsed
          if (method !== "start" && method !== "reload") {
            return { _tag: "Applied", applied, method, reason, changes, label, durationMs } satisfies ApplyOutcome
          }
          const loaded = { runtimeBackends: yield* control.runtimeBackends, profiles: profilesOf(desired) }
          // Where services could change at runtime, say why this one took a reload (/status).
          const plan = previous === undefined || !previous.loaded?.runtimeBackends
            ? undefined
            : planRuntimeBackends(previous.desired, desired, diff, previous.loaded)
          const why = fellBack !== undefined
            ? `; reload: the runtime update failed (${fellBack})`
            : plan?._tag === "Reload" && needsReload(diff)
            ? `; reload: ${plan.why}`
            : ""
          return { _tag: "Applied", applied: { ...applied, loaded }, method, reason: reason + why, changes, label, durationMs } satisfies ApplyOutcome
        })
      /** HAProxy runs `desired` (runtime API); its files are still `previous`'s: written on a later apply. */
      const servedUnsaved = (before: Applied, e: FileWriteFailed) =>
        Effect.gen(function*() {
          yield* Effect.logError("instance changes applied through the runtime API, but their files could not be written; retried", {
            error: e.message,
            code: e.code
          })
          const durationMs = yield* elapsed
          const unsaved = { error: `${e.message}. HAProxy serves the change (runtime API); the files in CONFIG_DIR do not have it yet.`, errorTag: e._tag, code: e.code }
          return {
            _tag: "Applied",
            applied: { ...before, desired, unsaved },
            method: "runtime",
            reason,
            changes,
            label,
            durationMs
          } satisfies ApplyOutcome
        })
      const runtimeRefused = (error: string) =>
        Effect.map(elapsed, (durationMs): ApplyOutcome => ({
          _tag: "Rejected",
          stage: "runtime",
          fault: "infrastructure",
          errorTag: "RuntimeUpdateRefused",
          reason,
          changes,
          label,
          error,
          durationMs
        }))

      if (options.dryRun) return yield* done("dry-run")
      const reloadAllowed = applyOptions.reload ?? true
      const running = yield* control.isRunning
      const runtimeOnly = running && previous !== undefined && !needsReload(diff)
      // On HAProxy 3.4 new and removed services need no reload either (backend-plan.ts); their
      // files are written first all the same (only instance changes go ahead of a full disk).
      const noReload = runtimeOnly || (running && !takesReload(previous, desired))
      if (!reloadAllowed && !noReload) return yield* runtimeRefused("the change needs a reload")

      // Write the candidate as a new generation and validate those very bytes.
      const staging = yield* Effect.result(store.stage(files))
      if (staging._tag === "Failure") {
        // Instance changes do not wait for the disk: the runtime API applies them, the files follow.
        if (runtimeOnly && previous !== undefined) {
          const runtime = yield* Effect.result(control.applyRuntime(previous.desired, desired, diff, previous.loaded))
          if (runtime._tag === "Success" && runtime.success) return yield* servedUnsaved(previous, staging.failure)
        }
        return yield* writeFailed(staging.failure)
      }
      const staged = staging.success
      const valid = yield* Effect.result(control.validate(staged.cfgPath))
      if (valid._tag === "Failure") return yield* refused("validate", staged, valid.failure)

      if (running && previous !== undefined) {
        const runtime = yield* Effect.result(control.applyRuntime(previous.desired, desired, diff, previous.loaded))
        if (runtime._tag === "Success" && runtime.success) {
          const persisted = yield* Effect.result(store.install(staged))
          if (persisted._tag === "Success") {
            yield* store.prune
            return yield* done("runtime")
          }
          // HAProxy runs the change, the files do not have it: written by a later apply.
          yield* store.discard(staged)
          return yield* servedUnsaved(previous, persisted.failure)
        }
        const why = runtime._tag === "Failure" ? runtime.failure.message : "the change needs a reload"
        if (!reloadAllowed) {
          yield* store.discard(staged)
          return yield* runtimeRefused(why)
        }
        if (runtime._tag === "Failure") {
          fellBack = runtime.failure.message
          yield* Effect.logWarning("runtime update could not be verified; reloading instead", {
            error: runtime.failure.message,
            errorTag: runtime.failure._tag
          })
        }
      }

      const installed = yield* Effect.result(store.install(staged))
      if (installed._tag === "Failure") {
        yield* store.discard(staged)
        return yield* writeFailed(installed.failure)
      }
      const before = installed.success
      // Back to the generation that was current (a symlink rename: works on a full disk).
      const rollBack = Effect.gen(function*() {
        const restored = yield* Effect.result(store.restore(before))
        if (restored._tag === "Failure") yield* Effect.logError("could not restore the last good configuration", { error: restored.failure.message })
      })
      if (!running) {
        const start = yield* Effect.result(control.start)
        if (start._tag === "Failure") {
          yield* rollBack
          return yield* refused("start", staged, start.failure)
        }
        yield* store.prune
        return yield* done("start")
      }
      const reloaded = yield* Effect.result(control.reload)
      if (reloaded._tag === "Failure") {
        // The old worker keeps serving the old configuration; point `current` back at it so the
        // next reload (ours or anyone's) loads the last-known-good configuration.
        yield* rollBack
        const outcome = yield* refused("reload", staged, reloaded.failure)
        if (before !== undefined) {
          const verify = yield* Effect.result(control.reload)
          if (verify._tag === "Failure") yield* Effect.logError("reload of the last good configuration failed", { error: verify.failure.message })
        }
        return outcome
      }
      yield* store.prune
      return yield* done("reload")
    })

  /**
   * Writes the files of `desired` again as a new generation and installs it, HAProxy untouched
   * (before a restart: what is on disk may be gone). What HAProxy served was valid, so is this.
   */
  const rewrite = (desired: Desired): Effect.Effect<void, FileWriteFailed> =>
    Effect.gen(function*() {
      const staged = yield* store.stage(render(desired, settings))
      const installed = yield* Effect.result(store.install(staged))
      if (installed._tag === "Failure") {
        yield* store.discard(staged)
        return yield* Effect.fail(installed.failure)
      }
      yield* store.prune
    })

  return { apply, rewrite, store }
}

/** The applier as a service, over the live HaproxyControl and the agent's settings. */
export class Applier extends Context.Service<Applier, ReturnType<typeof makeApplier>>()("cloudmap-haproxy/apply/Applier") {
  static readonly layer = Layer.effect(
    Applier,
    Effect.gen(function*() {
      const config = yield* AgentConfigService
      const control = yield* HaproxyControl
      // Passwords are hashed once here (with a random salt): the rendered files stay stable.
      return makeApplier({ settings: toRenderSettings(config), dryRun: config.applyMode === "off", control })
    })
  )
}
