/**
 * The applier against a fake HaproxyControl and a real temp CONFIG_DIR: what is validated, what
 * is installed, and what the live files look like after each kind of failure.
 */
import { createHash } from "node:crypto"
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import { type Applied, type ApplyOutcome, makeApplier } from "../../src/apply/applier.ts"
import type { WriteFn } from "../../src/apply/files.ts"
import type { Desired } from "../../src/model/desired.ts"
import { render } from "../../src/render/render.ts"
import { settings } from "../render/fixtures.ts"
import { backend, desired } from "../support/desired.ts"
import { candidateInvalid, fakeControl, reloadFailed, reloadTimeout, startExited, validatorMissing } from "../support/fake-control.ts"

const dirs: Array<string> = []
afterAll(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})


const LIVE = ["haproxy.cfg", "hosts.map", "paths.map"] as const
const sha = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex")
const mode = (path: string) => statSync(path).mode & 0o777

const setup = (write?: WriteFn) => {
  const dir = mkdtempSync(join(tmpdir(), "cmh-applier-"))
  dirs.push(dir)
  const configDir = join(dir, "cfg")
  const s = settings({ configDir })
  const fake = fakeControl(configDir)
  const applier = makeApplier({ settings: s, dryRun: false, control: fake.control, write })
  const apply = (previous: Applied | undefined, d: Desired): ApplyOutcome => Effect.runSync(applier.apply(previous, d))
  const applied = (outcome: ApplyOutcome): Applied => {
    if (outcome._tag !== "Applied") throw new Error(`expected Applied, got ${JSON.stringify(outcome)}`)
    return outcome.applied
  }
  const live = () => LIVE.map((n) => sha(join(configDir, n)))
  const current = () => readlinkSync(join(configDir, "current"))
  const rejected = () => (existsSync(join(configDir, "rejected")) ? readdirSync(join(configDir, "rejected")) : [])
  return { configDir, s, fake, apply, applied, live, current, rejected }
}

const one = desired(backend("web", [8080]))
const two = desired(backend("web", [8080]), backend("shop", [8081]))

