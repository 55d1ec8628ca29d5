#!/usr/bin/env -S bun
/**
 * cloudmap-haproxy: AWS Cloud Map → HAProxy routing.
 * The commands and their help are a table (src/commands/dispatch.ts); this file only runs the one
 * the command line names and turns its outcome into an exit code: a failure's `exitCode`
 * (64 usage, 78 configuration) and its message on stderr.
 */
import process from "node:process"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Cause, Effect, Exit } from "effect"
import { dispatch } from "./commands/dispatch.ts"
import { logLevelOf } from "./config/agent-config.ts"
import { loggerLayer } from "./observability/logger.ts"

NodeRuntime.runMain(dispatch(process.argv.slice(2)).pipe(Effect.provide(loggerLayer(logLevelOf(process.env)))), {
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
