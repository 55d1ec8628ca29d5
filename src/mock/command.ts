/**
 * `cloudmap-haproxy mock-cloudmap [--port N] [--host H] [--fixture FILE] [--seed N] [--zone AZ]
 *   [--operation-delay-ms N] [--operation-retention-ms N] [--operation-targets service|instance]
 *   [--update-date-unit seconds|milliseconds] [--operation-scan retained|updateDate] [--foreign-churn N]
 *   [--log-requests]`
 * Starts the mock Cloud Map (src/mock/server.ts) and its ECS task metadata stub, prints one JSON line
 * `{"level":"INFO","message":"mock Cloud Map listening","url":...}` on stdout and runs until
 * interrupted (the caller handles SIGINT/SIGTERM by interrupting the effect).
 */
import { Console, Effect, Result, Schema } from "effect"
import { HELP_FLAG, parseFlags } from "../config/flags.ts"
import { type CommandSpec, commandHelp, usageLine } from "../config/help.ts"
import { type FeedReadings, OPERATION_SCANS, OPERATION_TARGETS_READINGS, UPDATE_DATE_UNITS } from "./feed-readings.ts"
import { demoFixture, type FixtureError, loadFixture } from "./fixture.ts"
import { mockCloudMapResource, type MockStartError } from "./server.ts"
import { TASK_METADATA_PREFIX } from "./task-metadata.ts"

export const MOCK_CLOUDMAP: CommandSpec = {
  name: "mock-cloudmap",
  summary: "a local Cloud Map API from a fixture (demo, tests)",
  description: [
    "Serves the AWS Cloud Map API (awsJson1_1) on http://HOST:PORT, seeded from a fixture, until interrupted. Point the SDK or the aws CLI at it (aws ... --endpoint-url http://127.0.0.1:PORT; SDK clients need disableHostPrefix: true). Fault injection and state: /_mock/* (see docs/mock-cloudmap.md).",
    "ECS task metadata stub: GET /task-metadata/task, with the zone of --zone (ECS_CONTAINER_METADATA_URI_V4=http://HOST:PORT/task-metadata)."
  ],
  flags: [
    { name: "port", value: "N", meaning: "port to listen on (default 0 = a free port; the URL is logged)" },
    { name: "host", value: "H", meaning: "address to bind (default 127.0.0.1)" },
    {
      name: "fixture",
      value: "FILE",
      meaning: "JSON fixture (default: built-in sample = fixtures/demo.json: namespace \"apps\", services web, api, _admin._tcp on 127.0.0.1:9001-9005)"
    },
    { name: "seed", value: "N", meaning: "seed for DiscoverInstances' random order and probabilistic faults" },
    { name: "zone", value: "AZ", meaning: "AvailabilityZone of the task metadata stub (default: the fixture's region + \"a\", e.g. us-east-1a)" },
    {
      name: "operation-delay-ms",
      value: "N",
      meaning: "RegisterInstance/DeregisterInstance operations report SUBMITTED, then PENDING from half of N on, then SUCCESS after N ms (default 0: SUCCESS at once; the change itself is immediate)"
    },
    { name: "operation-retention-ms", value: "N", meaning: "operations older than N ms are gone from ListOperations and GetOperation (default 90 days)" },
    {
      name: "operation-targets",
      value: "service|instance",
      meaning: "what GetOperation's Targets carry for an instance operation: INSTANCE and SERVICE (service, default) or INSTANCE only (instance); AWS publishes neither"
    },
    {
      name: "update-date-unit",
      value: "seconds|milliseconds",
      meaning: "how ListOperations reads the UPDATE_DATE filter's values (default seconds; AWS publishes no unit)"
    },
    {
      name: "operation-scan",
      value: "retained|updateDate",
      meaning: "what ListOperations pages through before it filters: every retained operation (retained, default) or those from the UPDATE_DATE filter's start on (updateDate)"
    },
    { name: "foreign-churn", value: "N", meaning: "register and deregister N instances per second in a namespace of the mock's own (foreign-churn), as another team would (default 0)" },
    { name: "log-requests", meaning: "one JSON line per API request on stdout" },
    HELP_FLAG
  ],
  variables: [],
  exitCodes: [[0, "interrupted (SIGINT/SIGTERM) after serving"], [1, "the fixture could not be read or the port not bound"]]
}

export const MOCK_USAGE = commandHelp(MOCK_CLOUDMAP)

export class MockCommandError extends Schema.TaggedError<MockCommandError>()("MockCommandError", {
  message: Schema.String,
  /** 64 = usage error (EX_USAGE) */
  exitCode: Schema.Number
}) {}

export interface MockCommandArgs {
  readonly help: boolean
  readonly port: number
  readonly host: string
  readonly fixture: string | undefined
  readonly seed: number | undefined
  readonly zone: string | undefined
  readonly operationDelayMs: number | undefined
  readonly operationRetentionMs: number | undefined
  readonly feedReadings: FeedReadings
  readonly foreignChurn: number | undefined
  readonly logRequests: boolean
}

const usageError = (message: string) => new MockCommandError({ message: `${message}\n${usageLine(MOCK_CLOUDMAP)}`, exitCode: 64 })

const ZONE_NAME = /^[a-z0-9-]{1,64}$/