describe("applier", () => {
  it("first apply: validates generations/1 in place, installs it, then starts HAProxy on those bytes", () => {
    const t = setup()
    const outcome = t.apply(undefined, one)
    expect(outcome._tag).toBe("Applied")
    expect(t.fake.calls).toEqual([`validate ${join(t.configDir, "generations", "1", "haproxy.cfg")}`, "start"])
    const expected = render(one, t.s)["haproxy.cfg"]
    expect(t.fake.seen).toEqual([expected, expected])
    expect(t.current()).toBe("generations/1")
    expect(mode(t.configDir)).toBe(0o700)
    for (const name of LIVE) expect(mode(join(t.configDir, "generations", "1", name))).toBe(0o600)
    expect(existsSync(join(t.configDir, "candidate"))).toBe(false)
  })

  it("validation failure: the generation goes to rejected/, current and the live files are untouched", () => {
    const t = setup()
    const first = t.applied(t.apply(undefined, one))
    const before = t.live()
    t.fake.fail.validate.push(candidateInvalid())
    const outcome = t.apply(first, two)
    expect(outcome).toMatchObject({ _tag: "Rejected", stage: "validate", fault: "config", errorTag: "CandidateInvalid" })
    if (outcome._tag === "Rejected") expect(outcome.error).toContain("injected: bad config")
    expect(t.fake.calls.slice(2)).toEqual([`validate ${join(t.configDir, "generations", "2", "haproxy.cfg")}`])
    expect(t.current()).toBe("generations/1")
    expect(t.live()).toEqual(before)
    expect(t.rejected()).toHaveLength(1)
    const kept = join(t.configDir, "rejected", t.rejected()[0]!)
    expect(t.rejected()[0]).toMatch(/-gen2$/)
    expect(readFileSync(join(kept, "haproxy.cfg"), "utf8")).toBe(render(two, t.s)["haproxy.cfg"])
    expect(mode(join(t.configDir, "rejected"))).toBe(0o700)
    expect(mode(kept)).toBe(0o700)
    for (const name of LIVE) expect(mode(join(kept, name))).toBe(0o600)
    expect(readdirSync(join(t.configDir, "generations"))).toEqual(["1"])
  })

  it("a missing validator is an infrastructure fault: nothing archived in rejected/, not invalid, current untouched", () => {
    const t = setup()
    const first = t.applied(t.apply(undefined, one))
    const before = t.live()
    t.fake.fail.validate.push(validatorMissing())
    const outcome = t.apply(first, two)
    expect(outcome).toMatchObject({ _tag: "Rejected", stage: "validate", fault: "infrastructure", errorTag: "ValidatorFailed" })
    expect(t.rejected()).toEqual([])
    expect(readdirSync(join(t.configDir, "generations"))).toEqual(["1"])
    expect(t.current()).toBe("generations/1")
    expect(t.live()).toEqual(before)
    // Retried once the validator is back: applied.
    expect(t.apply(first, two)).toMatchObject({ _tag: "Applied", method: "reload" })
  })

  it("a reload without a verdict is an infrastructure fault: rolled back, not archived", () => {
    const t = setup()
    const first = t.applied(t.apply(undefined, one))
    const before = t.live()
    t.fake.fail.reload.push(reloadTimeout())
    expect(t.apply(first, two)).toMatchObject({ _tag: "Rejected", stage: "reload", fault: "infrastructure", errorTag: "ReloadTimeout" })
    expect(t.rejected()).toEqual([])
    expect(t.current()).toBe("generations/1")
    expect(t.live()).toEqual(before)
  })

  it("reload failure: current flips back, the previous files are byte-identical, the last good one is reloaded", () => {
    const t = setup()
    const first = t.applied(t.apply(undefined, one))
    const before = t.live()
    t.fake.fail.reload.push(reloadFailed())
    const outcome = t.apply(first, two)
    expect(outcome).toMatchObject({ _tag: "Rejected", stage: "reload", fault: "config", errorTag: "ReloadFailed" })
    if (outcome._tag === "Rejected") expect(outcome.error).toContain("injected: Loading failure")
    expect(t.fake.calls.slice(2)).toEqual([`validate ${join(t.configDir, "generations", "2", "haproxy.cfg")}`, "runtime", "reload", "reload"])
    // The failed reload saw the candidate; the confirming one the last good configuration.
    expect(t.fake.seen.slice(-2)).toEqual([render(two, t.s)["haproxy.cfg"], render(one, t.s)["haproxy.cfg"]])
    expect(t.current()).toBe("generations/1")
    expect(t.live()).toEqual(before)
    expect(t.rejected()).toEqual([expect.stringMatching(/-gen2$/)])
  })

  it("start failure: the candidate is rejected and no current is left for a restart to load", () => {
    const t = setup()
    t.fake.fail.start.push(startExited())
    expect(t.apply(undefined, one)).toMatchObject({ _tag: "Rejected", stage: "start", fault: "config", errorTag: "HaproxyStartFailed" })
    expect(existsSync(join(t.configDir, "current"))).toBe(false)
    expect(existsSync(join(t.configDir, "haproxy.cfg"))).toBe(false)
    expect(t.rejected()).toHaveLength(1)
  })

  it("write failure: Rejected at stage write with the code and path; nothing renamed, nothing reloaded", () => {
    let broken = false
    const write: WriteFn = (fd, buffer, offset, length, position) =>
      broken ? (length > 100 ? writeSync(fd, buffer, offset, 100, position) : 0) : writeSync(fd, buffer, offset, length, position)
    const t = setup(write)
    const first = t.applied(t.apply(undefined, one))
    const before = t.live()
    broken = true
    const outcome = t.apply(first, two)
    expect(outcome).toMatchObject({ _tag: "Rejected", stage: "write", code: "SHORT_WRITE" })
    if (outcome._tag !== "Rejected") throw new Error("unreachable")
    expect(outcome.error).toContain(join(t.configDir, "generations", "2"))
    expect(t.fake.calls.slice(2)).toEqual([])
    expect(t.current()).toBe("generations/1")
    expect(t.live()).toEqual(before)
    expect(readdirSync(join(t.configDir, "generations"))).toEqual(["1"])
    expect(t.rejected()).toEqual([])
    // Retried once the disk behaves: applied.
    broken = false
    expect(t.apply(first, two)).toMatchObject({ _tag: "Applied", method: "reload" })
    expect(readFileSync(join(t.configDir, "hosts.map"), "utf8")).toBe(render(two, t.s)["hosts.map"])
  })

  it("runtime update: validated first, then applied through the API, then the generation installed", () => {
    const t = setup()
    const first = t.applied(t.apply(undefined, one))
    t.fake.runtime = true
    const moved = desired(backend("web", [8080, 8090]))
    expect(t.apply(first, moved)).toMatchObject({ _tag: "Applied", method: "runtime" })
    expect(t.fake.calls.slice(2)).toEqual([`validate ${join(t.configDir, "generations", "2", "haproxy.cfg")}`, "runtime"])
    expect(t.current()).toBe("generations/2")
    expect(readFileSync(join(t.configDir, "haproxy.cfg"), "utf8")).toBe(render(moved, t.s)["haproxy.cfg"])
  })

  it("keeps only the current and the previous generation", () => {
    const t = setup()
    let previous = t.applied(t.apply(undefined, one))
    for (const port of [8081, 8082, 8083]) previous = t.applied(t.apply(previous, desired(backend("web", [8080]), backend("shop", [port]))))
    expect(readdirSync(join(t.configDir, "generations")).sort()).toEqual(["3", "4"])
    expect(t.current()).toBe("generations/4")
  })

  it("dry run writes nothing", () => {
    const dir = mkdtempSync(join(tmpdir(), "cmh-applier-"))
    dirs.push(dir)
    const fake = fakeControl(dir)
    const applier = makeApplier({ settings: settings({ configDir: join(dir, "cfg") }), dryRun: true, control: fake.control })
    expect(Effect.runSync(applier.apply(undefined, one))).toMatchObject({ _tag: "Applied", method: "dry-run" })
    expect(existsSync(join(dir, "cfg"))).toBe(false)
    expect(fake.calls).toEqual([])
  })
})
