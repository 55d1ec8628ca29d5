/**
 * `cloudmap-haproxy check`: a preflight for CI/CD and first runs. One line per item — the
 * variables, AWS credentials, each mapped namespace, each IAM action the agent needs (a real
 * call each), HAProxy, CONFIG_DIR, the two ports — with the fix for each failure. Exit 0 only
 * when every item passed (skipped ones count as passed: there was nothing to try them on).
 */
import process from "node:process"
import { Effect, Result } from "effect"
import { cloudMapLayer } from "../cloudmap/layer.ts"
import { EXIT_CONFIG, formatConfigProblems, readAgentConfig } from "../config/agent-config.ts"
import { HELP_FLAG } from "../config/flags.ts"
import type { CommandSpec } from "../config/help.ts"
import { cloudMapChecks } from "./check-cloudmap.ts"
import { localChecks } from "./check-local.ts"
import { checkExitCode, formatLine, pass, summary } from "./check-report.ts"
import { withFlags } from "./cli.ts"

export const CHECK: CommandSpec = {
  name: "check",
  summary: "preflight: credentials, namespaces, IAM, HAProxy, dir, ports",
  description: [
    "Checks what the agent needs, one line per item (✓ passed, ✗ failed with the fix, - skipped with the reason): the variables; AWS credentials (the SDK's default chain); each namespace of NAMESPACE_MAP exists; each IAM action is allowed, by a real call each (ListNamespaces, ListServices, then DiscoverInstances, DiscoverInstancesRevision and GetServiceAttributes on the first service of a mapped namespace; the change feed's ListOperations and GetOperation, skipped when CHANGE_FEED=false); HAPROXY_BIN runs and is HAProxy 2.6 or later; CONFIG_DIR can be written (a probe file is created and removed; a missing directory is not created); LISTEN_PORT and HEALTH_PORT are free on their addresses. Changes nothing."
  ],
  flags: [HELP_FLAG],
  variables: "all",
  exitCodes: [[0, "every item passed"], [1, "an item failed"], [78, "an invalid variable (each is reported)"]]
}

export const checkCommand = (argv: ReadonlyArray<string>) =>
  withFlags(CHECK, argv, () =>
    Effect.gen(function*() {
      const print = (line: string) => Effect.sync(() => process.stdout.write(`${line}\n`))
      const read = readAgentConfig(process.env)
      if (Result.isFailure(read)) {
        // The report is the output: each problem once, as one of its lines.
        for (const problem of formatConfigProblems(read.failure).split("\n")) yield* print(`✗ ${problem}`)
        return EXIT_CONFIG
      }
      const config = read.success
      const first = pass("variables valid", `${config.namespaces.length} mapped namespace${config.namespaces.length === 1 ? "" : "s"} in ${config.region}`)
      yield* print(formatLine(first))
      const remote = yield* cloudMapChecks(config).pipe(Effect.provide(cloudMapLayer(config)))
      for (const line of remote) yield* print(formatLine(line))
      const local = yield* localChecks(config)
      for (const line of local) yield* print(formatLine(line))
      const all = [first, ...remote, ...local]
      yield* print(summary(all))
      return checkExitCode(all)
    }))
