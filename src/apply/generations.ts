/**
 * Configuration generations in CONFIG_DIR. Every candidate is written into a new directory and
 * never changed afterwards; what HAProxy runs is chosen by one symlink:
 *
 *   CONFIG_DIR/                 0700 (when the agent owns it)
 *     generations/<n>/          0700, one per candidate: haproxy.cfg hosts.map paths.map (0600)
 *     current -> generations/<n>            the installed generation (one atomic rename)
 *     haproxy.cfg -> current/haproxy.cfg    what HAProxy is started with (-f)
 *     hosts.map -> current/hosts.map        map names in haproxy.cfg are relative to the
 *     paths.map -> current/paths.map        directory of -f (`default-path config`)
 *     rejected/<stamp>-gen<n>/  0700, candidates refused by validation, start or reload (newest 10)
 *     admin.sock, master.sock   HAProxy's sockets (mode 600)
 *
 * A candidate is staged (written in full, fsynced, read back, see files.ts), validated in place
 * (the exact bytes HAProxy will load: the bundle is relocatable), then installed by renaming a
 * new `current` link over the old one; rollback renames the previous one back. A failed write
 * removes its half-written generation and never touches `current`. Generations other than the
 * current and the previous one (the rollback target) are pruned after an install.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync } from "node:fs"
import { join } from "node:path"
import process from "node:process"
import { Effect } from "effect"
import { RENDERED_FILE_NAMES } from "../render/render.ts"
import {
  DIR_MODE,
  type FileSet,
  FileWriteFailed,
  fsyncDirectory,
  makeDirectory,
  pruneDirectory,
  type WriteFn,
  writeFailure,
  writeFilesInto
} from "./files.ts"

export interface Staged {
  readonly id: number
  readonly dir: string
  /** The generation's own haproxy.cfg: validate this one. */
  readonly cfgPath: string
}

export interface GenerationStoreOptions {
  readonly configDir: string
  /** Injected write function (tests); defaults to fs.writeSync. */
  readonly write?: WriteFn | undefined
  /** Rejected candidates kept for inspection (default 10). */
  readonly keepRejected?: number | undefined
}

const CURRENT = "current"
const GENERATIONS = "generations"
const REJECTED = "rejected"

const numericEntries = (dir: string): Array<number> => {
  try {
    return readdirSync(dir).filter((n) => /^[0-9]+$/.test(n)).map(Number)
  } catch {
    return []
  }
}

const bestEffort = (f: () => void): void => {
  try {
    f()
  } catch {
    // not permitted, or nothing there: the layout still works
  }
}

/** Replaces (or creates) the symlink `path` with one to `target`, atomically (rename). */
const replaceLink = (dir: string, name: string, target: string): void => {
  const path = join(dir, name)
  const tmp = join(dir, `.${name}.link-${process.pid}`)
  try {
    rmSync(tmp, { force: true })
    symlinkSync(target, tmp)
    renameSync(tmp, path)
  } catch (e) {
    bestEffort(() => rmSync(tmp, { force: true }))
    throw writeFailure(path, e, "linking")
  }
}

