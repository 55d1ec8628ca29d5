/**
 * Every command explains itself: `--help` lists its flags (from the table it parses) and every
 * variable it reads with its default and meaning (from the variable table); unknown commands
 * name the closest one.
 */
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { VARIABLES } from "../../src/config/agent-config.ts"
import { commandHelp, invocation, programHelp } from "../../src/config/help.ts"
import { COMMANDS, resolveCommand } from "../../src/commands/dispatch.ts"

const NAMES = ["run", "render", "config", "check", "mock-cloudmap", "healthcheck", "version"]

describe("--help of every command", () => {
  it("there is one entry per command", () => {
    expect(COMMANDS.map((c) => c.spec.name)).toEqual(NAMES)
  })

  it.each(NAMES)("%s: its flags, each with its meaning, and the exit codes", (name) => {
    const spec = COMMANDS.find((c) => c.spec.name === name)!.spec
    const help = commandHelp(spec)
    expect(help.startsWith(`usage: cloudmap-haproxy ${name} `)).toBe(true)
    for (const flag of spec.flags) {
      expect(help).toContain(`--${flag.name}${flag.value === undefined ? "" : ` ${flag.value}`}`)
      expect(help.replace(/\s+/g, " ")).toContain(flag.meaning.replace(/\s+/g, " "))
    }
    expect(help).toContain("--help, -h")
    expect(help).toMatch(/Exit codes:\n[\s\S]* 64 /)
    for (const line of help.split("\n")) expect(line.length, line).toBeLessThanOrEqual(80)
  })

  it.each(["run", "render", "config", "check"])("%s reads the whole table: every variable, its default and meaning", (name) => {
    const help = commandHelp(COMMANDS.find((c) => c.spec.name === name)!.spec)
    const flat = help.replace(/\s+/g, " ")
    for (const v of VARIABLES) {
      expect(help).toContain(`\n  ${v.name} (${v.default.startsWith("required") ? "" : "default: "}${v.default})\n`)
      expect(flat).toContain(v.meaning.replace(/\s+/g, " "))
    }
  })

  it("healthcheck lists the two variables it reads, and only those", () => {
    const help = commandHelp(COMMANDS.find((c) => c.spec.name === "healthcheck")!.spec)
    expect(help).toContain("\n  HEALTH_ADDRESS (default: 127.0.0.1)\n")
    expect(help).toContain("\n  HEALTH_PORT (default: 3000)\n")
    for (const v of VARIABLES.filter((v) => !v.name.startsWith("HEALTH_"))) expect(help).not.toContain(`\n  ${v.name} (`)
  })

  it.each(["mock-cloudmap", "version"])("%s reads no variable and says so", (name) => {
    expect(commandHelp(COMMANDS.find((c) => c.spec.name === name)!.spec)).toContain("Environment variables: none\n")
  })

  it("--help is found among other flags, and a bad flag is an error before it", () => {
    const spec = COMMANDS.find((c) => c.spec.name === "render")!.spec
    expect(Result.getOrThrow(invocation(spec, ["--out", "x", "--help"]))._tag).toBe("Help")
    expect(Result.getOrThrow(invocation(spec, ["--out", "x"]))).toMatchObject({ _tag: "Run" })
    const bad = invocation(spec, ["--outt", "x"])
    expect(Result.isFailure(bad) && bad.failure.message).toBe(
      'cloudmap-haproxy render: unknown flag "--outt": did you mean "--out"?\nusage: cloudmap-haproxy render [--out DIR] [--help]'
    )
  })

  it("the program's help lists every command", () => {
    const help = programHelp("1.2.3", COMMANDS.map((c) => c.spec), "run")
    for (const c of COMMANDS) expect(help).toContain(`\n  ${c.spec.name.padEnd(17)}${c.spec.name === "run" ? "(default) " : ""}${c.spec.summary}\n`)
  })
})

describe("resolveCommand", () => {
  it("names a command, defaults to run, and sends flags without a command to run", () => {
    expect(resolveCommand([])).toMatchObject({ _tag: "Command", command: { spec: { name: "run" } }, argv: [] })
    expect(resolveCommand(["check", "--help"])).toMatchObject({ _tag: "Command", command: { spec: { name: "check" } }, argv: ["--help"] })
    expect(resolveCommand(["--bogus"])).toMatchObject({ _tag: "Command", command: { spec: { name: "run" } }, argv: ["--bogus"] })
    expect(resolveCommand(["help", "config"])).toMatchObject({ _tag: "Command", command: { spec: { name: "config" } }, argv: ["--help"] })
    expect(resolveCommand(["--help"])._tag).toBe("Help")
    expect(resolveCommand(["-v"])._tag).toBe("Version")
  })

  it("an unknown command is a usage error naming the closest command", () => {
    const r = resolveCommand(["chekc"])
    if (r._tag !== "Unknown") return expect.unreachable()
    expect(r.error.exitCode).toBe(64)
    expect(r.error.message.split("\n")[0]).toBe('unknown command "chekc": did you mean "check"?')
    const far = resolveCommand(["deploy"])
    if (far._tag !== "Unknown") return expect.unreachable()
    expect(far.error.message).toBe(
      'unknown command "deploy"\ncommands: run, render, config, check, mock-cloudmap, healthcheck, version (cloudmap-haproxy --help)'
    )
  })
})
