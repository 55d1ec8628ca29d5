/**
 * The agent's availability zone: AVAILABILITY_ZONE, or the ECS task metadata endpoint (a local
 * node:http server here), with retries on the TestClock; and the AgentZoneService layer.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { assert, describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Logger, Result } from "effect"
import { TestClock } from "effect/testing"
import { AgentZoneService, resolveAgentZone } from "../../src/cloudmap/zone.ts"
import { readAgentConfig } from "../../src/config/agent-config.ts"
import { AgentConfigService } from "../../src/config/service.ts"
import { freePort } from "../support/ports.ts"

type Answer = { readonly status: number; readonly body?: string }

/** A task metadata endpoint on 127.0.0.1 answering the n-th request (from 1) with `answer(n)`. */
const metadataServer = (answer: (n: number, req: IncomingMessage) => Answer) =>
  Effect.acquireRelease(
    Effect.promise(() =>
      new Promise<{ readonly uri: string; readonly paths: Array<string>; readonly close: () => Promise<void> }>((resolve) => {
        const paths: Array<string> = []
        const server = createServer((req: IncomingMessage, res: ServerResponse) => {
          paths.push(req.url ?? "")
          const a = answer(paths.length, req)
          res.writeHead(a.status, { "content-type": "application/json" })
          res.end(a.body ?? "")
        })
        server.listen(0, "127.0.0.1", () => {
          const port = (server.address() as AddressInfo).port
          resolve({
            uri: `http://127.0.0.1:${port}/v4/0123456789abcdef-1234`,
            paths,
            close: () =>
              new Promise<void>((done) => {
                server.close(() => done())
                server.closeAllConnections()
              })
          })
        })
      })
    ),
    (s) => Effect.promise(() => s.close())
  )

const taskDocument = (zone: unknown) =>
  JSON.stringify({
    Cluster: "arn:aws:ecs:eu-west-1:123456789012:cluster/edge",
    TaskARN: "arn:aws:ecs:eu-west-1:123456789012:task/edge/0123456789abcdef",
    Family: "cloudmap-haproxy",
    Revision: "7",
    DesiredStatus: "RUNNING",
    KnownStatus: "RUNNING",
    Containers: [{ Name: "agent", Networks: [{ NetworkMode: "awsvpc", IPv4Addresses: ["10.0.1.17"] }] }],
    ...(zone === undefined ? {} : { AvailabilityZone: zone }),
    LaunchType: "FARGATE"
  })

/** Waits in real time (the servers answer in real time) until `ready()` holds. */
const waitUntil = (ready: () => boolean) =>
  Effect.gen(function*() {
    for (let i = 0; i < 500 && !ready(); i++) yield* TestClock.withLive(Effect.sleep("5 millis"))
    if (!ready()) return yield* Effect.die(new Error("timed out waiting"))
  })

/** Joins a fiber that sleeps on the TestClock between real-time requests: moves the clock until it ends. */
const driveClock = <A>(fiber: Fiber.Fiber<A>) =>
  Effect.gen(function*() {
    for (let i = 0; i < 1_000 && fiber.pollUnsafe() === undefined; i++) {
      yield* TestClock.withLive(Effect.sleep("2 millis"))
      yield* TestClock.adjust("50 millis")
    }
    return yield* Fiber.join(fiber)
  })

const fromMetadata = (uri: string) => resolveAgentZone({ availabilityZone: undefined, taskMetadataUri: uri })

