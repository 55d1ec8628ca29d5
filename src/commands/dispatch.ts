/**
 * The commands, as a table: each one's spec (its help, ../config/help.ts) and how it runs. The
 * first argument names the command (`run` when there is none, or when it is a flag of `run`);
 * an unknown command is a usage error (exit 64) naming the closest command.
 */
import process from "node:process"
import { Effect, Schema } from "effect"
import { EXIT_USAGE } from "../config/flags.ts"
import { type CommandSpec, PROGRAM, programHelp } from "../config/help.ts"
import { closest } from "../model/closest.ts"
import { MOCK_CLOUDMAP, runMockCloudMap } from "../mock/command.ts"
import { VERSION } from "../version.ts"
import { CHECK, checkCommand } from "./check.ts"
import { CONFIG, configCommand } from "./config.ts"
import { HEALTHCHECK, healthcheckCommand } from "./healthcheck.ts"
import { RENDER, renderCommand } from "./render.ts"
import { RUN, runCommand } from "./run.ts"
import { VERSION_COMMAND, versionCommand } from "./version.ts"

export interface Command {
  readonly spec: CommandSpec
  readonly run: (argv: ReadonlyArray<string>) => Effect.Effect<number, unknown>
}

export const COMMANDS: ReadonlyArray<Command> = [
  { spec: RUN, run: runCommand },
  { spec: RENDER, run: renderCommand },
  { spec: CONFIG, run: configCommand },
  { spec: CHECK, run: checkCommand },
  { spec: MOCK_CLOUDMAP, run: (argv) => Effect.as(runMockCloudMap(argv), 0) },
  { spec: HEALTHCHECK, run: healthcheckCommand },
  { spec: VERSION_COMMAND, run: versionCommand }
]

export class UnknownCommand extends Schema.TaggedError<UnknownCommand>()("UnknownCommand", {
  message: Schema.String,
  command: Schema.String
}) {
  readonly exitCode = EXIT_USAGE
}

/** What the command line asks for. Pure. */
export type Resolved =
  | { readonly _tag: "Command"; readonly command: Command; readonly argv: ReadonlyArray<string> }
  | { readonly _tag: "Help" }
  | { readonly _tag: "Version" }
  | { readonly _tag: "Unknown"; readonly error: UnknownCommand }

export const resolveCommand = (argv: ReadonlyArray<string>): Resolved => {
  const [first, ...rest] = argv
  if (first === "help" || first === "--help" || first === "-h") {
    // `help render` is `render --help`.
    const named = COMMANDS.find((c) => c.spec.name === rest[0])
    return named === undefined ? { _tag: "Help" } : { _tag: "Command", command: named, argv: ["--help"] }
  }
  if (first === "--version" || first === "-v") return { _tag: "Version" }
  // No command, or flags straight away: the default command, whose parser judges the flags.
  if (first === undefined || first.startsWith("-")) return { _tag: "Command", command: COMMANDS[0]!, argv }
  const command = COMMANDS.find((c) => c.spec.name === first)
  if (command !== undefined) return { _tag: "Command", command, argv: rest }
  const near = closest(first, COMMANDS.map((c) => c.spec.name))
  return {
    _tag: "Unknown",
    error: new UnknownCommand({
      command: first,
      message: `unknown command "${first}"${near === undefined ? "" : `: did you mean "${near}"?`}\n` +
        `commands: ${COMMANDS.map((c) => c.spec.name).join(", ")} (${PROGRAM} --help)`
    })
  }
}

export const dispatch = (argv: ReadonlyArray<string>): Effect.Effect<number, unknown> => {
  const resolved = resolveCommand(argv)
  switch (resolved._tag) {
    case "Command":
      return resolved.command.run(resolved.argv)
    case "Help":
      return Effect.sync(() => (process.stdout.write(programHelp(VERSION, COMMANDS.map((c) => c.spec), RUN.name)), 0))
    case "Version":
      return Effect.sync(() => (process.stdout.write(`${VERSION}\n`), 0))
    case "Unknown":
      return Effect.fail(resolved.error)
  }
}
