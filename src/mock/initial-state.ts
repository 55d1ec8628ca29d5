/**
 * The state a fixture describes (at start and on `POST /_mock/reset`).
 */
import type { Fixture } from "./fixture.ts"
import { emptyOperationLog } from "./operation-log.ts"
import { DEFAULT_FEED_READINGS, type FeedReadings } from "./feed-readings.ts"
import { emptyPagesWindow } from "./paging.ts"
import {
  type HealthCheck,
  type HealthStatus,
  initialHealth,
  type InstanceRecord,
  type MockState,
  namespaceArn,
  namespaceIdFor,
  type NamespaceRecord,
  serviceArn,
  serviceIdFor,
  type ServiceRecord
} from "./state-model.ts"

export interface InitialStateOptions {
  /** Epoch milliseconds used as CreateDate of fixture entities. */
  readonly now: number
  /** Revisions start above this value (pass the previous state's revisionClock on reset). */
  readonly revisionBase?: number
  /** Overrides the fixture's `emptyPages`. */
  readonly emptyPages?: boolean | number
  /** Operation numbers start above this value (pass the previous state's operationCounter on reset). */
  readonly operationBase?: number
  /** How long operations report SUBMITTED/PENDING before SUCCESS (default 0: SUCCESS at once). */
  readonly operationDelayMs?: number
  /** How long operations are kept (default DEFAULT_OPERATION_RETENTION_MS). */
  readonly operationRetentionMs?: number
  /** How the operation feed reads where AWS publishes nothing (default: DEFAULT_FEED_READINGS). */
  readonly feedReadings?: FeedReadings
}

/** Default retention of operations: 90 days. */
export const DEFAULT_OPERATION_RETENTION_MS = 90 * 24 * 60 * 60 * 1000

/**
 * Builds the state described by a fixture. The fixture must have been validated
 * (`decodeFixture` in fixture.ts checks names, ids and attributes).
 */
export const initialState = (fixture: Fixture, options: InitialStateOptions): MockState => {
  const region = fixture.region ?? "us-east-1"
  const accountId = fixture.accountId ?? "123456789012"
  const ids = { region, accountId }
  const revision = (options.revisionBase ?? 0) + 1
  const created = options.now
  const namespaces = new Map<string, NamespaceRecord>()
  const namespaceByName = new Map<string, string>()
  const namespaceByHttpName = new Map<string, string>()
  const services = new Map<string, ServiceRecord>()
  const serviceOrder: Array<string> = []
  const serviceByKey = new Map<string, string>()
  for (const ns of fixture.namespaces) {
    const nsId = ns.id ?? namespaceIdFor(ns.name)
    const serviceIds: Array<string> = []
    for (const svc of ns.services ?? []) {
      const srvId = svc.id ?? serviceIdFor(nsId, svc.name)
      const healthCheck: HealthCheck = svc.healthCheck ?? "custom"
      const instances = new Map<string, InstanceRecord>()
      for (const inst of svc.instances ?? []) {
        const health: HealthStatus = healthCheck === "none"
          ? "UNKNOWN"
          : inst.health ?? initialHealth(healthCheck, inst.attributes)
        instances.set(inst.id, {
          id: inst.id,
          attributes: { ...inst.attributes },
          health,
          createDate: created,
          creatorRequestId: undefined
        })
      }
      services.set(srvId, {
        id: srvId,
        arn: serviceArn(ids, srvId),
        name: svc.name,
        namespaceId: nsId,
        description: svc.description,
        healthCheck,
        attributes: { ...svc.attributes },
        revision,
        instances,
        createDate: created,
        creatorRequestId: undefined
      })
      serviceIds.push(srvId)
      serviceOrder.push(srvId)
      serviceByKey.set(`${nsId}/${svc.name}`, srvId)
    }
    const httpName = ns.httpName ?? ns.name
    namespaces.set(nsId, {
      id: nsId,
      arn: namespaceArn(ids, nsId),
      name: ns.name,
      httpName,
      description: ns.description,
      serviceIds,
      createDate: created,
      creatorRequestId: undefined
    })
    namespaceByName.set(ns.name, nsId)
    namespaceByHttpName.set(httpName, nsId)
  }
  return {
    region,
    accountId,
    emptyPagesWindow: emptyPagesWindow(options.emptyPages ?? fixture.emptyPages),
    namespaces,
    namespaceOrder: [...namespaces.keys()],
    namespaceByName,
    namespaceByHttpName,
    services,
    serviceOrder,
    serviceByKey,
    revisionClock: revision,
    operationCounter: options.operationBase ?? 0,
    operations: emptyOperationLog(),
    operationDelayMs: options.operationDelayMs ?? 0,
    operationRetentionMs: options.operationRetentionMs ?? DEFAULT_OPERATION_RETENTION_MS,
    feedReadings: options.feedReadings ?? DEFAULT_FEED_READINGS
  }
}
