/**
 * Desired → running HAProxy, safely. The rendered files are compared byte for byte with what is
 * applied: equal means nothing happens. Otherwise a candidate is rendered into `candidate/`,
 * checked with `haproxy -c`, then the files are written atomically and HAProxy is started or
 * reloaded through the master CLI, and the reload is verified (`show proc`). A candidate that
 * fails validation never reaches HAProxy; a reload that fails restores the last-known-good files.
 * Rejected candidates are kept in `rejected/` for inspection.
 */
import { createHash } from "node:crypto"
import { cpSync, mkdirSync } from "node:fs"
import { join } from "node:path"
import { Clock, Effect } from "effect"
import type { Desired } from "../model/desired.ts"
import type { RenderSettings } from "../model/render-settings.ts"
import { render, type RenderedFiles } from "../render/render.ts"
import { describeDiff, diffDesired, type DesiredDiff, reasonLabel } from "./diff.ts"
import { type FileSet, pruneDirectory, writeFileSet } from "./files.ts"

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
}

export const makeApplier = (options: ApplierOptions) => {
  const { settings, control } = options
  const dir = settings.configDir
  const candidateDir = join(dir, "candidate")
  const rejectedDir = join(dir, "rejected")
  let lastReloadAt = 0

  const keepRejected = (generation: number, reason: string) =>
    Effect.gen(function*() {
      const stamp = new Date(yield* Clock.currentTimeMillis).toISOString().replace(/[:.]/g, "-")
      const target = join(rejectedDir, `${stamp}-gen${generation}`)
      yield* Effect.sync(() => {
        try {
          mkdirSync(rejectedDir, { recursive: true })
          cpSync(candidateDir, target, { recursive: true })
        } catch {
          // best effort: the error is reported either way
        }
      })
      yield* pruneDirectory(rejectedDir, 10)
      yield* Effect.logWarning("candidate configuration kept for inspection", { path: target, reason })
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
      const rejected = (stage: "validate" | "write" | "start" | "reload", error: string) =>
        Effect.map(elapsed, (durationMs): ApplyOutcome => ({ _tag: "Rejected", stage, reason, label, error, durationMs }))
      const done = (method: "start" | "reload" | "runtime" | "dry-run") =>
        Effect.map(elapsed, (durationMs): ApplyOutcome => ({ _tag: "Applied", applied, method, reason, label, durationMs }))

      if (options.dryRun) return yield* done("dry-run")

      // Validate a copy whose paths point into candidate/, so the live files stay untouched.
      const candidate = render(desired, { ...settings, configDir: candidateDir })
      const written = yield* Effect.result(writeFileSet(candidateDir, candidate))
      if (written._tag === "Failure") return yield* rejected("write", written.failure.message)
      const valid = yield* Effect.result(control.validate(join(candidateDir, "haproxy.cfg")))
      if (valid._tag === "Failure") {
        yield* keepRejected(applied.generation, valid.failure)
        return yield* rejected("validate", valid.failure)
      }

      const running = yield* control.isRunning
      if (running && previous !== undefined) {
        const runtime = yield* Effect.result(control.applyRuntime(previous.desired, desired, diff))
        if (runtime._tag === "Success" && runtime.success) {
          const persisted = yield* Effect.result(writeFileSet(dir, files))
          if (persisted._tag === "Success") return yield* done("runtime")
          yield* Effect.logError("runtime update applied but the files could not be written", { error: persisted.failure.message })
        } else if (runtime._tag === "Failure") {
          yield* Effect.logWarning("runtime update could not be verified; reloading instead", { error: runtime.failure })
        }
        // Coalesce reloads: never two closer than reloadMinIntervalMs.
        const now = yield* Clock.currentTimeMillis
        const wait = lastReloadAt + options.reloadMinIntervalMs - now
        if (wait > 0) yield* Effect.sleep(wait)
      }

      const write = yield* Effect.result(writeFileSet(dir, files))
      if (write._tag === "Failure") return yield* rejected("write", write.failure.message)
      if (!running) {
        const start = yield* Effect.result(control.start)
        if (start._tag === "Failure") {
          yield* keepRejected(applied.generation, start.failure)
          return yield* rejected("start", start.failure)
        }
        lastReloadAt = yield* Clock.currentTimeMillis
        return yield* done("start")
      }
      const reloaded = yield* Effect.result(control.reload)
      lastReloadAt = yield* Clock.currentTimeMillis
      if (reloaded._tag === "Failure") {
        yield* keepRejected(applied.generation, reloaded.failure)
        if (previous !== undefined) {
          // The old worker keeps serving the old configuration; put its files back so the next
          // reload (ours or anyone's) loads the last-known-good configuration.
          const restore = yield* Effect.result(writeFileSet(dir, previous.files))
          if (restore._tag === "Failure") yield* Effect.logError("could not restore the last good files", { error: restore.failure.message })
          const verify = yield* Effect.result(control.reload)
          if (verify._tag === "Failure") yield* Effect.logError("reload of the last good configuration failed", { error: verify.failure })
        }
        return yield* rejected("reload", reloaded.failure)
      }
      return yield* done("reload")
    })

  return { apply }
}
