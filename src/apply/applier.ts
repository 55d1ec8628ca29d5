/**
 * Desired → running HAProxy, safely. The rendered files are compared byte for byte with what is
 * applied: equal means nothing happens. Otherwise the candidate is staged as a new generation
 * (generations.ts: written in full, fsynced, read back), `haproxy -c` checks exactly those bytes,
 * and only then is it installed (one symlink rename) and HAProxy started, updated through the
 * runtime API, or reloaded through the master CLI with the reload verified (`show proc`).
 * A candidate that cannot be written never touches what is installed (stage "write"); one that
 * fails validation never reaches HAProxy; a reload that fails flips `current` back to the
 * previous generation (no data written, so a full disk cannot stop it) and reloads that.
 * Refused candidates are moved into `rejected/` for inspection.
 */
import { createHash } from "node:crypto"
import { Clock, Effect } from "effect"
import type { Desired } from "../model/desired.ts"
import type { RenderSettings } from "../model/render-settings.ts"
import { render, type RenderedFiles } from "../render/render.ts"
import { describeDiff, diffDesired, type DesiredDiff, reasonLabel } from "./diff.ts"
import type { FileSet, FileWriteFailed, WriteFn } from "./files.ts"
import { makeGenerationStore, type Staged } from "./generations.ts"

export interface Applied {
  readonly desired: Desired
  readonly files: RenderedFiles
  readonly hash: string
  readonly generation: number
}

/** What the applier needs from HAProxy; implemented over src/haproxy by the run command. */
export interface HaproxyControl {
  readonly validate: (cfgPath: string) => Effect.Effect<void, string>
  readonly isRunning: Effect.Effect<boolean>
  /** Starts HAProxy on the files in place (the first apply). */
  readonly start: Effect.Effect<void, string>
  /** Reloads and verifies; fails with the reason when HAProxy did not take the new config. */
  readonly reload: Effect.Effect<void, string>
  /**
   * Applies a change without a reload when it can (instances of existing backends, routes).
   * Succeeds with false when the change needs a reload; fails when a runtime update could not
   * be verified (the caller falls back to a reload).
   */
  readonly applyRuntime: (before: Desired, after: Desired, diff: DesiredDiff) => Effect.Effect<boolean, string>
}

export type ApplyOutcome =
  | { readonly _tag: "Unchanged" }
  | {
    readonly _tag: "Applied"
    readonly applied: Applied
    readonly method: "start" | "reload" | "runtime" | "dry-run"
    readonly reason: string
    readonly label: string
    readonly durationMs: number
  }
  | {
    readonly _tag: "Rejected"
    readonly stage: "validate" | "write" | "start" | "reload"
    readonly reason: string
    readonly label: string
    readonly error: string
    readonly durationMs: number
    /** Stage "write": the errno code (ENOSPC, EROFS, EACCES, ...) or SHORT_WRITE / READBACK_MISMATCH. */
    readonly code?: string
  }

export const hashFiles = (files: FileSet): string => {
  const h = createHash("sha256")
  for (const name of Object.keys(files).sort()) h.update(name).update("\0").update(files[name]!).update("\0")
  return h.digest("hex").slice(0, 16)
}

export interface ApplierOptions {
  readonly settings: RenderSettings
  readonly dryRun: boolean
  readonly control: HaproxyControl
  /** Minimum time between two reloads (coalescing). */
  readonly reloadMinIntervalMs: number
  /** The write function candidates are written with (tests inject short or wrong writes). */
  readonly write?: WriteFn | undefined
}

