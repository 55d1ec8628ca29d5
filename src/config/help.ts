/**
 * A command as a table entry: its name, what it does, its flags and the environment variables it
 * reads. `--help` of every command is printed from it, with the flags from the same table the
 * command parses (./flags.ts) and the variables from the same table that reads them
 * (./variables.ts through ./variables-doc.ts). Pure.
 */
import { Result } from "effect"
import { EXIT_USAGE, FlagError, flagsHelp, flagsSynopsis, type FlagTable, type ParsedArgs, parseFlags, wrapWords } from "./flags.ts"
import { variablesHelp } from "./variables-doc.ts"
import type { Variables } from "./variables.ts"

export const PROGRAM = "cloudmap-haproxy"

export interface CommandSpec {
  readonly name: string
  /** One line for the list of commands. */
  readonly summary: string
  /** What it does, in paragraphs (wrapped for the terminal). */
  readonly description: ReadonlyArray<string>
  readonly flags: FlagTable
  /** The variables it reads: every one of the table, or these. */
  readonly variables: "all" | ReadonlyArray<keyof Variables>
  /** `code meaning` lines. */
  readonly exitCodes: ReadonlyArray<readonly [number, string]>
}

const USAGE_EXIT = [EXIT_USAGE, "an unknown flag or argument, or a flag without its value"] as const

/** `usage: cloudmap-haproxy render [--out DIR] [--help]`, flags wrapped under the first one. */
export const usageLine = (spec: CommandSpec, width = 80): string => {
  const head = `usage: ${PROGRAM} ${spec.name} `
  const [first = "", ...parts] = flagsSynopsis(spec.flags).split(/ (?=\[)/)
  const lines: Array<string> = []
  let line = head + first
  for (const part of parts) {
    if (line.length + 1 + part.length > width) {
      lines.push(line)
      line = " ".repeat(head.length) + part
    } else {
      line = `${line} ${part}`
    }
  }
  return [...lines, line].join("\n")
}

const exitCodeLines = ([code, meaning]: readonly [number, string], width: number): Array<string> =>
  wrapWords(meaning, width - 7).map((l, i) => `${i === 0 ? String(code).padStart(5) : "     "}  ${l}`)

/** The whole `--help` of a command. */
export const commandHelp = (spec: CommandSpec, width = 80): string =>
  [
    `${usageLine(spec, width)}\n`,
    ...spec.description.map((p) => `${wrapWords(p, width).join("\n")}\n`),
    flagsHelp(spec.flags, width),
    variablesHelp(width, spec.variables === "all" ? undefined : spec.variables),
    `Exit codes:\n${[...spec.exitCodes, USAGE_EXIT].flatMap((e) => exitCodeLines(e, width)).join("\n")}\n`
  ].join("\n")

/** The top-level help: the commands and how to get each one's help. */
export const programHelp = (version: string, commands: ReadonlyArray<CommandSpec>, defaultCommand: string): string => {
  const column = Math.max(...commands.map((c) => c.name.length)) + 4
  return [
    `${PROGRAM} ${version} — AWS Cloud Map → HAProxy routing`,
    "",
    `usage: ${PROGRAM} [command] [flags]`,
    "",
    "Commands:",
    ...commands.map((c) => `  ${c.name.padEnd(column)}${c.name === defaultCommand ? "(default) " : ""}${c.summary}`),
    "",
    `${PROGRAM} <command> --help lists the command's flags and the environment variables it reads.`,
    "Unknown commands and flags are errors (exit 64)."
  ].join("\n") + "\n"
}

/** What a command line asks for: the command's help, or running it with these arguments. */
export type Invocation =
  | { readonly _tag: "Help" }
  | { readonly _tag: "Run"; readonly args: ParsedArgs }

/** The arguments of a command against its flag table (`--help` anywhere asks for its help). */
export const invocation = (
  spec: CommandSpec,
  argv: ReadonlyArray<string>,
  options: { readonly positional?: boolean } = {}
): Result.Result<Invocation, FlagError> => {
  const parsed = parseFlags(argv, spec.flags, options)
  if (Result.isFailure(parsed)) {
    const e = parsed.failure
    return Result.fail(new FlagError({ argument: e.argument, message: `${PROGRAM} ${spec.name}: ${e.message}\n${usageLine(spec)}` }))
  }
  return Result.succeed(parsed.success.switches.has("help") ? { _tag: "Help" } : { _tag: "Run", args: parsed.success })
}
