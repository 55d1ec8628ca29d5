#!/usr/bin/env -S bun
/**
 * cloudmap-haproxy: AWS Cloud Map → HAProxy routing.
 *   run (default)    the agent: discover, render, supervise and update HAProxy
 *   render           one discovery; print (or write) haproxy.cfg and the maps, with a summary
 *   mock-cloudmap    a local Cloud Map (awsJson1_1) seeded from a fixture, for demos and tests
 *   healthcheck      exit 0 when the agent is ready (container HEALTHCHECK)
 *   version          print the version
 */
import process from "node:process"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Cause, Effect, Exit } from "effect"
import { healthcheckCommand } from "./commands/healthcheck.ts"
import { loggerLayer } from "./observability/logger.ts"
import { renderCommand } from "./commands/render.ts"
import { runCommand } from "./commands/run.ts"
import { runMockCloudMap } from "./mock/command.ts"
import { VERSION } from "./version.ts"

const USAGE = `cloudmap-haproxy ${VERSION} — AWS Cloud Map → HAProxy routing

usage: cloudmap-haproxy [command] [--help]

commands:
  run             (default) discover services, render and apply HAProxy config, supervise HAProxy
  render          run one discovery and print haproxy.cfg + maps (--out DIR writes them)
  mock-cloudmap   serve a local Cloud Map API from a fixture (for the demo and tests)
  healthcheck     exit 0 when the agent's /readyz answers 200 (container health check)
  version         print the version

Configuration comes from environment variables; see the README.
`

const dispatch = (argv: ReadonlyArray<string>): Effect.Effect<number, unknown> => {
  const [command, ...rest] = argv
  switch (command) {
    case undefined:
    case "run":
      return runCommand(rest)
    case "render":
      return renderCommand(rest)
    case "mock-cloudmap":
      return runMockCloudMap(rest).pipe(Effect.as(0))
    case "healthcheck":
      return healthcheckCommand(rest)
    case "version":
    case "--version":
    case "-v":
      return Effect.sync(() => (process.stdout.write(`${VERSION}\n`), 0))
    case "help":
    case "--help":
    case "-h":
      return Effect.sync(() => (process.stdout.write(USAGE), 0))
    default:
      return Effect.sync(() => (process.stderr.write(`unknown command "${command}"\n\n${USAGE}`), 64))
  }
}

const level = process.env.LOG_LEVEL?.trim().toLowerCase()
const logLevel = level === "debug" || level === "warn" || level === "error" ? level : "info"

NodeRuntime.runMain(dispatch(process.argv.slice(2)).pipe(Effect.provide(loggerLayer(logLevel))), {
  disableErrorReporting: true,
  teardown: (exit, onExit) => {
    if (Exit.isSuccess(exit)) return onExit(typeof exit.value === "number" ? exit.value : 0)
    if (Cause.hasInterruptsOnly(exit.cause)) return onExit(0)
    const error = Cause.findErrorOption(exit.cause)
    const failure = error._tag === "Some" ? error.value as { exitCode?: number; message?: string } : undefined
    process.stderr.write(`${failure?.message ?? Cause.pretty(exit.cause)}\n`)
    onExit(typeof failure?.exitCode === "number" ? failure.exitCode : 1)
  }
})
