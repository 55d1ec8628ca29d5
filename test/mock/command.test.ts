/**
 * The `mock-cloudmap` subcommand and the scoped Effect resource.
 */
import { mkdtempSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DiscoverInstancesCommand, ListServicesCommand } from "@aws-sdk/client-servicediscovery"
import { assert, describe, expect, it } from "@effect/vitest"
import { Console, Effect, Exit, Fiber, Scope } from "effect"
import { MockCommandError, parseMockArgs, runMockCloudMap } from "../../src/mock/command.ts"
import { demoFixture, syntheticFixture } from "../../src/mock/fixture.ts"
import { mockCloudMapResource } from "../../src/mock/server.ts"
import { sdkClient } from "./helpers.ts"

const capture = () => {
  const lines: Array<string> = []
  const console: Console.Console = Object.assign(Object.create(globalThis.console), {
    log: (...args: ReadonlyArray<unknown>) => lines.push(args.map(String).join(" "))
  })
  return { lines, console }
}

/** true when nothing accepts connections on the URL any more. */
const refused = (url: string) =>
  Effect.promise(() => fetch(url + "/_mock/health").then(() => false, () => true))

const waitFor = <A>(f: () => A | undefined) =>
  Effect.gen(function*() {
    for (let i = 0; i < 200; i++) {
      const v = f()
      if (v !== undefined) return v
      yield* Effect.sleep("10 millis")
    }
    return yield* Effect.die(new Error("timed out waiting"))
  })

