/**
 * `cloudmap-haproxy mock-cloudmap [--port N] [--host H] [--fixture FILE] [--seed N] [--log-requests]`
 * Starts the mock Cloud Map (src/mock/server.ts), prints one JSON line
 * `{"level":"INFO","message":"mock Cloud Map listening","url":...}` on stdout and runs until
 * interrupted (the caller handles SIGINT/SIGTERM by interrupting the effect).
 */
import { Console, Effect, Schema } from "effect"
import { demoFixture, type FixtureError, loadFixture } from "./fixture.ts"
import { mockCloudMapResource, type MockStartError } from "./server.ts"

export const MOCK_USAGE = `usage: cloudmap-haproxy mock-cloudmap [--port N] [--host H] [--fixture FILE] [--seed N] [--log-requests]

Serves the AWS Cloud Map API (awsJson1_1) on http://HOST:PORT, seeded from a fixture, until interrupted.
Point the SDK or the aws CLI at it (aws ... --endpoint-url http://127.0.0.1:PORT; SDK clients
need disableHostPrefix: true). Fault injection and state: /_mock/* (see docs/mock-cloudmap.md).

options:
  --port N          port to listen on (default 0 = a free port; the URL is logged)
  --host H          address to bind (default 127.0.0.1)
  --fixture FILE    JSON fixture (default: built-in sample = fixtures/demo.json: namespace "apps",
                    services web, api, _admin._tcp on 127.0.0.1:9001-9005)
  --seed N          seed for DiscoverInstances' random order and probabilistic faults
  --log-requests    one JSON line per API request on stdout
  --help            this text
`

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
  readonly logRequests: boolean
}

const usageError = (message: string) => new MockCommandError({ message: `${message}\n\n${MOCK_USAGE}`, exitCode: 64 })

const intFlag = (name: string, raw: string, min: number, max: number): number => {
  const n = /^-?\d+$/.test(raw) ? Number(raw) : Number.NaN
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw usageError(`--${name} must be an integer between ${min} and ${max}, got "${raw}"`)
  }
  return n
}

/** Parses the subcommand's arguments (throws MockCommandError on a usage error). */
export const parseMockArgs = (argv: ReadonlyArray<string>): MockCommandArgs => {
  let help = false
  let port = 0
  let host = "127.0.0.1"
  let fixture: string | undefined
  let seed: number | undefined
  let logRequests = false
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1
    const name = eq === -1 ? arg : arg.slice(0, eq)
    const value = (): string => {
      if (eq !== -1) return arg.slice(eq + 1)
      const next = argv[i + 1]
      if (next === undefined) throw usageError(`${name} needs a value`)
      i++
      return next
    }
    switch (name) {
      case "--help":
      case "-h":
        help = true
        break
      case "--port":
        port = intFlag("port", value(), 0, 65535)
        break
      case "--host": {
        host = value()
        if (host === "") throw usageError("--host must not be empty")
        break
      }
      case "--fixture":
        fixture = value()
        break
      case "--seed":
        seed = intFlag("seed", value(), 0, 2 ** 32 - 1)
        break
      case "--log-requests":
        logRequests = true
        break
      default:
        throw usageError(`unknown argument "${arg}"`)
    }
  }
  return { help, port, host, fixture, seed, logRequests }
}

/** The `mock-cloudmap` subcommand. Completes only for `--help`; otherwise runs until interrupted. */
export const runMockCloudMap = (
  argv: ReadonlyArray<string>
): Effect.Effect<void, MockCommandError | FixtureError | MockStartError> =>
  Effect.gen(function*() {
    const args = yield* Effect.try({
      try: () => parseMockArgs(argv),
      catch: (e) => e instanceof MockCommandError ? e : usageError(String(e))
    })
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
          logRequests: args.logRequests,
          log: (line) => console.log(line)
        })
        console.log(JSON.stringify({
          level: "INFO",
          message: "mock Cloud Map listening",
          url,
          port,
          fixture: args.fixture ?? "(built-in demo)",
          namespaces: fixture.namespaces.length,
          services: fixture.namespaces.reduce((n, ns) => n + (ns.services?.length ?? 0), 0)
        }))
        stopLine = JSON.stringify({ level: "INFO", message: "mock Cloud Map stopped", url })
        return yield* Effect.never
      })
    )
  })
