/**
 * `cloudmap-haproxy config [--json]`: the configuration in effect. Every variable of the table
 * with its value (secrets as `<redacted>`) and whether it is the default or set; an invalid
 * variable is reported as `run` reports it (exit 78).
 */
import process from "node:process"
import { Effect, Result } from "effect"
import { effectiveConfig, effectiveJson, formatEffective } from "../config/effective.ts"
import { HELP_FLAG } from "../config/flags.ts"
import type { CommandSpec } from "../config/help.ts"
import { rejectEnvironment } from "../config/load.ts"
import { withFlags } from "./cli.ts"

export const CONFIG: CommandSpec = {
  name: "config",
  summary: "print the configuration in effect (--json for machines)",
  description: [
    "Prints every variable the agent reads with the value it would use (secrets as <redacted>) and where it comes from: (default), (set), (set as ALIAS) or (not used, e.g. a password of a page that is off). Invalid variables are reported as `run` reports them."
  ],
  flags: [{ name: "json", meaning: "print JSON: {\"variables\": [{\"name\", \"value\", \"default\", \"used\"}]}" }, HELP_FLAG],
  variables: "all",
  exitCodes: [[0, "printed"], [78, "an invalid variable (each is reported)"]]
}

export const configCommand = (argv: ReadonlyArray<string>) =>
  withFlags(CONFIG, argv, (args) =>
    Effect.suspend(() => {
      const entries = effectiveConfig(process.env)
      if (Result.isFailure(entries)) return rejectEnvironment(entries.failure)
      const text = args.switches.has("json") ? effectiveJson(entries.success) : formatEffective(entries.success)
      return Effect.sync(() => (process.stdout.write(text), 0))
    }))