describe("resolveAgentZone", () => {
  it.effect("AVAILABILITY_ZONE wins: no request is made", () =>
    Effect.gen(function*() {
      const server = yield* metadataServer(() => ({ status: 200, body: taskDocument("eu-west-1c") }))
      const zone = yield* resolveAgentZone({ availabilityZone: "eu-west-1b", taskMetadataUri: server.uri })
      expect(zone).toEqual({ _tag: "Known", zone: "eu-west-1b", source: "AVAILABILITY_ZONE" })
      expect(server.paths).toEqual([])
    }))

  it.effect("reads AvailabilityZone from the task document at <uri>/task", () =>
    Effect.gen(function*() {
      const server = yield* metadataServer(() => ({ status: 200, body: taskDocument("eu-west-1c") }))
      expect(yield* fromMetadata(server.uri)).toEqual({ _tag: "Known", zone: "eu-west-1c", source: "task metadata" })
      expect(yield* fromMetadata(`${server.uri}/`)).toEqual({ _tag: "Known", zone: "eu-west-1c", source: "task metadata" })
      expect(server.paths).toEqual(["/v4/0123456789abcdef-1234/task", "/v4/0123456789abcdef-1234/task"])
    }))

  it.effect("neither set: Unknown, saying what to set", () =>
    Effect.gen(function*() {
      expect(yield* resolveAgentZone({ availabilityZone: undefined, taskMetadataUri: undefined })).toEqual({
        _tag: "Unknown",
        reason: "neither AVAILABILITY_ZONE nor ECS_CONTAINER_METADATA_URI_V4 is set"
      })
    }))

  it.effect("answers that will not change are not retried: 404, not JSON, no zone, a bad zone", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [Answer, string]> = [
        [{ status: 404, body: "{}" }, "answered 404"],
        [{ status: 200, body: "<html>not json" }, "did not answer a JSON object"],
        [{ status: 200, body: "[1, 2]" }, "did not answer a JSON object"],
        [{ status: 200, body: taskDocument(undefined) }, "has no AvailabilityZone"],
        [{ status: 200, body: taskDocument(null) }, "has no AvailabilityZone"],
        [{ status: 200, body: taskDocument("EU West 1a") }, 'has an AvailabilityZone that is not a zone name: "EU West 1a"'],
        [{ status: 200, body: taskDocument(42) }, "has an AvailabilityZone that is not a zone name: 42"],
        [{ status: 200, body: taskDocument("x".repeat(100)) }, `has an AvailabilityZone that is not a zone name: "${"x".repeat(76)}...`]
      ]
      for (const [answer, problem] of cases) {
        const server = yield* metadataServer(() => answer)
        expect(yield* fromMetadata(server.uri)).toEqual({ _tag: "Unknown", reason: `task metadata ${server.uri}/task ${problem}` })
        expect(server.paths).toHaveLength(1)
      }
    }))

  it.effect("retries a failing endpoint on the clock: 503 twice, then the zone", () =>
    Effect.gen(function*() {
      const clock = yield* TestClock.testClockWith(Effect.succeed)
      const at: Array<number> = []
      const server = yield* metadataServer((n) => {
        at.push(clock.currentTimeMillisUnsafe())
        return n <= 2 ? { status: 503, body: "{}" } : { status: 200, body: taskDocument("eu-west-1a") }
      })
      const fiber = yield* Effect.forkChild(fromMetadata(server.uri))
      yield* waitUntil(() => server.paths.length === 1)
      // The retry waits for its backoff on the clock, not in real time.
      yield* TestClock.withLive(Effect.sleep("100 millis"))
      expect(server.paths).toHaveLength(1)
      expect(yield* driveClock(fiber)).toEqual({ _tag: "Known", zone: "eu-west-1a", source: "task metadata" })
      expect(server.paths).toHaveLength(3)
      // exponential backoff: at least 100 ms, then at least 200 ms
      expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(100)
      expect(at[2]! - at[1]!).toBeGreaterThanOrEqual(200)
    }))

  it.effect("gives up after 3 retries: Unknown with the last answer", () =>
    Effect.gen(function*() {
      const server = yield* metadataServer(() => ({ status: 500, body: "{}" }))
      const fiber = yield* Effect.forkChild(fromMetadata(server.uri))
      expect(yield* driveClock(fiber)).toEqual({ _tag: "Unknown", reason: `task metadata ${server.uri}/task answered 500` })
      expect(server.paths).toHaveLength(4)
    }))

  it.effect("an endpoint nobody listens on: Unknown, not reachable, with the network error", () =>
    Effect.gen(function*() {
      const port = yield* Effect.promise(freePort)
      const uri = `http://127.0.0.1:${port}/v4/x`
      const fiber = yield* Effect.forkChild(fromMetadata(uri))
      const zone = yield* driveClock(fiber)
      assert(zone._tag === "Unknown")
      expect(zone.reason).toMatch(new RegExp(`^task metadata ${uri}/task is not reachable: .+`))
    }))
})