export const makeApplier = (options: ApplierOptions) => {
  const { settings, control } = options
  const store = makeGenerationStore({ configDir: settings.configDir, write: options.write })
  let lastReloadAt = 0

  const keepRejected = (staged: Staged, reason: string) =>
    Effect.gen(function*() {
      const kept = yield* store.reject(staged, yield* Clock.currentTimeMillis)
      if (kept !== undefined) yield* Effect.logWarning("candidate configuration kept for inspection", { path: kept, reason })
    })

  const apply = (previous: Applied | undefined, desired: Desired): Effect.Effect<ApplyOutcome> =>
    Effect.gen(function*() {
      const started = yield* Clock.currentTimeMillis
      const elapsed = Effect.map(Clock.currentTimeMillis, (now) => now - started)
      const files = render(desired, settings)
      const hash = hashFiles(files)
      if (previous !== undefined && previous.hash === hash) return { _tag: "Unchanged" } as const
      const diff = diffDesired(previous?.desired, desired)
      const reason = previous === undefined ? "first configuration" : describeDiff(diff)
      const label = previous === undefined ? "start" : reasonLabel(diff)
      const applied: Applied = { desired, files, hash, generation: (previous?.generation ?? 0) + 1 }
      const rejected = (stage: "validate" | "start" | "reload", error: string) =>
        Effect.map(elapsed, (durationMs): ApplyOutcome => ({ _tag: "Rejected", stage, reason, label, error, durationMs }))
      const writeFailed = (e: FileWriteFailed) =>
        Effect.map(elapsed, (durationMs): ApplyOutcome => ({
          _tag: "Rejected",
          stage: "write",
          reason,
          label,
          error: `${e.message}. Nothing was installed: HAProxy keeps serving the current configuration.`,
          code: e.code,
          durationMs
        }))
      const done = (method: "start" | "reload" | "runtime" | "dry-run") =>
        Effect.map(elapsed, (durationMs): ApplyOutcome => ({ _tag: "Applied", applied, method, reason, label, durationMs }))

      if (options.dryRun) return yield* done("dry-run")

      // Write the candidate as a new generation and validate those very bytes.
      const staging = yield* Effect.result(store.stage(files))
      if (staging._tag === "Failure") return yield* writeFailed(staging.failure)
      const staged = staging.success
      const valid = yield* Effect.result(control.validate(staged.cfgPath))
      if (valid._tag === "Failure") {
        yield* keepRejected(staged, valid.failure)
        return yield* rejected("validate", valid.failure)
      }

      const running = yield* control.isRunning
      if (running && previous !== undefined) {
        const runtime = yield* Effect.result(control.applyRuntime(previous.desired, desired, diff))
        if (runtime._tag === "Success" && runtime.success) {
          const persisted = yield* Effect.result(store.install(staged))
          if (persisted._tag === "Success") {
            yield* store.prune
            return yield* done("runtime")
          }
          // HAProxy runs the change, the files do not have it: retried (and reloaded) later.
          yield* Effect.logError("runtime update applied but its generation could not be installed", {
            error: persisted.failure.message
          })
          yield* store.discard(staged)
          return yield* writeFailed(persisted.failure)
        } else if (runtime._tag === "Failure") {
          yield* Effect.logWarning("runtime update could not be verified; reloading instead", { error: runtime.failure })
        }
        // Coalesce reloads: never two closer than reloadMinIntervalMs.
        const now = yield* Clock.currentTimeMillis
        const wait = lastReloadAt + options.reloadMinIntervalMs - now
        if (wait > 0) yield* Effect.sleep(wait)
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
          yield* keepRejected(staged, start.failure)
          return yield* rejected("start", start.failure)
        }
        lastReloadAt = yield* Clock.currentTimeMillis
        yield* store.prune
        return yield* done("start")
      }
      const reloaded = yield* Effect.result(control.reload)
      lastReloadAt = yield* Clock.currentTimeMillis
      if (reloaded._tag === "Failure") {
        // The old worker keeps serving the old configuration; point `current` back at it so the
        // next reload (ours or anyone's) loads the last-known-good configuration.
        yield* rollBack
        yield* keepRejected(staged, reloaded.failure)
        if (before !== undefined) {
          const verify = yield* Effect.result(control.reload)
          if (verify._tag === "Failure") yield* Effect.logError("reload of the last good configuration failed", { error: verify.failure })
        }
        return yield* rejected("reload", reloaded.failure)
      }
      yield* store.prune
      return yield* done("reload")
    })

  return { apply, store }
}
