/**
 * Writes that cannot corrupt. A file is written in full or the write fails: the write loop goes
 * on until every byte is written (a short count is followed by another write for the rest; a
 * write that makes no progress is an error, never silently accepted), the file is fsynced, read
 * back and compared byte for byte with what was meant, and its directory is fsynced. Files are
 * created 0600 and directories 0700: haproxy.cfg holds password hashes.
 *
 * The write function is a parameter (defaults to fs.writeSync): tests inject one that writes
 * short, or writes different bytes, without having to fill a disk.
 */
import {
  closeSync,
  fchmodSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeSync
} from "node:fs"
import { join } from "node:path"
import { Effect, Schema } from "effect"

export class FileWriteFailed extends Schema.TaggedError<FileWriteFailed>()("FileWriteFailed", {
  path: Schema.String,
  /** errno code (ENOSPC, EROFS, EACCES, EDQUOT, ...), or SHORT_WRITE / READBACK_MISMATCH. */
  code: Schema.String,
  message: Schema.String
}) {}

export type FileSet = Readonly<Record<string, string>>

/** Same contract as fs.writeSync(fd, buffer, offset, length, position): bytes written. */
export type WriteFn = (fd: number, buffer: Uint8Array, offset: number, length: number, position: number) => number

const FILE_MODE = 0o600
export const DIR_MODE = 0o700

const defaultWrite: WriteFn = (fd, buffer, offset, length, position) => writeSync(fd, buffer, offset, length, position)

const errnoCode = (e: unknown): string =>
  typeof e === "object" && e !== null && typeof (e as { code?: unknown }).code === "string" ? (e as { code: string }).code : "EIO"

/** A FileWriteFailed for `path`, naming the errno code (or keeping one already made). */
export const writeFailure = (path: string, e: unknown, doing: string): FileWriteFailed => {
  if (e instanceof FileWriteFailed) return e
  const code = errnoCode(e)
  const detail = e instanceof Error ? e.message : String(e)
  return new FileWriteFailed({ path, code, message: `${code} ${doing} ${path}: ${detail}` })
}

/** Writes all of `bytes` at offset 0 of `fd`, looping over short writes. Throws FileWriteFailed. */
export const writeFully = (fd: number, bytes: Uint8Array, path: string, write: WriteFn = defaultWrite): void => {
  let done = 0
  while (done < bytes.length) {
    const n = write(fd, bytes, done, bytes.length - done, done)
    if (!Number.isInteger(n) || n <= 0 || n > bytes.length - done) {
      throw new FileWriteFailed({
        path,
        code: "SHORT_WRITE",
        message: `SHORT_WRITE writing ${path}: ${done} of ${bytes.length} bytes written, then a write returned ${n} ` +
          `(no progress; the file system may be full or read-only)`
      })
    }
    done += n
  }
}

/** fsync a directory, so the entries created or renamed in it are durable. */
export const fsyncDirectory = (dir: string): void => {
  const fd = openSync(dir, "r")
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

/**
 * Creates `path` (which must not exist) with mode 0600, writes `content` fully, fsyncs, and reads
 * it back. Throws FileWriteFailed; the caller removes what it created.
 */
const writeNewFile = (path: string, content: string, write: WriteFn = defaultWrite): void => {
  const bytes = Buffer.from(content, "utf8")
  let fd: number
  try {
    fd = openSync(path, "wx", FILE_MODE)
  } catch (e) {
    throw writeFailure(path, e, "creating")
  }
  try {
    fchmodSync(fd, FILE_MODE) // the umask may have narrowed it; never widen past 0600
    writeFully(fd, bytes, path, write)
    fsyncSync(fd)
  } catch (e) {
    throw writeFailure(path, e, "writing")
  } finally {
    try {
      closeSync(fd)
    } catch {
      // a failed close after fsync changes nothing; the read-back below decides
    }
  }
  let back: Buffer
  try {
    back = readFileSync(path)
  } catch (e) {
    throw writeFailure(path, e, "reading back")
  }
  if (!back.equals(bytes)) {
    throw new FileWriteFailed({
      path,
      code: "READBACK_MISMATCH",
      message: `READBACK_MISMATCH writing ${path}: read back ${back.length} bytes that differ from the ` +
        `${bytes.length} bytes written`
    })
  }
}

/** Makes `dir` (parents too) with mode 0700 for what it creates. */
export const makeDirectory = (dir: string): void => {
  try {
    mkdirSync(dir, { recursive: true, mode: DIR_MODE })
  } catch (e) {
    throw writeFailure(dir, e, "creating directory")
  }
}

/**
 * Writes every file of `files` as a new file in `dir` (an existing, empty directory), then fsyncs
 * `dir`. Throws FileWriteFailed at the first failure; the caller removes `dir`.
 */
export const writeFilesInto = (dir: string, files: FileSet, write: WriteFn = defaultWrite): void => {
  for (const name of Object.keys(files).sort()) writeNewFile(join(dir, name), files[name]!, write)
  try {
    fsyncDirectory(dir)
  } catch (e) {
    throw writeFailure(dir, e, "syncing directory")
  }
}

/**
 * A standalone bundle (`render --out DIR`): each file written in full to a temporary name in
 * `dir`, verified, then renamed over its target; `dir` fsynced. A failure leaves the previous
 * files as they were and removes the temporary ones.
 */
export const writeFileSet = (dir: string, files: FileSet, write: WriteFn = defaultWrite) =>
  Effect.try({
    try: () => {
      makeDirectory(dir)
      const names = Object.keys(files).sort()
      const tmp = (name: string) => join(dir, `.${name}.tmp-${process.pid}`)
      try {
        for (const name of names) {
          rmSync(tmp(name), { force: true })
          writeNewFile(tmp(name), files[name]!, write)
        }
        // Every file is complete before any is renamed; haproxy.cfg (which names the maps) last.
        const order = [...names.filter((n) => n !== "haproxy.cfg"), ...names.filter((n) => n === "haproxy.cfg")]
        for (const name of order) {
          try {
            renameSync(tmp(name), join(dir, name))
          } catch (e) {
            throw writeFailure(join(dir, name), e, "renaming into")
          }
        }
        fsyncDirectory(dir)
      } catch (e) {
        for (const name of names) {
          try {
            unlinkSync(tmp(name))
          } catch {
            // not created, or already renamed
          }
        }
        throw e
      }
    },
    catch: (e) => writeFailure(dir, e, "writing into")
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