const intFlag = (name: string, raw: string, min: number, max: number): Result.Result<number, MockCommandError> => {
  const n = /^-?\d+$/.test(raw) ? Number(raw) : Number.NaN
  return Number.isSafeInteger(n) && n >= min && n <= max
    ? Result.succeed(n)
    : Result.fail(usageError(`--${name} must be an integer between ${min} and ${max}, got "${raw}"`))
}

const oneOf = <A extends string>(name: string, raw: string | undefined, values: ReadonlyArray<A>, fallback: A): Result.Result<A, MockCommandError> =>
  raw === undefined
    ? Result.succeed(fallback)
    : (values as ReadonlyArray<string>).includes(raw)
    ? Result.succeed(raw as A)
    : Result.fail(usageError(`--${name} must be one of ${values.join(", ")}, got "${raw}"`))

const optionalInt = (raw: string | undefined, name: string, min: number, max: number) =>
  raw === undefined ? Result.succeed(undefined) : intFlag(name, raw, min, max)

/** Reads the subcommand's arguments (flags parsed by config/flags.ts). */
export const decodeMockArgs = (argv: ReadonlyArray<string>): Result.Result<MockCommandArgs, MockCommandError> =>
  Result.gen(function*() {
    const { flags, switches } = yield* Result.mapError(parseFlags(argv, MOCK_CLOUDMAP.flags), (e) => usageError(e.message))
    const host = flags.get("host") ?? "127.0.0.1"
    if (host === "") return yield* Result.fail(usageError("--host must not be empty"))
    const zone = flags.get("zone")
    if (zone !== undefined && !ZONE_NAME.test(zone)) {
      return yield* Result.fail(
        usageError(`--zone must be an availability zone name such as us-east-1a (lowercase letters, digits, -), got "${zone}"`)
      )
    }
    return {
      help: switches.has("help"),
      port: (yield* optionalInt(flags.get("port"), "port", 0, 65535)) ?? 0,
      host,
      fixture: flags.get("fixture"),
      seed: yield* optionalInt(flags.get("seed"), "seed", 0, 2 ** 32 - 1),
      zone,
      operationDelayMs: yield* optionalInt(flags.get("operation-delay-ms"), "operation-delay-ms", 0, 3_600_000),
      operationRetentionMs: yield* optionalInt(flags.get("operation-retention-ms"), "operation-retention-ms", 0, 2 ** 40),
      feedReadings: {
        operationTargets: yield* oneOf("operation-targets", flags.get("operation-targets"), OPERATION_TARGETS_READINGS, "service"),
        updateDateUnit: yield* oneOf("update-date-unit", flags.get("update-date-unit"), UPDATE_DATE_UNITS, "seconds"),
        operationScan: yield* oneOf("operation-scan", flags.get("operation-scan"), OPERATION_SCANS, "retained")
      },
      foreignChurn: yield* optionalInt(flags.get("foreign-churn"), "foreign-churn", 0, 1_000),
      logRequests: switches.has("log-requests")
    }
  })

/** Parses the subcommand's arguments (throws MockCommandError on a usage error). */
export const parseMockArgs = (argv: ReadonlyArray<string>): MockCommandArgs => {
  const args = decodeMockArgs(argv)
  if (Result.isFailure(args)) throw args.failure
  return args.success
}

/** The `mock-cloudmap` subcommand. Completes only for `--help`; otherwise runs until interrupted. */
export const runMockCloudMap = (
  argv: ReadonlyArray<string>
): Effect.Effect<void, MockCommandError | FixtureError | MockStartError> =>
  Effect.gen(function*() {
    const args = yield* Effect.fromResult(decodeMockArgs(argv))
    const console = yield* Console.Console
    if (args.help) {
      console.log(MOCK_USAGE.trimEnd())
      return
    }
    const fixture = args.fixture === undefined ? demoFixture : yield* loadFixture(args.fixture)
    yield* Effect.scoped(
      Effect.gen(function*() {
        let stopLine: string | undefined
        yield* Effect.addFinalizer(() => Effect.sync(() => stopLine !== undefined && console.log(stopLine)))
        const { url, port } = yield* mockCloudMapResource({
          port: args.port,
          host: args.host,
          fixture,
          ...(args.seed === undefined ? {} : { seed: args.seed }),
          ...(args.zone === undefined ? {} : { zone: args.zone }),
          ...(args.operationDelayMs === undefined ? {} : { operationDelayMs: args.operationDelayMs }),
          ...(args.operationRetentionMs === undefined ? {} : { operationRetentionMs: args.operationRetentionMs }),
          feedReadings: args.feedReadings,
          ...(args.foreignChurn === undefined ? {} : { foreignChurn: args.foreignChurn }),
          logRequests: args.logRequests,
          log: (line) => console.log(line)
        })
        console.log(JSON.stringify({
          level: "INFO",
          message: "mock Cloud Map listening",
          url,
          port,
          taskMetadata: url + TASK_METADATA_PREFIX,
          fixture: args.fixture ?? "(built-in demo)",
          namespaces: fixture.namespaces.length,
          services: fixture.namespaces.reduce((n, ns) => n + (ns.services?.length ?? 0), 0)
        }))
        stopLine = JSON.stringify({ level: "INFO", message: "mock Cloud Map stopped", url })
        return yield* Effect.never
      })
    )
  })
