/**
 * The mock's ECS task metadata stub: GET /task-metadata/task with the configured zone or the
 * fixture's region + "a", from startMockCloudMap and from the command's --zone flag.
 */
import { describe, expect, it } from "@effect/vitest"
import { Console, Effect, Fiber } from "effect"
import { resolveAgentZone } from "../../src/cloudmap/zone.ts"
import { MockCommandError, parseMockArgs, runMockCloudMap } from "../../src/mock/command.ts"
import { demoFixture } from "../../src/mock/fixture.ts"
import { withMock } from "./helpers.ts"

const getTask = async (url: string) => {
  const res = await fetch(`${url}/task-metadata/task`)
  return { status: res.status, contentType: res.headers.get("content-type"), json: await res.json() }
}

describe("mock task metadata stub", () => {
  it("answers the task document with the fixture's region + a by default", async () => {
    await withMock(demoFixture, async ({ mock, control }) => {
      expect(await getTask(mock.url)).toEqual({
        status: 200,
        contentType: "application/json",
        json: {
          Cluster: "mock",
          TaskARN: "arn:aws:ecs:us-east-1:123456789012:task/mock/0123456789abcdef",
          AvailabilityZone: "us-east-1a",
          LaunchType: "FARGATE"
        }
      })
      // Not a Cloud Map call: not counted.
      expect((await control("GET", "/_mock/calls")).json.total).toBe(0)
    })
  })

  it("answers the configured zone, with the fixture's region in the task ARN", async () => {
    await withMock({ ...demoFixture, region: "eu-west-1" }, async ({ mock }) => {
      const { json } = await getTask(mock.url)
      expect(json).toMatchObject({
        TaskARN: "arn:aws:ecs:eu-west-1:123456789012:task/mock/0123456789abcdef",
        AvailabilityZone: "eu-west-1c"
      })
    }, { zone: "eu-west-1c" })
    await withMock({ ...demoFixture, region: "eu-west-1" }, async ({ mock }) => {
      expect((await getTask(mock.url)).json.AvailabilityZone).toBe("eu-west-1a")
    })
  })

  it("is what the agent reads with ECS_CONTAINER_METADATA_URI_V4=<url>/task-metadata", async () => {
    await withMock(demoFixture, async ({ mock }) => {
      const zone = await Effect.runPromise(resolveAgentZone({ availabilityZone: undefined, taskMetadataUri: `${mock.url}/task-metadata` }))
      expect(zone).toEqual({ _tag: "Known", zone: "us-east-1b", source: "task metadata" })
    }, { zone: "us-east-1b" })
  })

  it("only GET /task-metadata/task is served", async () => {
    await withMock(demoFixture, async ({ mock }) => {
      expect((await fetch(`${mock.url}/task-metadata`)).status).toBe(404)
      expect((await fetch(`${mock.url}/task-metadata/stats`)).status).toBe(404)
    })
  })

  it("--zone is a mock-cloudmap flag; a value that is not a zone name is a usage error", () => {
    expect(parseMockArgs(["--zone", "eu-central-1b"]).zone).toBe("eu-central-1b")
    expect(parseMockArgs([]).zone).toBeUndefined()
    try {
      parseMockArgs(["--zone", "EU Central"])
      expect.unreachable("accepted --zone EU Central")
    } catch (e) {
      expect(e).toBeInstanceOf(MockCommandError)
      expect((e as MockCommandError).exitCode).toBe(64)
      expect((e as MockCommandError).message.split("\n")[0]).toBe(
        '--zone must be an availability zone name such as us-east-1a (lowercase letters, digits, -), got "EU Central"'
      )
    }
  })

  it.live("the command serves --zone and logs the metadata URI", () =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      const console: Console.Console = Object.assign(Object.create(globalThis.console), {
        log: (...args: ReadonlyArray<unknown>) => lines.push(args.map(String).join(" "))
      })
      const fiber = yield* runMockCloudMap(["--zone", "ap-south-1c"]).pipe(
        Effect.provideService(Console.Console, console),
        Effect.forkChild
      )
      let listening: string | undefined
      for (let i = 0; i < 200 && listening === undefined; i++) {
        listening = lines.find((l) => l.includes("listening"))
        if (listening === undefined) yield* Effect.sleep("10 millis")
      }
      const logged = JSON.parse(listening ?? "{}")
      expect(logged.taskMetadata).toBe(`${logged.url}/task-metadata`)
      const { json } = yield* Effect.promise(() => getTask(logged.url))
      expect(json.AvailabilityZone).toBe("ap-south-1c")
      yield* Fiber.interrupt(fiber)
    }))
})
