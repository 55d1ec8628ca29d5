/**
 * A change feed talking to a mock Cloud Map through the real SDK, with the mock's clock and the
 * agent's TestClock moved together (tests of the feed's rounds).
 */
import { DeregisterInstanceCommand, RegisterInstanceCommand, type ServiceDiscoveryClient } from "@aws-sdk/client-servicediscovery"
import { Effect, Ref } from "effect"
import { TestClock } from "effect/testing"
import { CloudMap } from "../../src/cloudmap/client.ts"
import { demoFixture } from "../../src/mock/fixture.ts"
import type { FeedReadings } from "../../src/mock/feed-readings.ts"
import { startMockCloudMap } from "../../src/mock/server.ts"
import { namespaceIdFor, serviceIdFor } from "../../src/mock/state-model.ts"
import type { FeedSettings } from "../../src/reconcile/change-feed.ts"
import { makeChangeFeed } from "../../src/reconcile/feed-round.ts"
import { initialStatus, type Status } from "../../src/status/status.ts"
import { sdkClient } from "../mock/helpers.ts"
import { testClientOptions } from "./cloudmap-client.ts"

process.env.AWS_ACCESS_KEY_ID = "test"
process.env.AWS_SECRET_ACCESS_KEY = "test"

export const T0 = 1_700_000_000_000
export const nsId = namespaceIdFor("apps")
export const webId = serviceIdFor(nsId, "web")
export const apiId = serviceIdFor(nsId, "api")
export const SETTINGS: FeedSettings = { periodSeconds: 2, maxPages: 5, maxOperations: 20, retrySeconds: 300 }

export const register = (client: ServiceDiscoveryClient, ServiceId: string, InstanceId: string) =>
  client.send(new RegisterInstanceCommand({ ServiceId, InstanceId, Attributes: { AWS_INSTANCE_IPV4: "127.0.0.1", AWS_INSTANCE_PORT: "9100" } }))
export const deregister = (client: ServiceDiscoveryClient, ServiceId: string, InstanceId: string) =>
  client.send(new DeregisterInstanceCommand({ ServiceId, InstanceId }))

/** No instance was read: operations are placed by GetOperation's Targets alone. */
export const noIndex = (_instanceId: string): string | undefined => undefined

export interface Session {
  readonly client: ServiceDiscoveryClient
  readonly control: (method: string, path: string, body?: unknown) => Promise<{ status: number; json: any }>
  /** Moves the mock's clock and the agent's TestClock together. */
  readonly advance: (ms: number) => Effect.Effect<void>
  readonly feed: Effect.Effect<Effect.Success<ReturnType<typeof makeChangeFeed>>>
  readonly status: Effect.Effect<Status>
}

/** A mock (its clock at T0, operations SUCCESS after `operationDelayMs`) and a change feed talking to it. */
export const withFeed = <A>(
  settings: FeedSettings,
  f: (s: Session) => Effect.Effect<A, never, CloudMap>,
  operationDelayMs = 0,
  feedReadings?: FeedReadings
) =>
  Effect.gen(function*() {
    let now = T0
    yield* TestClock.setTime(T0)
    const mock = yield* Effect.acquireRelease(
      Effect.promise(() => startMockCloudMap({ port: 0, fixture: demoFixture, clock: () => now, operationDelayMs, ...(feedReadings === undefined ? {} : { feedReadings }) })),
      (m) => Effect.promise(() => m.close())
    )
    const client = yield* Effect.acquireRelease(Effect.sync(() => sdkClient(mock.url, { maxAttempts: 1 })), (c) => Effect.sync(() => c.destroy()))
    const control = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(mock.url + path, {
        method,
        ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": "application/json" } })
      })
      return { status: res.status, json: await res.json() }
    }
    const status = yield* Ref.make(initialStatus("test", T0))
    return yield* Effect.gen(function*() {
      const feed = yield* makeChangeFeed(settings, (g) => Ref.update(status, g))
      return yield* f({
        client,
        control,
        advance: (ms) => Effect.andThen(Effect.sync(() => void (now += ms)), TestClock.adjust(ms)),
        feed: Effect.succeed(feed),
        status: Ref.get(status)
      })
    }).pipe(Effect.provide(CloudMap.layer(testClientOptions(mock.url, { maxAttempts: 1 }))))
  })

