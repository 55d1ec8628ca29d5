/**
 * The command-line parser of the subcommands: `--flag value`, `--flag=value`, `--switch` and
 * positional arguments. A flag that takes a value takes the next argument whatever it is.
 *
 * - `parseFlags(argv, spec)` is strict: every flag must be declared, a value flag needs a value,
 *   a switch takes none, and positional arguments are refused unless the spec allows them.
 *   Problems are a `FlagError` naming the argument.
 * - `parseArgs(argv, valueFlags)` is lenient: an undeclared `--name` (or a value flag at the end
 *   of the line) is a switch, and anything not starting with `--` is positional.
 */
import { Result, Schema } from "effect"

export interface ParsedArgs {
  readonly flags: ReadonlyMap<string, string>
  readonly switches: ReadonlySet<string>
  readonly positional: ReadonlyArray<string>
}

export interface FlagSpec {
  /** Flags that take a value (names without `--`). */
  readonly values: ReadonlyArray<string>
  /** Flags that take none. */
  readonly switches: ReadonlyArray<string>
  /** Other spellings, e.g. `{ "-h": "help" }`. */
  readonly aliases?: Readonly<Record<string, string>>
  /** Accept positional arguments (default: refused). */
  readonly positional?: boolean
}

export class FlagError extends Schema.TaggedError<FlagError>()("FlagError", {
  message: Schema.String,
  /** The offending argument as given. */
  argument: Schema.String
}) {}

const scan = (argv: ReadonlyArray<string>, spec: FlagSpec, strict: boolean): Result.Result<ParsedArgs, FlagError> => {
  const flags = new Map<string, string>()
  const switches = new Set<string>()
  const positional: Array<string> = []
  const refuse = (argument: string, message: string) => Result.fail(new FlagError({ argument, message }))
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    const alias = spec.aliases !== undefined && Object.hasOwn(spec.aliases, arg) ? spec.aliases[arg] : undefined
    if (alias === undefined && !arg.startsWith("--")) {
      if (strict && spec.positional !== true) return refuse(arg, `unknown argument "${arg}"`)
      positional.push(arg)
      continue
    }
    const eq = alias === undefined ? arg.indexOf("=") : -1
    const name = alias ?? (eq === -1 ? arg.slice(2) : arg.slice(2, eq))
    const takesValue = spec.values.includes(name)
    if (strict && !takesValue && !spec.switches.includes(name)) return refuse(arg, `unknown argument "${arg}"`)
    if (eq !== -1) {
      if (strict && !takesValue) return refuse(arg, `--${name} takes no value`)
      flags.set(name, arg.slice(eq + 1))
    } else if (takesValue && i + 1 < argv.length) {
      flags.set(name, argv[++i]!)
    } else if (takesValue && strict) {
      return refuse(arg, `--${name} needs a value`)
    } else {
      switches.add(name)
    }
  }
  return Result.succeed({ flags, switches, positional })
}

/** Strict parsing against a declared set of flags. */
export const parseFlags = (argv: ReadonlyArray<string>, spec: FlagSpec): Result.Result<ParsedArgs, FlagError> =>
  scan(argv, spec, true)

/** Lenient parsing: `valueFlags` take a value, every other `--name` is a switch. */
export const parseArgs = (argv: ReadonlyArray<string>, valueFlags: ReadonlyArray<string>): ParsedArgs => {
  const parsed = scan(argv, { values: valueFlags, switches: [], positional: true }, false)
  // The lenient scan never refuses an argument.
  return Result.getOrThrow(parsed)
}