export const makeGenerationStore = (options: GenerationStoreOptions) => {
  const root = options.configDir
  const generationsDir = join(root, GENERATIONS)
  const rejectedDir = join(root, REJECTED)
  const keepRejected = options.keepRejected ?? 10
  let nextId: number | undefined
  /** The generation `current` pointed to before the last install: the rollback target. */
  let previousId: number | undefined

  const readCurrent = (): number | undefined => {
    try {
      const match = /^generations\/([0-9]+)$/.exec(readlinkSync(join(root, CURRENT)))
      return match === null ? undefined : Number(match[1])
    } catch {
      return undefined
    }
  }

  const generationDir = (id: number) => join(generationsDir, String(id))

  /** Once per process: directories and modes, leftovers of a crash or of the old layout removed. */
  const init = (): number => {
    if (nextId !== undefined) return nextId
    makeDirectory(root)
    bestEffort(() => {
      if (statSync(root).uid === process.getuid?.()) chmodSync(root, DIR_MODE)
    })
    makeDirectory(generationsDir)
    bestEffort(() => chmodSync(generationsDir, DIR_MODE))
    bestEffort(() => chmodSync(rejectedDir, DIR_MODE))
    // The previous layout validated copies in candidate/ (0644, with the password hashes).
    bestEffort(() => rmSync(join(root, "candidate"), { recursive: true, force: true }))
    bestEffort(() => {
      // Our temporary links, and the temporary files of the previous layout's writer.
      for (const name of readdirSync(root)) if (/^\..*\.(link|tmp)-[0-9]+$/.test(name)) rmSync(join(root, name), { force: true })
    })
    const current = readCurrent()
    const ids = numericEntries(generationsDir)
    // Anything but the current generation is a half-written or superseded one.
    for (const id of ids) if (id !== current) bestEffort(() => rmSync(generationDir(id), { recursive: true, force: true }))
    nextId = Math.max(0, current ?? 0, ...ids) + 1
    return nextId
  }

  const pointCurrentAt = (id: number | undefined): void => {
    if (id === undefined) {
      try {
        rmSync(join(root, CURRENT), { force: true })
      } catch (e) {
        throw writeFailure(join(root, CURRENT), e, "removing")
      }
    } else {
      replaceLink(root, CURRENT, `${GENERATIONS}/${id}`)
    }
    try {
      fsyncDirectory(root)
    } catch (e) {
      throw writeFailure(root, e, "syncing directory")
    }
  }

  /** CONFIG_DIR/<name> -> current/<name>; a plain file left by an older version is replaced. */
  const ensureLinks = (): void => {
    let changed = false
    for (const name of RENDERED_FILE_NAMES) {
      const target = `${CURRENT}/${name}`
      let existing: string | undefined
      try {
        existing = readlinkSync(join(root, name))
      } catch {
        existing = undefined
      }
      if (existing !== target) {
        replaceLink(root, name, target)
        changed = true
      }
    }
    if (changed) fsyncDirectory(root)
  }

  const attempt = <A>(path: string, doing: string, f: () => A) =>
    Effect.try({ try: f, catch: (e) => writeFailure(path, e, doing) })

  /** Writes `files` as a new generation; on failure nothing of it is left. */
  const stage = (files: FileSet): Effect.Effect<Staged, FileWriteFailed> =>
    attempt(generationsDir, "staging into", () => {
      let id = init()
      // Removed since (a cleanup, a replaced volume): made again, a restart needs it.
      if (!existsSync(generationsDir)) makeDirectory(generationsDir)
      while (existsSync(generationDir(id))) id++ // never reuse (or remove) a directory we did not create
      nextId = id + 1
      const dir = generationDir(id)
      mkdirSync(dir, { mode: DIR_MODE })
      try {
        chmodSync(dir, DIR_MODE)
        writeFilesInto(dir, files, options.write)
        fsyncDirectory(generationsDir)
      } catch (e) {
        bestEffort(() => rmSync(dir, { recursive: true, force: true }))
        throw writeFailure(dir, e, "creating generation")
      }
      return { id, dir, cfgPath: join(dir, "haproxy.cfg") }
    })

  /** Makes `staged` the current generation. Succeeds with the one it replaced (rollback target). */
  const install = (staged: Staged): Effect.Effect<number | undefined, FileWriteFailed> =>
    attempt(join(root, CURRENT), "installing", () => {
      init()
      const before = readCurrent()
      pointCurrentAt(staged.id)
      try {
        ensureLinks()
      } catch (e) {
        bestEffort(() => pointCurrentAt(before))
        throw e
      }
      previousId = before
      return before
    })

  /** Points `current` back at `id` (or removes it when there was none): no data blocks needed. */
  const restore = (id: number | undefined): Effect.Effect<void, FileWriteFailed> =>
    attempt(join(root, CURRENT), "restoring", () => {
      pointCurrentAt(id)
      previousId = undefined
    })

  /** Moves a refused generation (rename, not copy) into rejected/; keeps the newest ones. */
  const reject = (staged: Staged, nowMs: number): Effect.Effect<string | undefined> =>
    Effect.gen(function*() {
      const stamp = new Date(nowMs).toISOString().replace(/[:.]/g, "-")
      const target = join(rejectedDir, `${stamp}-gen${staged.id}`)
      const moved = yield* Effect.result(attempt(target, "moving into", () => {
        makeDirectory(rejectedDir)
        chmodSync(rejectedDir, DIR_MODE)
        renameSync(staged.dir, target)
      }))
      if (moved._tag === "Failure") {
        yield* Effect.logWarning("could not keep the refused candidate", { error: moved.failure.message })
        yield* discard(staged)
        return undefined
      }
      yield* pruneDirectory(rejectedDir, keepRejected)
      return target
    })

  /** Removes a staged generation that will not be used. */
  const discard = (staged: Staged): Effect.Effect<void> =>
    Effect.sync(() => bestEffort(() => rmSync(staged.dir, { recursive: true, force: true })))

  /** Removes every generation but the current one and the previous one. */
  const prune: Effect.Effect<void> = Effect.sync(() => {
    const keep = new Set([readCurrent(), previousId])
    for (const id of numericEntries(generationsDir)) {
      if (!keep.has(id)) bestEffort(() => rmSync(generationDir(id), { recursive: true, force: true }))
    }
  })

  return {
    stage,
    install,
    restore,
    reject,
    discard,
    prune,
    /** The generation `current` points to, read from disk. */
    current: Effect.sync(readCurrent),
    paths: { root, generations: generationsDir, rejected: rejectedDir, current: join(root, CURRENT) }
  }
}

export type GenerationStore = ReturnType<typeof makeGenerationStore>
