/**
 * Writing rendered files: each file is written to a temporary name in the same directory,
 * fsynced and renamed over the target, so HAProxy never reads a half-written file.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, writeSync } from "node:fs"
import { join } from "node:path"
import { Effect, Schema } from "effect"

export class FileWriteFailed extends Schema.TaggedError<FileWriteFailed>()("FileWriteFailed", {
  path: Schema.String,
  message: Schema.String
}) {}

export type FileSet = Readonly<Record<string, string>>

const writeAtomicSync = (dir: string, name: string, content: string) => {
  const target = join(dir, name)
  const tmp = join(dir, `.${name}.tmp-${process.pid}`)
  const fd = openSync(tmp, "w", 0o644)
  try {
    writeSync(fd, content)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  renameSync(tmp, target)
}

/** Writes every file atomically; `haproxy.cfg` last so the maps it names are already in place. */
export const writeFileSet = (dir: string, files: FileSet) =>
  Effect.try({
    try: () => {
      mkdirSync(dir, { recursive: true })
      const names = Object.keys(files).sort((a, b) => (a === "haproxy.cfg" ? 1 : b === "haproxy.cfg" ? -1 : a.localeCompare(b)))
      for (const name of names) writeAtomicSync(dir, name, files[name]!)
    },
    catch: (e) => new FileWriteFailed({ path: dir, message: `cannot write into ${dir}: ${(e as Error).message}` })
  })

/** Keeps the newest `keep` entries of a directory (by name, which starts with a sortable stamp). */
export const pruneDirectory = (dir: string, keep: number) =>
  Effect.sync(() => {
    try {
      const entries = readdirSync(dir).sort()
      for (const old of entries.slice(0, Math.max(0, entries.length - keep))) rmSync(join(dir, old), { recursive: true, force: true })
    } catch {
      // nothing to prune
    }
  })