describe("mock-cloudmap command", () => {
  it("parses its flags and refuses unknown ones with exit code 64", () => {
    expect(parseMockArgs(["--port", "4000", "--host=0.0.0.0", "--fixture", "f.json", "--seed", "9", "--log-requests"])).toEqual({
      help: false,
      port: 4000,
      host: "0.0.0.0",
      fixture: "f.json",
      seed: 9,
      zone: undefined,
      operationDelayMs: undefined,
      operationRetentionMs: undefined,
      feedReadings: { operationTargets: "service", updateDateUnit: "seconds", operationScan: "retained" },
      foreignChurn: undefined,
      logRequests: true
    })
    expect(parseMockArgs(["--operation-delay-ms", "3000", "--operation-retention-ms=60000"])).toMatchObject({
      operationDelayMs: 3000,
      operationRetentionMs: 60_000
    })
    expect(parseMockArgs(["--operation-targets", "instance", "--update-date-unit=milliseconds", "--foreign-churn", "10"])).toMatchObject({
      feedReadings: { operationTargets: "instance", updateDateUnit: "milliseconds" },
      foreignChurn: 10
    })
    expect(parseMockArgs([])).toMatchObject({ port: 0, host: "127.0.0.1", fixture: undefined })
    for (const bad of [["--port", "70000"], ["--port"], ["--bogus"], ["--seed", "x"], ["--operation-delay-ms", "-1"], ["--operation-targets", "namespace"], ["--update-date-unit", "minutes"]]) {
      try {
        parseMockArgs(bad)
        expect.unreachable(`accepted ${bad.join(" ")}`)
      } catch (e) {
        expect(e).toBeInstanceOf(MockCommandError)
        expect((e as MockCommandError).exitCode).toBe(64)
      }
    }
  })

  it("reads flags with the shared parser: --flag=value, --flag value, -h, and usage errors that name the argument", () => {
    expect(parseMockArgs(["--port=0", "--seed=4294967295", "-h"])).toMatchObject({ help: true, port: 0, seed: 4294967295 })
    const usage = (argv: Array<string>) => {
      try {
        parseMockArgs(argv)
      } catch (e) {
        expect(e).toBeInstanceOf(MockCommandError)
        expect((e as MockCommandError).exitCode).toBe(64)
        return (e as MockCommandError).message.split("\n")[0]
      }
      return expect.unreachable(`accepted ${argv.join(" ")}`)
    }
    expect(usage(["--fixture"])).toBe("--fixture needs a value (FILE)")
    expect(usage(["--log-requests=yes"])).toBe("--log-requests takes no value")
    expect(usage(["fixture.json"])).toBe('unexpected argument "fixture.json" (this command takes only flags)')
    expect(usage(["--bogus=1"])).toBe('unknown flag "--bogus=1" (flags: --port, --host, --fixture, --seed, --zone, --operation-delay-ms, --operation-retention-ms, --operation-targets, --update-date-unit, --operation-scan, --foreign-churn, --log-requests, --help)')
    expect(usage(["--fixtrue", "f.json"])).toBe('unknown flag "--fixtrue": did you mean "--fixture"?')
    expect(usage(["--host="])).toBe("--host must not be empty")
    expect(usage(["--seed", "-1"])).toBe('--seed must be an integer between 0 and 4294967295, got "-1"')
  })

  it.live("--help prints the usage and completes", () =>
    Effect.gen(function*() {
      const out = capture()
      yield* runMockCloudMap(["--help"]).pipe(Effect.provideService(Console.Console, out.console))
      expect(out.lines.join("\n")).toContain("usage: cloudmap-haproxy mock-cloudmap")
      expect(out.lines.join("\n")).toContain("--fixture FILE")
    }))

  it.live("a usage error fails with MockCommandError", () =>
    Effect.gen(function*() {
      const exit = yield* runMockCloudMap(["--nope"]).pipe(Effect.exit)
      assert(Exit.isFailure(exit))
      expect(String(exit.cause)).toContain('unknown flag "--nope"')
    }))

  it.live("serves a fixture file, logs one JSON line with the URL, and stops when interrupted", () =>
    Effect.gen(function*() {
      const dir = mkdtempSync(join(tmpdir(), "mock-cloudmap-"))
      const file = join(dir, "fixture.json")
      writeFileSync(file, JSON.stringify(syntheticFixture({ namespaces: 1, servicesPerNamespace: 4, instancesPerService: 2, basePort: 21000 })))
      const out = capture()
      const fiber = yield* runMockCloudMap(["--fixture", file, "--seed", "3"]).pipe(
        Effect.provideService(Console.Console, out.console),
        Effect.forkChild
      )
      const line = yield* waitFor(() => out.lines.find((l) => l.includes("listening")))
      const logged = JSON.parse(line)
      expect(logged).toMatchObject({ level: "INFO", message: "mock Cloud Map listening", fixture: file, services: 4 })
      expect(logged.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      const client = sdkClient(logged.url, { maxAttempts: 1 })
      const services = yield* Effect.promise(() => client.send(new ListServicesCommand({})))
      expect(services.Services?.map((s) => s.Name)).toEqual(["svc0", "svc1", "svc2", "svc3"])
      client.destroy()
      yield* Fiber.interrupt(fiber)
      expect(yield* refused(logged.url)).toBe(true)
      expect(out.lines.some((l) => l.includes("mock Cloud Map stopped"))).toBe(true)
    }))

  it.live("without --fixture serves the built-in demo", () =>
    Effect.gen(function*() {
      const out = capture()
      const fiber = yield* runMockCloudMap([]).pipe(Effect.provideService(Console.Console, out.console), Effect.forkChild)
      const url = JSON.parse(yield* waitFor(() => out.lines.find((l) => l.includes("listening")))).url as string
      const client = sdkClient(url, { maxAttempts: 1 })
      const admin = yield* Effect.promise(() =>
        client.send(new DiscoverInstancesCommand({ NamespaceName: "apps", ServiceName: "_admin._tcp" }))
      )
      expect(admin.Instances?.map((i) => i.Attributes?.["AWS_INSTANCE_PORT"])).toEqual(["9005"])
      client.destroy()
      yield* Fiber.interrupt(fiber)
      expect(yield* refused(url)).toBe(true)
    }))

  it.live("a bad fixture file fails with a FixtureError naming the file and the path", () =>
    Effect.gen(function*() {
      const dir = mkdtempSync(join(tmpdir(), "mock-cloudmap-"))
      const file = join(dir, "bad.json")
      writeFileSync(file, JSON.stringify({ namespaces: [{ name: "apps", services: [{ name: "web", instances: [{ id: "a" }] }] }] }))
      const error = yield* runMockCloudMap(["--fixture", file]).pipe(Effect.flip)
      expect(error._tag).toBe("FixtureError")
      expect(error.message).toContain(file)
      expect(error.message).toContain(`["namespaces"][0]["services"][0]["instances"][0]["attributes"]`)
      const missing = yield* runMockCloudMap(["--fixture", join(dir, "missing.json")]).pipe(Effect.flip)
      expect(missing.message).toContain("cannot read fixture")
    }))
})

describe("mockCloudMapResource", () => {
  it.live("starts on acquire and closes when the scope closes", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const { url, port } = yield* mockCloudMapResource({ fixture: demoFixture }).pipe(Scope.provide(scope))
      expect(url).toBe(`http://127.0.0.1:${port}`)
      expect(yield* refused(url)).toBe(false)
      yield* Scope.close(scope, Exit.void)
      expect(yield* refused(url)).toBe(true)
    }))

  it.live("fails with MockStartError when the port is taken", () =>
    Effect.gen(function*() {
      const blocker = createServer()
      const port = yield* Effect.promise(() =>
        new Promise<number>((resolve) => blocker.listen(0, "127.0.0.1", () => resolve((blocker.address() as { port: number }).port)))
      )
      const error = yield* mockCloudMapResource({ fixture: demoFixture, port }).pipe(Effect.scoped, Effect.flip)
      blocker.close()
      expect(error._tag).toBe("MockStartError")
      expect(error.port).toBe(port)
      expect(error.message).toContain("EADDRINUSE")
    }))
})
