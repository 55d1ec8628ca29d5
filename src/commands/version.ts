/** `cloudmap-haproxy version`: prints the version. */
import process from "node:process"
import { Effect } from "effect"
import { HELP_FLAG } from "../config/flags.ts"
import type { CommandSpec } from "../config/help.ts"
import { VERSION } from "../version.ts"
import { withFlags } from "./cli.ts"

export const VERSION_COMMAND: CommandSpec = {
  name: "version",
  summary: "print the version (also --version, -v)",
  description: ["Prints the version of cloudmap-haproxy."],
  flags: [HELP_FLAG],
  variables: [],
  exitCodes: [[0, "printed"]]
}

export const versionCommand = (argv: ReadonlyArray<string>) =>
  withFlags(VERSION_COMMAND, argv, () => Effect.sync(() => (process.stdout.write(`${VERSION}\n`), 0)))
