/**
 * Cloud Map as an Effect service. Every call goes through a token bucket: the data plane's
 * (CLOUDMAP_RATE_LIMIT; DiscoverInstances through a second, smaller one too: its account quota is
 * a third of the revision check's) or the control plane's (CLOUDMAP_CONTROL_RATE_LIMIT: List*,
 * GetServiceAttributes), and one concurrency limit; it is bounded by a timeout, and retried with
 * jittered exponential backoff when the failure is transient (throttling, 5xx, timeouts,
 * connection errors). Until the first full read is done (`settle`) every bucket runs at the
 * start-up rate, so a large fleet is read in seconds. Permission errors name the IAM action to
 * grant. List operations are paginated to the end. The hot calls (the reads, the change feed's
 * ListOperations and GetOperation) go through ./data-plane.ts, ListNamespaces and ListServices
 * through the SDK.
 */
import { ListNamespacesCommand, ListServicesCommand, ServiceDiscoveryClient } from "@aws-sdk/client-servicediscovery"
import { Cause, Clock, Context, Effect, Exit, Layer, Metric, Option, Result, Schedule, Semaphore } from "effect"
import { cloudMapCalls, cloudMapCallSeconds } from "../observability/metrics.ts"
import type { AgentConfig } from "../config/agent-config-type.ts"
import type { HealthFilter } from "../model/snapshot.ts"
import { type DiscoveredInstances, makeDataPlane, type OperationInfo, type OperationsPage } from "./data-plane.ts"
import { CloudMapActivity } from "./activity.ts"
import { descriptorsExhausted } from "../observability/descriptors.ts"
import { classifyError, CloudMapError, isConnectFailure } from "./errors.ts"
import { pool } from "./pool.ts"
import { makeRateLimiter } from "./rate-limiter.ts"

export {
  DISCOVER_MAX_RESULTS,
  type DiscoveredInstances,
  type InstanceInfo,
  type OperationInfo,
  type OperationsPage,
  type OperationSummary
} from "./data-plane.ts"
export { classifyError, CloudMapError, isActionDenied } from "./errors.ts"

/** Classifies a failed call; a failure to connect also asks the kernel whether the descriptors ran out. */
const classified = (operation: string, error: unknown): CloudMapError =>
  classifyError(operation, error, isConnectFailure(error) && descriptorsExhausted())

export interface NamespaceInfo {
  readonly id: string
  readonly name: string
  readonly httpName: string
}

export interface ServiceInfo {
  readonly id: string
  readonly name: string
  /** ListServices' CreateDate, epoch milliseconds (undefined when Cloud Map gave none). */
  readonly createdAt: number | undefined
}

/** How Cloud Map reads the UPDATE_DATE filter's values: AWS publishes no unit (the feed learns it). */
export type DateUnit = "seconds" | "milliseconds"

export interface OperationWindow {
  /** Epoch milliseconds, inclusive (rounded out to whole seconds when sent as seconds). */
  readonly from: number
  readonly to: number
  /** The unit the values are sent in (default seconds). */
  readonly unit?: DateUnit
}

/** The UPDATE_DATE filter's two values for `window`, in its unit. */
export const updateDateValues = (window: OperationWindow): [string, string] =>
  window.unit === "milliseconds"
    ? [String(Math.floor(window.from)), String(Math.ceil(window.to))]
    : [String(Math.floor(window.from / 1000)), String(Math.ceil(window.to / 1000))]

/** The client's settings: the configuration's (AgentConfig.cloudMap) and the region. */
export type CloudMapClientOptions = AgentConfig["cloudMap"] & { readonly region: string }

