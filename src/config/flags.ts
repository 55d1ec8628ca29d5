/** Minimal `--flag value` / `--flag=value` / `--switch` parsing for the subcommands. */
export interface ParsedArgs {
  readonly flags: ReadonlyMap<string, string>
  readonly switches: ReadonlySet<string>
  readonly positional: ReadonlyArray<string>
}

export const parseArgs = (argv: ReadonlyArray<string>, valueFlags: ReadonlyArray<string>): ParsedArgs => {
  const flags = new Map<string, string>()
  const switches = new Set<string>()
  const positional: Array<string> = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (!arg.startsWith("--")) {
      positional.push(arg)
      continue
    }
    const eq = arg.indexOf("=")
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq)
    if (eq !== -1) flags.set(name, arg.slice(eq + 1))
    else if (valueFlags.includes(name) && i + 1 < argv.length) flags.set(name, argv[++i]!)
    else switches.add(name)
  }
  return { flags, switches, positional }
}