const baseEnv = {
  AWS_REGION: "eu-west-1",
  NAMESPACE_MAP: JSON.stringify([{ namespace: "apps", domainname: "example.com", mode: "host" }]),
  STATS_PASSWD: "s3cret-stats",
  PROM_PASSWD: "s3cret-prom"
}

/** The service built from an environment, with the log lines it wrote (level, message, fields). */
const zoneFromEnv = (env: Record<string, string>) =>
  Effect.gen(function*() {
    const config = Result.getOrThrow(readAgentConfig({ ...baseEnv, ...env }))
    const logs: Array<{ level: string; message: unknown }> = []
    const capture = Logger.make(({ logLevel, message }) => {
      logs.push({ level: logLevel, message })
    })
    const zone = yield* AgentZoneService.useSync((z) => z).pipe(
      Effect.provide(AgentZoneService.layer.pipe(Layer.provide(AgentConfigService.layerOf(config)))),
      Effect.provide(Logger.layer([capture]))
    )
    return { zone, logs }
  })

describe("AgentZoneService", () => {
  it.effect("ZONE_AFFINITY off: Unknown without asking the endpoint, nothing logged", () =>
    Effect.gen(function*() {
      const server = yield* metadataServer(() => ({ status: 200, body: taskDocument("eu-west-1c") }))
      const { zone, logs } = yield* zoneFromEnv({ ECS_CONTAINER_METADATA_URI_V4: server.uri })
      expect(zone).toEqual({ _tag: "Unknown", reason: "ZONE_AFFINITY is off" })
      expect(server.paths).toEqual([])
      expect(logs).toEqual([])
    }))

  it.effect("ZONE_AFFINITY on: the zone from task metadata, logged once", () =>
    Effect.gen(function*() {
      const server = yield* metadataServer(() => ({ status: 200, body: taskDocument("eu-west-1c") }))
      const { zone, logs } = yield* zoneFromEnv({ ZONE_AFFINITY: "true", ECS_CONTAINER_METADATA_URI_V4: server.uri })
      expect(zone).toEqual({ _tag: "Known", zone: "eu-west-1c", source: "task metadata" })
      expect(logs).toEqual([{ level: "Info", message: ["availability zone", { zone: "eu-west-1c", source: "task metadata" }] }])
    }))

  it.effect("ZONE_AFFINITY on with AVAILABILITY_ZONE: that zone", () =>
    Effect.gen(function*() {
      const { zone, logs } = yield* zoneFromEnv({ ZONE_AFFINITY: "true", AVAILABILITY_ZONE: "eu-west-1b" })
      expect(zone).toEqual({ _tag: "Known", zone: "eu-west-1b", source: "AVAILABILITY_ZONE" })
      expect(logs).toEqual([{ level: "Info", message: ["availability zone", { zone: "eu-west-1b", source: "AVAILABILITY_ZONE" }] }])
    }))

  it.effect("ZONE_AFFINITY on, zone unknown: a warning with the reason, and the layer still builds", () =>
    Effect.gen(function*() {
      const server = yield* metadataServer(() => ({ status: 200, body: taskDocument(undefined) }))
      const { zone, logs } = yield* zoneFromEnv({ ZONE_AFFINITY: "true", ECS_CONTAINER_METADATA_URI_V4: server.uri })
      const reason = `task metadata ${server.uri}/task has no AvailabilityZone`
      expect(zone).toEqual({ _tag: "Unknown", reason })
      expect(logs).toEqual([
        { level: "Warn", message: ["zone affinity is off: the agent's availability zone is unknown", { reason }] }
      ])
    }))
})