export class CloudMap extends Context.Service<CloudMap, {
  readonly listNamespaces: Effect.Effect<ReadonlyArray<NamespaceInfo>, CloudMapError>
  readonly listServices: (namespaceId: string) => Effect.Effect<ReadonlyArray<ServiceInfo>, CloudMapError>
  /** `first`: ahead of the other reads in the token buckets (a change the feed announced). */
  readonly discoverInstances: (
    httpName: string,
    serviceName: string,
    healthFilter: HealthFilter,
    first?: boolean
  ) => Effect.Effect<DiscoveredInstances, CloudMapError>
  readonly discoverRevision: (httpName: string, serviceName: string) => Effect.Effect<number | undefined, CloudMapError>
  /** GetServiceAttributes: the service's attributes (its routing options live under `haproxy.`). */
  readonly getServiceAttributes: (serviceId: string) => Effect.Effect<Readonly<Record<string, string>>, CloudMapError>
  /**
   * DiscoverInstancesRevision for many services as one batch: the rate limit is taken once, the
   * calls run as plain promises (no fiber each), failures that may pass are retried one by one.
   */
  readonly discoverRevisions: (
    services: ReadonlyArray<{ readonly httpName: string; readonly serviceName: string }>
  ) => Effect.Effect<ReadonlyArray<Result.Result<number | undefined, CloudMapError>>>
  /**
   * One page of ListOperations: instance operations (REGISTER_INSTANCE, DEREGISTER_INSTANCE)
   * whose status changed between `from` and `to` (epoch ms, sent as epoch seconds). One attempt:
   * the change feed decides what a failure means (./feed-calls.ts).
   */
  readonly listOperationsPage: (window: OperationWindow, token: string | undefined) => Effect.Effect<OperationsPage, CloudMapError>
  /** GetOperation, one attempt: the operation's status and the service and instance it targets. */
  readonly getOperation: (operationId: string) => Effect.Effect<OperationInfo, CloudMapError>
  /** The first full read is done: from now on the steady rates apply. */
  readonly settle: Effect.Effect<void>
  /** Calls in flight at most (CLOUDMAP_CONCURRENCY): run batches with this concurrency, not more. */
  readonly concurrency: number
}>()("cloudmap/CloudMap") {
  static readonly layer = (options: CloudMapClientOptions) => Layer.effect(CloudMap, makeCloudMap(options))
}

/** A discoverRevisions made of single calls, for fakes of this service. */
export const revisionsOneByOne =
  (discoverRevision: CloudMap["Service"]["discoverRevision"]): CloudMap["Service"]["discoverRevisions"] => (services) =>
    Effect.forEach(services, (s) => Effect.result(discoverRevision(s.httpName, s.serviceName)))

/** Control-plane operations: their own token bucket (CLOUDMAP_CONTROL_RATE_LIMIT). */
const CONTROL_PLANE: ReadonlySet<string> = new Set(["ListNamespaces", "ListServices", "GetServiceAttributes"])
/** The change feed's operations: a token bucket of their own (CLOUDMAP_FEED_RATE_LIMIT). */
const FEED: ReadonlySet<string> = new Set(["ListOperations", "GetOperation"])
/** The instance operations the change feed lists. */
const INSTANCE_OPERATIONS = ["REGISTER_INSTANCE", "DEREGISTER_INSTANCE"]

/** Pages until Cloud Map stops returning a token; a repeated token or too many pages is an error. */
const MAX_PAGES = 10_000

/** A CreateDate as epoch milliseconds; undefined when absent or not a valid date. */
const epochMillis = (date: Date | undefined): number | undefined => {
  const ms = date?.getTime()
  return ms === undefined || Number.isNaN(ms) ? undefined : ms
}

const retryable = (e: CloudMapError) => e.kind === "throttled" || e.kind === "transient"

