/**
 * Command-line flags of the bench scripts: `--name` (a switch), `--name=value` and `--name value`.
 * Unknown flags are ignored, as they always were.
 */
export interface Args {
  /** Whether `--name` is given as a switch. */
  readonly has: (name: string) => boolean
  /** The value of `--name=value` or `--name value`; undefined when the flag is absent. */
  readonly string: (name: string) => string | undefined
  /** A non-negative number (`fallback` when absent); anything else is an error naming the flag. */
  readonly number: (name: string, fallback: number) => number
}

export const parseArgs = (argv: ReadonlyArray<string>): Args => {
  const index = (name: string) => argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`))
  const string = (name: string): string | undefined => {
    const i = index(name)
    if (i === -1) return undefined
    const arg = argv[i]!
    const eq = arg.indexOf("=")
    return eq >= 0 ? arg.slice(eq + 1) : argv[i + 1]
  }
  return {
    has: (name) => argv.includes(`--${name}`),
    string,
    number: (name, fallback) => {
      if (index(name) === -1) return fallback
      const raw = string(name)
      const n = Number(raw)
      if (!Number.isFinite(n) || n < 0) {
        throw new Error(`--${name} needs a non-negative number, got ${raw}`)
      }
      return n
    }
  }
}

/** The flags this process was started with. */
export const processArgs = (): Args => parseArgs(process.argv.slice(2))
