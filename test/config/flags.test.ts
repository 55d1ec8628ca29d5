/** The flag table: strict parsing, unknown flags with the closest known one, and the help made from it. */
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { type FlagTable, flagsHelp, flagsSynopsis, HELP_FLAG, parseFlags } from "../../src/config/flags.ts"

const TABLE: FlagTable = [
  { name: "out", value: "DIR", meaning: "write the files to DIR" },
  { name: "json", meaning: "print JSON" },
  HELP_FLAG
]

const refused = (argv: Array<string>, options: { positional?: boolean } = {}) => {
  const r = parseFlags(argv, TABLE, options)
  if (Result.isSuccess(r)) return expect.unreachable(`accepted ${argv.join(" ")}`)
  expect(r.failure._tag).toBe("FlagError")
  expect(r.failure.exitCode).toBe(64)
  return r.failure
}

describe("parseFlags", () => {
  it("reads --flag value, --flag=value, switches and aliases", () => {
    const r = Result.getOrThrow(parseFlags(["--out", "/tmp/x", "--json", "-h"], TABLE))
    expect(r.flags.get("out")).toBe("/tmp/x")
    expect([...r.switches]).toEqual(["json", "help"])
    expect(Result.getOrThrow(parseFlags(["--out=/a=b"], TABLE)).flags.get("out")).toBe("/a=b")
    // A value flag takes the next argument whatever it is.
    expect(Result.getOrThrow(parseFlags(["--out", "--json"], TABLE)).flags.get("out")).toBe("--json")
  })

  it("an unknown flag is an error naming the closest known flag", () => {
    expect(refused(["--outt", "x"]).message).toBe('unknown flag "--outt": did you mean "--out"?')
    expect(refused(["--jsno"]).message).toBe('unknown flag "--jsno": did you mean "--json"?')
    expect(refused(["--hlep"]).message).toBe('unknown flag "--hlep": did you mean "--help"?')
    expect(refused(["--out=x", "--jason=1"]).argument).toBe("--jason=1")
  })

  it("with nothing close, the error lists the known flags", () => {
    expect(refused(["--zzzzzz"]).message).toBe('unknown flag "--zzzzzz" (flags: --out, --json, --help)')
    expect(refused(["-x"]).message).toBe('unknown flag "-x" (flags: --out, --json, --help)')
  })

  it("misused flags and positional arguments are errors", () => {
    expect(refused(["--out"]).message).toBe("--out needs a value (DIR)")
    expect(refused(["--json=yes"]).message).toBe("--json takes no value")
    expect(refused(["file.txt"]).message).toBe('unexpected argument "file.txt" (this command takes only flags)')
    expect(Result.getOrThrow(parseFlags(["file.txt", "--json"], TABLE, { positional: true })).positional).toEqual(["file.txt"])
  })
})

describe("help from the table", () => {
  it("the synopsis and the flag list name every flag, its value and its meaning", () => {
    expect(flagsSynopsis(TABLE)).toBe("[--out DIR] [--json] [--help]")
    const help = flagsHelp(TABLE)
    expect(help).toContain("  --out DIR   ")
    for (const f of TABLE) expect(help).toContain(f.meaning)
    expect(help).toContain("--help, -h")
  })

  it("long meanings wrap under their column within the width", () => {
    const help = flagsHelp([{ name: "x", meaning: "word ".repeat(40).trim() }], 60)
    const lines = help.trimEnd().split("\n").slice(1)
    expect(lines.length).toBeGreaterThan(2)
    for (const line of lines) {
      expect(line.length).toBeLessThanOrEqual(60)
      expect(line.indexOf("word")).toBe(lines[0]!.indexOf("word"))
    }
  })
})
