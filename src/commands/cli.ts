/**
 * What every subcommand does with its command line first: `--help` prints its help (from its
 * table, ../config/help.ts) and exits 0; an unknown or misused flag fails with a FlagError
 * (exit 64, printed by main.ts); otherwise the command runs with its parsed arguments.
 */
import process from "node:process"
import { Effect } from "effect"
import type { FlagError, ParsedArgs } from "../config/flags.ts"
import { type CommandSpec, commandHelp, invocation } from "../config/help.ts"

export const withFlags = <E, R>(
  spec: CommandSpec,
  argv: ReadonlyArray<string>,
  body: (args: ParsedArgs) => Effect.Effect<number, E, R>
): Effect.Effect<number, E | FlagError, R> =>
  Effect.suspend((): Effect.Effect<number, E | FlagError, R> => {
    const parsed = invocation(spec, argv)
    if (parsed._tag === "Failure") return Effect.fail(parsed.failure)
    if (parsed.success._tag === "Help") return Effect.sync(() => (process.stdout.write(commandHelp(spec)), 0))
    return body(parsed.success.args)
  })
