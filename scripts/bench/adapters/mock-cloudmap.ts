/**
 * The benches' one door to src/mock/: the in-process mock Cloud Map, its fixtures, its call
 * statistics (`/_mock/calls`), its fault rules (`/_mock/faults`) and the seedable random generator.
 */
import type { FaultSpec } from "../../../src/mock/faults.ts"
import { type Fixture, type FixtureService, demoFixture, syntheticFixture } from "../../../src/mock/fixture.ts"
import { makeRandom } from "../../../src/mock/random.ts"
import { type MockCloudMapHandle, startMockCloudMap } from "../../../src/mock/server.ts"
import { namespaceIdFor, serviceIdFor } from "../../../src/mock/state-model.ts"

export type { FaultSpec, Fixture, FixtureService, MockCloudMapHandle }
export { demoFixture, makeRandom, syntheticFixture }

/** Starts the mock on a free port of 127.0.0.1, serving `fixture`. */
export const startMock = (fixture: Fixture): Promise<MockCloudMapHandle> => startMockCloudMap({ fixture })

/** The id the mock gives a fixture service that has no `id` of its own, in a namespace without one. */
export const fixtureServiceId = (namespaceName: string, serviceName: string): string =>
  serviceIdFor(namespaceIdFor(namespaceName), serviceName)

/** One namespace (`name`, `id`) holding `services`. */
export const namespaceFixture = (name: string, id: string, services: ReadonlyArray<FixtureService>): Fixture => ({
  namespaces: [{ name, id, services }]
})

/** Points every instance of a fixture at one local TCP listener, so HAProxy's checks pass quietly. */
export const pointAt = (fixture: Fixture, port: number): Fixture => ({
  ...fixture,
  namespaces: fixture.namespaces.map((n) => ({
    ...n,
    services: (n.services ?? []).map((s) => ({
      ...s,
      instances: (s.instances ?? []).map((i) => ({
        ...i,
        attributes: { ...i.attributes, AWS_INSTANCE_IPV4: "127.0.0.1", AWS_INSTANCE_PORT: String(port) }
      }))
    }))
  }))
})

export interface MockCalls {
  readonly total: number
  readonly operations: Record<string, { total: number }>
}

/** The calls the mock answered since start or the last reset (`GET /_mock/calls`). */
export const mockCalls = async (mock: MockCloudMapHandle): Promise<MockCalls> => {
  const r = await fetch(`${mock.url}/_mock/calls`)
  return (await r.json()) as MockCalls
}

/** Zeroes the call statistics (`POST /_mock/calls/reset`); the fault rules stay. */
export const resetMockCalls = async (mock: MockCloudMapHandle): Promise<void> => {
  await fetch(`${mock.url}/_mock/calls/reset`, { method: "POST" })
}

/**
 * Adds fault rules (`POST /_mock/faults`, semantics in src/mock/faults.ts) and returns their ids;
 * a rule the mock refuses is an error with its answer. Only `POST /_mock/reset` clears them.
 */
export const addMockFaults = async (mock: MockCloudMapHandle, faults: ReadonlyArray<FaultSpec>): Promise<ReadonlyArray<string>> => {
  const r = await fetch(`${mock.url}/_mock/faults`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ faults })
  })
  const body = await r.text()
  if (r.status !== 200) throw new Error(`the mock refused the fault rules ${JSON.stringify(faults)}: HTTP ${r.status} ${body}`)
  return (JSON.parse(body) as { ids: ReadonlyArray<string> }).ids
}