const makeCloudMap = (options: CloudMapClientOptions) =>
  Effect.gen(function*() {
    const client = new ServiceDiscoveryClient({
      region: options.region,
      // Our own retry loop (below) owns backoff, metrics and the token bucket.
      maxAttempts: 1,
      ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint, disableHostPrefix: true })
    })
    yield* Effect.addFinalizer(() => Effect.sync(() => client.destroy()))
    const timeoutMs = options.timeoutSeconds * 1000
    const dataPlane = makeDataPlane(client, { region: options.region, endpoint: options.endpoint, timeoutMs })
    const calls = yield* makeRateLimiter(options.requestsPerSecond, options.startupPerSecond)
    const reads = yield* makeRateLimiter(Math.min(options.readsPerSecond, options.requestsPerSecond), options.startupPerSecond)
    const controls = yield* makeRateLimiter(options.controlPerSecond, options.startupPerSecond)
    const feed = yield* makeRateLimiter(options.feedPerSecond)
    /** The bucket of an operation: the control plane and the feed have quotas of their own, apart from the revision checks'. */
    const bucketOf = (operation: string) => (CONTROL_PLANE.has(operation) ? controls : FEED.has(operation) ? feed : calls)
    const semaphore = yield* Semaphore.make(options.concurrency)
    const clock = yield* Clock.clockWith(Effect.succeed)
    const activity = Option.getOrUndefined(yield* Effect.serviceOption(CloudMapActivity)) // liveness, degraded
    const noteAttempts = (outcome: string, count: number) => (activity?.record(outcome, count, clock.currentTimeMillisUnsafe()), outcome)

    const outcomeOf = (exit: Exit.Exit<unknown, CloudMapError>): string => {
      if (Exit.isSuccess(exit)) return "ok"
      const error = Cause.findErrorOption(exit.cause)
      if (Option.isNone(error)) return "interrupted"
      return error.value.code === "Timeout" || error.value.code === "TimeoutError" ? "timeout" :
        error.value.kind === "throttled" ? "throttled" : error.value.kind === "denied" ? "denied" : "error"
    }

    // The labelled metrics, made once (a call updates them without allocating).
    const counters = new Map<string, Metric.Metric<number, unknown>>()
    const counter = (operation: string, outcome: string) => {
      const key = `${operation} ${outcome}`
      let m = counters.get(key)
      if (m === undefined) counters.set(key, m = Metric.withAttributes(cloudMapCalls, { operation, outcome }))
      return m
    }
    const durations = new Map<string, Metric.Metric<number, unknown>>()
    const duration = (operation: string) => {
      let m = durations.get(operation)
      if (m === undefined) durations.set(operation, m = Metric.withAttributes(cloudMapCallSeconds, { operation }))
      return m
    }

    /** Waits for the operation's tokens (`first`: ahead of the other calls). */
    const tokens = (operation: string, first: boolean) =>
      Effect.andThen(
        first ? bucketOf(operation).acquireFirst : bucketOf(operation).acquire,
        operation === "DiscoverInstances" ? (first ? reads.acquireFirst : reads.acquire) : Effect.void
      )

    /**
     * One attempt; `timeout`: bound it here (the data plane bounds its own requests); `first`: ahead
     * of the other calls in the token buckets. The tokens are taken before a place in flight, so
     * calls waiting for tokens never keep a call that goes first from being sent.
     */
    const attempt = <A>(operation: string, send: (signal: AbortSignal) => Promise<A>, timeout: boolean, first = false) =>
      Effect.andThen(tokens(operation, first), Effect.gen(function*() {
        const started = clock.currentTimeMillisUnsafe()
        const sent = Effect.tryPromise({ try: (signal) => send(signal), catch: (error) => classified(operation, error) })
        const exit = yield* Effect.exit(
          timeout
            ? Effect.timeoutOrElse(sent, {
              duration: timeoutMs,
              orElse: () =>
                Effect.fail(
                  new CloudMapError({
                    operation,
                    code: "Timeout",
                    message: `${operation} did not answer within ${options.timeoutSeconds}s`,
                    kind: "transient"
                  })
                )
            })
            : sent
        )
        const outcome = outcomeOf(exit)
        noteAttempts(outcome, 1)
        if (outcome === "throttled") {
          yield* bucketOf(operation).slowDown
          if (operation === "DiscoverInstances") yield* reads.slowDown
        }
        yield* Metric.update(counter(operation, outcome), 1)
        yield* Metric.update(duration(operation), (clock.currentTimeMillisUnsafe() - started) / 1000)
        return yield* exit
      }).pipe(semaphore.withPermits(1)))

    const backoff = Schedule.min([Schedule.exponential("200 millis", 2), Schedule.spaced("8 seconds")]).pipe(
      Schedule.jittered
    )

    const call = <A>(operation: string, send: (signal: AbortSignal) => Promise<A>, timeout = true, first = false) =>
      attempt(operation, send, timeout, first).pipe(
        Effect.retry({ schedule: backoff, times: options.maxAttempts - 1, while: retryable })
      )

    const paginate = <P, A>(
      operation: string,
      page: (token: string | undefined, signal: AbortSignal) => Promise<P>,
      items: (p: P) => ReadonlyArray<A> | undefined,
      next: (p: P) => string | undefined
    ) =>
      Effect.gen(function*() {
        const out: Array<A> = []
        const seen = new Set<string>()
        let token: string | undefined = undefined
        for (let i = 0; i < MAX_PAGES; i++) {
          const current: string | undefined = token
          const p: P = yield* call(operation, (signal) => page(current, signal))
          out.push(...(items(p) ?? []))
          token = next(p)
          if (token === undefined || token === "") return out
          if (seen.has(token)) {
            return yield* new CloudMapError({
              operation,
              code: "RepeatedToken",
              message: `${operation} returned the same NextToken twice`,
              kind: "transient"
            })
          }
          seen.add(token)
        }
        return yield* new CloudMapError({
          operation,
          code: "TooManyPages",
          message: `${operation} returned more than ${MAX_PAGES} pages`,
          kind: "transient"
        })
      })

    const REVISION = "DiscoverInstancesRevision"
    const discoverRevisions = (services: ReadonlyArray<{ readonly httpName: string; readonly serviceName: string }>) =>
      Effect.gen(function*() {
        if (services.length === 0) return []
        yield* calls.acquireMany(services.length)
        const settled = yield* Effect.promise((signal) =>
          pool(services, options.concurrency, (s) => {
            const started = clock.currentTimeMillisUnsafe()
            return dataPlane.discoverRevision(s.httpName, s.serviceName, signal).then(
              (revision) => ({ ok: true as const, revision, ms: clock.currentTimeMillisUnsafe() - started }),
              (error: unknown) => ({ ok: false as const, error: classified(REVISION, error), ms: clock.currentTimeMillisUnsafe() - started })
            )
          })
        )
        let ok = 0
        for (const r of settled) {
          yield* Metric.update(duration(REVISION), r.ms / 1000)
          if (r.ok) ok++
          else yield* Metric.update(counter(REVISION, noteAttempts(outcomeOf(Exit.fail(r.error)), 1)), 1)
        }
        if (ok > 0) noteAttempts("ok", ok)
        if (ok > 0) yield* Metric.update(counter(REVISION, "ok"), ok)
        const throttled = settled.some((r) => !r.ok && r.error.kind === "throttled")
        if (throttled) yield* calls.slowDown
        // What failed and may pass is tried again with the usual backoff; not after throttling (the
        // next round checks those again: one by one, they held a round for minutes in a storm).
        return yield* Effect.forEach(settled, (r, i) =>
          r.ok
            ? Effect.succeed(Result.succeed(r.revision))
            : !throttled && retryable(r.error) && options.maxAttempts > 1
            ? Effect.result(
              Effect.andThen(
                Effect.sleep(200),
                call(REVISION, (signal) => dataPlane.discoverRevision(services[i]!.httpName, services[i]!.serviceName, signal), false)
              )
            )
            : Effect.succeed(Result.fail(r.error)), { concurrency: options.concurrency })
      })

    return CloudMap.of({
      listNamespaces: paginate(
        "ListNamespaces",
        (NextToken, abortSignal) =>
          client.send(new ListNamespacesCommand({ MaxResults: 100, ...(NextToken ? { NextToken } : {}) }), {
            abortSignal
          }),
        (p) =>
          p.Namespaces?.flatMap((n) =>
            n.Id !== undefined && n.Name !== undefined
              ? [{ id: n.Id, name: n.Name, httpName: n.Properties?.HttpProperties?.HttpName ?? n.Name }]
              : []
          ),
        (p) => p.NextToken
      ),
      listServices: (namespaceId) =>
        paginate(
          "ListServices",
          (NextToken, abortSignal) =>
            client.send(
              new ListServicesCommand({
                MaxResults: 100,
                Filters: [{ Name: "NAMESPACE_ID", Values: [namespaceId], Condition: "EQ" }],
                ...(NextToken ? { NextToken } : {})
              }),
              { abortSignal }
            ),
          (p) =>
            p.Services?.flatMap((s) =>
              s.Id !== undefined && s.Name !== undefined ? [{ id: s.Id, name: s.Name, createdAt: epochMillis(s.CreateDate) }] : []
            ),
          (p) => p.NextToken
        ),
      discoverInstances: (httpName, serviceName, healthFilter, first = false) =>
        call("DiscoverInstances", (signal) => dataPlane.discoverInstances(httpName, serviceName, healthFilter, signal), false, first),
      discoverRevision: (httpName, serviceName) =>
        call("DiscoverInstancesRevision", (signal) => dataPlane.discoverRevision(httpName, serviceName, signal), false),
      discoverRevisions,
      getServiceAttributes: (serviceId) =>
        call("GetServiceAttributes", (signal) => dataPlane.getServiceAttributes(serviceId, signal), false),
      listOperationsPage: (window, token) =>
        attempt("ListOperations", (signal) =>
          dataPlane.listOperations([
            { Name: "TYPE", Condition: "IN", Values: INSTANCE_OPERATIONS },
            { Name: "UPDATE_DATE", Condition: "BETWEEN", Values: updateDateValues(window) }
          ], token, signal), false),
      getOperation: (operationId) => attempt("GetOperation", (signal) => dataPlane.getOperation(operationId, signal), false),
      settle: Effect.all([calls.settle, reads.settle, controls.settle], { discard: true }),
      concurrency: options.concurrency
    })
  })
