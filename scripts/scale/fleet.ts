/**
 * The fleet of one size: the mock Cloud Map in this process, serving one namespace (`apps`) of
 * `services` services × INSTANCES_PER_SERVICE instances (syntheticFixture), every instance pointed
 * at one local HTTP sink so HAProxy's health checks pass. With `--options` every service carries
 * the bench option set and every instance its weight. With `--feed-denied` the mock denies the
 * change feed's operations (FEED_DENIED_FAULT) from its start on, before the agent exists.
 */
import {
  addMockFaults,
  fixtureServiceId,
  type MockCloudMapHandle,
  pointAt,
  startMock,
  syntheticFixture
} from "../bench/adapters/mock-cloudmap.ts"
import { BENCH_NAMESPACE } from "../bench/agent.ts"
import { BENCH_INSTANCE_OPTIONS, BENCH_SERVICE_OPTIONS } from "../bench/service-options.ts"
import { type Sink, startSink } from "../bench/sink.ts"
import {
  FEED_DENIED,
  FEED_DENIED_FAULT,
  FOREIGN_CHURN_PER_SECOND,
  FOREIGN_HISTORY_OPERATIONS,
  INSTANCES_PER_SERVICE,
  OPERATION_SCAN,
  OPTIONS,
  READING,
  type Reading
} from "./params.ts"

const setOptions = async (mock: MockCloudMapHandle, body: Record<string, unknown>): Promise<void> => {
  const res = await fetch(`${mock.url}/_mock/options`, { method: "POST", body: JSON.stringify(body) })
  if (res.status !== 200) throw new Error(`mock options ${JSON.stringify(body)}: HTTP ${res.status} ${await res.text()}`)
}

/**
 * `--reading foreign-churn` where ListOperations pages through every operation kept: a history of
 * FOREIGN_HISTORY_OPERATIONS foreign operations first (a 4 s burst of churn).
 */
const foreignHistory = async (mock: MockCloudMapHandle): Promise<void> => {
  const burstMs = 4_000
  await setOptions(mock, { foreignChurn: FOREIGN_HISTORY_OPERATIONS / (burstMs / 1000) })
  await new Promise((resolve) => setTimeout(resolve, burstMs))
}

/** `--reading`: the mock's options (POST /_mock/options) or fault rule for the reading. */
const readAs = async (mock: MockCloudMapHandle, reading: Reading | undefined): Promise<void> => {
  if (reading === "not-found") await addMockFaults(mock, [{ kind: "5xx", status: 400, code: "OperationNotFound", operation: "GetOperation" }])
  if (reading === "foreign-churn" && OPERATION_SCAN === "retained") await foreignHistory(mock)
  const body = {
    operationScan: OPERATION_SCAN,
    ...(reading === "instance" ? { operationTargets: "instance" } : {}),
    ...(reading === "milliseconds" ? { updateDateUnit: "milliseconds" } : {}),
    ...(reading === "foreign-churn" ? { foreignChurn: FOREIGN_CHURN_PER_SECOND } : {})
  }
  await setOptions(mock, body)
}

export interface FleetService {
  readonly name: string
  readonly id: string
}

export interface Fleet {
  readonly mock: MockCloudMapHandle
  readonly sink: Sink
  readonly services: ReadonlyArray<FleetService>
  /** Closes the mock and the sink; runs once. */
  readonly close: () => Promise<void>
}

export const startFleet = async (services: number): Promise<Fleet> => {
  const sink = await startSink()
  const fixture = syntheticFixture({
    namespaces: 1,
    servicesPerNamespace: services,
    instancesPerService: INSTANCES_PER_SERVICE,
    // Only the ports' range check: every instance is re-pointed at the sink.
    basePort: 1_024,
    ...(OPTIONS ? { serviceAttributes: BENCH_SERVICE_OPTIONS, extraInstanceAttributes: BENCH_INSTANCE_OPTIONS } : {})
  })
  const namespace = fixture.namespaces[0]
  if (namespace?.name !== BENCH_NAMESPACE) throw new Error(`syntheticFixture named its namespace ${namespace?.name}, not ${BENCH_NAMESPACE}`)
  const mock = await startMock(pointAt(fixture, sink.port)).catch(async (e: unknown) => {
    await sink.close()
    throw e
  })
  let closing: Promise<void> | undefined
  const close = () => (closing ??= Promise.all([mock.close(), sink.close()]).then(() => undefined))
  if (FEED_DENIED) {
    await addMockFaults(mock, [FEED_DENIED_FAULT]).catch(async (e: unknown) => {
      await close()
      throw e
    })
  }
  if (READING !== undefined || OPERATION_SCAN !== "retained") {
    await readAs(mock, READING).catch(async (e: unknown) => {
      await close()
      throw e
    })
  }
  return {
    mock,
    sink,
    services: (namespace.services ?? []).map((s) => ({ name: s.name, id: fixtureServiceId(BENCH_NAMESPACE, s.name) })),
    close
  }
}
