/**
 * The command-line flags of a subcommand, as a table: each flag once (its name, the value it
 * takes, its meaning), from which the parser and the `--help` text are both made.
 *
 * `parseFlags(argv, table)` is strict: every flag must be in the table, a flag that takes a value
 * needs one (`--flag value` or `--flag=value`; the next argument is taken whatever it is), a
 * switch takes none, and positional arguments are refused unless allowed. A problem is a
 * `FlagError` (exit 64, EX_USAGE) naming the argument and, for an unknown flag, the closest
 * known one. Pure.
 */
import { Result, Schema } from "effect"
import { closest } from "../model/closest.ts"

export interface Flag {
  /** The name without `--`. */
  readonly name: string
  /** The placeholder of its value when it takes one (`--out DIR` → "DIR"); a switch has none. */
  readonly value?: string
  /** Another spelling, e.g. "-h". */
  readonly alias?: string
  readonly meaning: string
}

export type FlagTable = ReadonlyArray<Flag>

/** `--help` / `-h`, which every command has. */
export const HELP_FLAG: Flag = { name: "help", alias: "-h", meaning: "print this help and exit" }

export interface ParsedArgs {
  readonly flags: ReadonlyMap<string, string>
  readonly switches: ReadonlySet<string>
  readonly positional: ReadonlyArray<string>
}

/** Exit code for a usage error (EX_USAGE from sysexits.h). */
export const EXIT_USAGE = 64

export class FlagError extends Schema.TaggedError<FlagError>()("FlagError", {
  message: Schema.String,
  /** The offending argument as given. */
  argument: Schema.String
}) {
  readonly exitCode = EXIT_USAGE
}

/** "unknown flag "--outt": did you mean "--out"?" or, with nothing close, the known flags. */
const unknownFlag = (arg: string, name: string, table: FlagTable): string => {
  const near = closest(name, table.map((f) => f.name))
  return near !== undefined
    ? `unknown flag "${arg}": did you mean "--${near}"?`
    : `unknown flag "${arg}" (flags: ${table.map((f) => `--${f.name}`).join(", ")})`
}

/** Strict parsing against the table; `positional: true` accepts arguments that are not flags. */
export const parseFlags = (
  argv: ReadonlyArray<string>,
  table: FlagTable,
  options: { readonly positional?: boolean } = {}
): Result.Result<ParsedArgs, FlagError> => {
  const flags = new Map<string, string>()
  const switches = new Set<string>()
  const positional: Array<string> = []
  const refuse = (argument: string, message: string) => Result.fail(new FlagError({ argument, message }))
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    const aliased = table.find((f) => f.alias !== undefined && f.alias === arg)
    if (aliased === undefined && !arg.startsWith("--")) {
      if (arg.startsWith("-") && arg !== "-") return refuse(arg, unknownFlag(arg, arg.replace(/^-+/, ""), table))
      if (options.positional !== true) return refuse(arg, `unexpected argument "${arg}" (this command takes only flags)`)
      positional.push(arg)
      continue
    }
    const eq = aliased === undefined ? arg.indexOf("=") : -1
    const name = aliased?.name ?? (eq === -1 ? arg.slice(2) : arg.slice(2, eq))
    const flag = table.find((f) => f.name === name)
    if (flag === undefined) return refuse(arg, unknownFlag(arg, name, table))
    if (eq !== -1) {
      if (flag.value === undefined) return refuse(arg, `--${name} takes no value`)
      flags.set(name, arg.slice(eq + 1))
    } else if (flag.value !== undefined) {
      if (i + 1 >= argv.length) return refuse(arg, `--${name} needs a value (${flag.value})`)
      flags.set(name, argv[++i]!)
    } else {
      switches.add(name)
    }
  }
  return Result.succeed({ flags, switches, positional })
}

/** `[--out DIR] [--help]`, for a usage line. */
export const flagsSynopsis = (table: FlagTable): string =>
  table.map((f) => `[--${f.name}${f.value === undefined ? "" : ` ${f.value}`}]`).join(" ")

/** The flags for a terminal: `  --out DIR   meaning`, meanings aligned and wrapped. */
export const flagsHelp = (table: FlagTable, width = 80): string => {
  const heads = table.map((f) => `--${f.name}${f.value === undefined ? "" : ` ${f.value}`}${f.alias === undefined ? "" : `, ${f.alias}`}`)
  const column = Math.max(...heads.map((h) => h.length)) + 4
  const lines = ["Flags:"]
  table.forEach((f, i) => {
    const wrapped = wrapWords(f.meaning, Math.max(20, width - column))
    lines.push(`  ${heads[i]!.padEnd(column - 2)}${wrapped[0] ?? ""}`, ...wrapped.slice(1).map((l) => `${" ".repeat(column)}${l}`))
  })
  return lines.join("\n") + "\n"
}

/** Words of `text` in lines of at most `width` characters (a longer word gets a line of its own). */
export const wrapWords = (text: string, width: number): Array<string> => {
  const lines: Array<string> = []
  let line = ""
  for (const word of text.split(/\s+/)) {
    if (word === "") continue
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line)
      line = word
    } else {
      line = line === "" ? word : `${line} ${word}`
    }
  }
  if (line !== "") lines.push(line)
  return lines
}
