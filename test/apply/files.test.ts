/**
 * The writer and the generation store on a real file system (a temp dir), with injected write
 * functions standing in for a full disk: one that writes short and then nothing, one that writes
 * other bytes than it was given.
 */
import { createHash } from "node:crypto"
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync
} from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import { FileWriteFailed, type WriteFn, writeFileSet, writeFully } from "../../src/apply/files.ts"
import { makeGenerationStore } from "../../src/apply/generations.ts"

const dirs: Array<string> = []
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "cmh-files-"))
  dirs.push(dir)
  return dir
}
afterAll(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

const mode = (path: string) => statSync(path).mode & 0o777
const sha = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex")
/** The typed failure of an effect that must fail. */
const failure = <A, E>(effect: Effect.Effect<A, E>): E => Effect.runSync(Effect.flip(effect))

const realWrite: WriteFn = (fd, buffer, offset, length, position) => writeSync(fd, buffer, offset, length, position)
/** Writes at most `first` bytes once, then 0 (what a nearly full disk gave under bun). */
const shortWriter = (first: number): WriteFn => {
  let calls = 0
  return (fd, buffer, offset, length, position) => (calls++ === 0 ? realWrite(fd, buffer, offset, Math.min(first, length), position) : 0)
}
/** Reports every byte written but writes something else. */
const lyingWriter: WriteFn = (fd, buffer, offset, length, position) => {
  const other = Buffer.from(buffer.subarray(offset, offset + length)).map((b) => b ^ 0x20)
  writeSync(fd, other, 0, length, position)
  return length
}

/** A write function the test can switch between behaviours. */
const switchable = () => {
  let current: WriteFn = realWrite
  const write: WriteFn = (...args) => current(...args)
  return { write, use: (w: WriteFn) => (current = w) }
}

const bundle = (tag: string) => ({
  "haproxy.cfg": `global\n    default-path config\n# ${tag}\n${"#".repeat(9000)}\n`,
  "hosts.map": `${tag}.example.com be_${tag}\n`,
  "paths.map": ""
})

describe("writeFully", () => {
  it("keeps writing after a short count until every byte is written", () => {
    const dir = tempDir()
    const fd = openSync(join(dir, "f"), "w")
    const bytes = Buffer.from("x".repeat(10_000))
    const chunks: Array<number> = []
    writeFully(fd, bytes, join(dir, "f"), (f, b, o, l, p) => {
      const n = realWrite(f, b, o, Math.min(l, 3000), p)
      chunks.push(n)
      return n
    })
    expect(chunks).toEqual([3000, 3000, 3000, 1000])
    expect(readFileSync(join(dir, "f"))).toEqual(bytes)
  })

  it("fails on a write that makes no progress, with the counts", () => {
    const dir = tempDir()
    const fd = openSync(join(dir, "f"), "w")
    let error: unknown
    try {
      writeFully(fd, Buffer.from("y".repeat(8225)), join(dir, "f"), shortWriter(8192))
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(FileWriteFailed)
    expect((error as FileWriteFailed).code).toBe("SHORT_WRITE")
    expect((error as FileWriteFailed).message).toContain("8192 of 8225 bytes")
    expect((error as FileWriteFailed).message).toContain(join(dir, "f"))
  })
})

describe("generation store", () => {
  it("installs a generation: current -> generations/<n>, top-level links, 0600 files in 0700 directories", () => {
    const root = join(tempDir(), "cfg")
    const store = makeGenerationStore({ configDir: root })
    const staged = Effect.runSync(store.stage(bundle("one")))
    expect(staged.cfgPath).toBe(join(root, "generations", "1", "haproxy.cfg"))
    expect(Effect.runSync(store.install(staged))).toBeUndefined()
    expect(readlinkSync(join(root, "current"))).toBe("generations/1")
    for (const name of ["haproxy.cfg", "hosts.map", "paths.map"]) {
      expect(readlinkSync(join(root, name))).toBe(`current/${name}`)
      expect(readFileSync(join(root, name), "utf8")).toBe(bundle("one")[name as "hosts.map"])
      expect(mode(join(root, "generations", "1", name))).toBe(0o600)
    }
    expect(mode(root)).toBe(0o700)
    expect(mode(join(root, "generations"))).toBe(0o700)
    expect(mode(join(root, "generations", "1"))).toBe(0o700)
  })

  it.each([
    ["a short write (some bytes, then none)", shortWriter(4096), "SHORT_WRITE"],
    ["a read-back mismatch (other bytes written)", lyingWriter, "READBACK_MISMATCH"]
  ])("a failed write (%s) renames nothing and removes its generation", (_label, bad, code) => {
    const root = join(tempDir(), "cfg")
    const w = switchable()
    const store = makeGenerationStore({ configDir: root, write: w.write })
    Effect.runSync(store.install(Effect.runSync(store.stage(bundle("good")))))
    const names = ["haproxy.cfg", "hosts.map", "paths.map"]
    const before = names.map((n) => sha(join(root, n)))
    const currentInode = lstatSync(join(root, "current")).ino
    w.use(bad)
    const error = failure((store.stage(bundle("bad"))))
    expect(error).toBeInstanceOf(FileWriteFailed)
    expect(error.code).toBe(code)
    expect(error.message).toContain(join(root, "generations", "2"))
    expect(error.message).toContain(code)
    expect(readdirSync(join(root, "generations"))).toEqual(["1"])
    expect(readlinkSync(join(root, "current"))).toBe("generations/1")
    expect(lstatSync(join(root, "current")).ino).toBe(currentInode)
    expect(names.map((n) => sha(join(root, n)))).toEqual(before)
    // The next good write goes through.
    w.use(realWrite)
    const next = Effect.runSync(store.stage(bundle("next")))
    expect(next.id).toBe(3)
  })

  it("an errno failure (ENOSPC thrown by the write) names the code and the path", () => {
    const root = join(tempDir(), "cfg")
    const store = makeGenerationStore({ configDir: root, write: () => {
      throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" })
    } })
    const error = failure((store.stage(bundle("x"))))
    expect(error.code).toBe("ENOSPC")
    expect(error.message).toMatch(new RegExp(`^ENOSPC writing ${join(root, "generations", "1")}/[a-z.]+: ENOSPC`))
    expect(readdirSync(join(root, "generations"))).toEqual([])
  })

  it("restore flips current back; reject moves a generation (0700/0600 kept) into rejected/, newest 10", () => {
    const root = join(tempDir(), "cfg")
    const store = makeGenerationStore({ configDir: root, keepRejected: 3 })
    const first = Effect.runSync(store.stage(bundle("a")))
    Effect.runSync(store.install(first))
    const second = Effect.runSync(store.stage(bundle("b")))
    expect(Effect.runSync(store.install(second))).toBe(1)
    expect(readFileSync(join(root, "hosts.map"), "utf8")).toBe(bundle("b")["hosts.map"])
    Effect.runSync(store.restore(1))
    expect(readFileSync(join(root, "hosts.map"), "utf8")).toBe(bundle("a")["hosts.map"])
    const kept = Effect.runSync(store.reject(second, Date.UTC(2026, 0, 1)))
    expect(kept).toBe(join(root, "rejected", "2026-01-01T00-00-00-000Z-gen2"))
    expect(existsSync(second.dir)).toBe(false)
    expect(mode(join(root, "rejected"))).toBe(0o700)
    expect(mode(kept!)).toBe(0o700)
    expect(mode(join(kept!, "haproxy.cfg"))).toBe(0o600)
    for (let i = 0; i < 4; i++) Effect.runSync(store.reject(Effect.runSync(store.stage(bundle(`r${i}`))), Date.UTC(2026, 0, 2 + i)))
    expect(readdirSync(join(root, "rejected"))).toHaveLength(3)
    expect(readdirSync(join(root, "rejected")).sort()[0]).toMatch(/^2026-01-03/)
  })

  it("prunes all but the current and the previous generation", () => {
    const root = join(tempDir(), "cfg")
    const store = makeGenerationStore({ configDir: root })
    for (const tag of ["a", "b", "c", "d"]) {
      Effect.runSync(store.install(Effect.runSync(store.stage(bundle(tag)))))
      Effect.runSync(store.prune)
    }
    expect(readdirSync(join(root, "generations")).sort()).toEqual(["3", "4"])
  })

  it("takes over the old layout: plain files become links, candidate/ is removed, leftovers pruned", () => {
    const root = join(tempDir(), "cfg")
    mkdirSync(join(root, "candidate"), { recursive: true, mode: 0o755 })
    writeFileSync(join(root, "candidate", "haproxy.cfg"), "old candidate", { mode: 0o644 })
    writeFileSync(join(root, "haproxy.cfg"), "old live", { mode: 0o644 })
    writeFileSync(join(root, ".haproxy.cfg.tmp-4242"), "half written", { mode: 0o644 })
    mkdirSync(join(root, "generations", "7"), { recursive: true }) // half-written by a crash
    const store = makeGenerationStore({ configDir: root })
    const staged = Effect.runSync(store.stage(bundle("new")))
    expect(staged.id).toBe(8)
    expect(existsSync(join(root, "candidate"))).toBe(false)
    expect(existsSync(join(root, ".haproxy.cfg.tmp-4242"))).toBe(false)
    expect(existsSync(join(root, "generations", "7"))).toBe(false)
    expect(readFileSync(join(root, "haproxy.cfg"), "utf8")).toBe("old live")
    Effect.runSync(store.install(staged))
    expect(lstatSync(join(root, "haproxy.cfg")).isSymbolicLink()).toBe(true)
    expect(readFileSync(join(root, "haproxy.cfg"), "utf8")).toBe(bundle("new")["haproxy.cfg"])
  })
})

describe("writeFileSet (render --out)", () => {
  it("writes 0600 files into a new 0700 directory", () => {
    const out = join(tempDir(), "out", "bundle")
    Effect.runSync(writeFileSet(out, bundle("x")))
    expect(mode(out)).toBe(0o700)
    for (const name of ["haproxy.cfg", "hosts.map", "paths.map"]) {
      expect(mode(join(out, name))).toBe(0o600)
      expect(readFileSync(join(out, name), "utf8")).toBe(bundle("x")[name as "hosts.map"])
    }
  })

  it("a short write replaces none of the files and leaves no temporary file", () => {
    const out = tempDir()
    Effect.runSync(writeFileSet(out, bundle("x")))
    const before = readdirSync(out).sort().map((n) => [n, sha(join(out, n))])
    const error = failure((writeFileSet(out, bundle("y"), shortWriter(100))))
    expect(error.code).toBe("SHORT_WRITE")
    expect(readdirSync(out).sort().map((n) => [n, sha(join(out, n))])).toEqual(before)
  })
})
