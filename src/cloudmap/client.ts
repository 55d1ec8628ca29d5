/**
 * Cloud Map as an Effect service. Every call goes through one token bucket and one concurrency
 * limit, is bounded by a timeout, and is retried with jittered exponential backoff when the
 * failure is transient (throttling, 5xx, timeouts, connection errors). Permission errors name
 * the IAM action to grant. List operations are paginated to the end.
 */
import {
  DiscoverInstancesCommand,
  DiscoverInstancesRevisionCommand,
  ListNamespacesCommand,
  ListServicesCommand,
  ServiceDiscoveryClient
} from "@aws-sdk/client-servicediscovery"
import { Cause, Context, Effect, Exit, Layer, Metric, Option, Schedule, Schema, Semaphore } from "effect"
import { cloudMapCalls, cloudMapCallSeconds } from "../observability/metrics.ts"
import type { HealthFilter, InstanceHealth } from "../model/snapshot.ts"
import { makeRateLimiter } from "./rate-limiter.ts"


export class CloudMapError extends Schema.TaggedError<CloudMapError>()("CloudMapError", {
  operation: Schema.String,
  /** Cloud Map error code (ServiceNotFound, RequestLimitExceeded, ...) or Timeout / NetworkError. */
  code: Schema.String,
  message: Schema.String,
  kind: Schema.Literals(["throttled", "transient", "denied", "notFound", "invalid"])
}) {}

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

export interface InstanceInfo {
  readonly id: string
  readonly attributes: Readonly<Record<string, string>>
  readonly health: InstanceHealth | undefined
}

/**
 * MaxResults of every DiscoverInstances call: Cloud Map's largest page, and also its per-service
 * instance maximum. An answer of exactly this many instances may have been cut short.
 */
export const DISCOVER_MAX_RESULTS = 1000

export interface DiscoveredInstances {
  readonly instances: ReadonlyArray<InstanceInfo>
  readonly revision: number | undefined
  /** Cloud Map returned DISCOVER_MAX_RESULTS instances: there may be more than it said. */
  readonly truncated: boolean
}

export interface CloudMapClientOptions {
  readonly region: string
  readonly endpoint: string | undefined
  readonly concurrency: number
  readonly requestsPerSecond: number
  readonly timeoutSeconds: number
  readonly maxAttempts: number
}

export class CloudMap extends Context.Service<CloudMap, {
  readonly listNamespaces: Effect.Effect<ReadonlyArray<NamespaceInfo>, CloudMapError>
  readonly listServices: (namespaceId: string) => Effect.Effect<ReadonlyArray<ServiceInfo>, CloudMapError>
  readonly discoverInstances: (
    httpName: string,
    serviceName: string,
    healthFilter: HealthFilter
  ) => Effect.Effect<DiscoveredInstances, CloudMapError>
  readonly discoverRevision: (httpName: string, serviceName: string) => Effect.Effect<number | undefined, CloudMapError>
}>()("cloudmap/CloudMap") {
  static readonly layer = (options: CloudMapClientOptions) => Layer.effect(CloudMap, makeCloudMap(options))
}

/** Pages until Cloud Map stops returning a token; a repeated token or too many pages is an error. */
const MAX_PAGES = 10_000

const THROTTLE_CODES = new Set([
  "RequestLimitExceeded",
  "ThrottlingException",
  "Throttling",
  "TooManyRequestsException",
  "RequestThrottled",
  "RequestThrottledException",
  "SlowDown"
])
const DENIED_CODES = new Set([
  "AccessDeniedException",
  "AccessDenied",
  "UnauthorizedOperation",
  "UnrecognizedClientException",
  "InvalidClientTokenId",
  "ExpiredTokenException",
  "InvalidSignatureException",
  "SignatureDoesNotMatch"
])
const NOT_FOUND_CODES = new Set(["NamespaceNotFound", "ServiceNotFound", "InstanceNotFound"])

/** Maps whatever the SDK threw into a classified CloudMapError. Exported for tests. */
export const classifyError = (operation: string, error: unknown): CloudMapError => {
  const e = error as { name?: string; message?: string; code?: string; $fault?: string; $metadata?: { httpStatusCode?: number } }
  const code = String((e?.name !== undefined && e.name !== "Error" ? e.name : undefined) ?? e?.code ?? "UnknownError")
  const status = e?.$metadata?.httpStatusCode
  const text = String(e?.message ?? error).split("\n")[0]!.slice(0, 300)
  if (THROTTLE_CODES.has(code) || status === 429) {
    return new CloudMapError({ operation, code, message: `Cloud Map throttled ${operation}: ${text}`, kind: "throttled" })
  }
  if (DENIED_CODES.has(code) || status === 403) {
    return new CloudMapError({
      operation,
      code,
      kind: "denied",
      message: code.startsWith("Access") || code === "UnauthorizedOperation"
        ? `not allowed to call ${operation}: grant the IAM action servicediscovery:${operation} to the task role (${text})`
        : `AWS rejected the credentials for ${operation} (${code}): check the task role or AWS credentials (${text})`
    })
  }
  if (NOT_FOUND_CODES.has(code)) return new CloudMapError({ operation, code, message: text, kind: "notFound" })
  if (code === "InvalidInput" || code === "ValidationException") {
    return new CloudMapError({ operation, code, message: text, kind: "invalid" })
  }
  // 5xx, network failures, malformed responses, unknown errors: transient.
  return new CloudMapError({ operation, code, message: `${operation} failed (${code}): ${text}`, kind: "transient" })
}

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
    const limiter = yield* makeRateLimiter(options.requestsPerSecond)
    const semaphore = yield* Semaphore.make(options.concurrency)
    const timeoutMs = options.timeoutSeconds * 1000

    const outcomeOf = (exit: Exit.Exit<unknown, CloudMapError>): string => {
      if (Exit.isSuccess(exit)) return "ok"
      const error = Cause.findErrorOption(exit.cause)
      if (Option.isNone(error)) return "interrupted"
      return error.value.code === "Timeout" ? "timeout" : error.value.kind === "throttled" ? "throttled" :
        error.value.kind === "denied" ? "denied" : "error"
    }

    const attempt = <A>(operation: string, send: (signal: AbortSignal) => Promise<A>) =>
      Effect.gen(function*() {
        yield* limiter.acquire
        const started = performance.now()
        const exit = yield* Effect.tryPromise({
          try: (signal) => send(signal),
          catch: (error) => classifyError(operation, error)
        }).pipe(
          Effect.timeoutOrElse({
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
          }),
          Effect.exit
        )
        const outcome = outcomeOf(exit)
        if (outcome === "throttled") yield* limiter.slowDown
        yield* Metric.update(Metric.withAttributes(cloudMapCalls, { operation, outcome }), 1)
        yield* Metric.update(
          Metric.withAttributes(cloudMapCallSeconds, { operation }),
          (performance.now() - started) / 1000
        )
        return yield* exit
      }).pipe(semaphore.withPermits(1))

    const backoff = Schedule.min([Schedule.exponential("200 millis", 2), Schedule.spaced("8 seconds")]).pipe(
      Schedule.jittered
    )

    const call = <A>(operation: string, send: (signal: AbortSignal) => Promise<A>) =>
      attempt(operation, send).pipe(
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
      discoverInstances: (httpName, serviceName, healthFilter) =>
        call("DiscoverInstances", (abortSignal) =>
          client.send(
            new DiscoverInstancesCommand({
              NamespaceName: httpName,
              ServiceName: serviceName,
              MaxResults: DISCOVER_MAX_RESULTS,
              HealthStatus: healthFilter
            }),
            { abortSignal }
          )).pipe(
            Effect.map((r): DiscoveredInstances => ({
              revision: r.InstancesRevision,
              truncated: (r.Instances?.length ?? 0) >= DISCOVER_MAX_RESULTS,
              instances: (r.Instances ?? []).flatMap((i) =>
                i.InstanceId === undefined
                  ? []
                  : [{
                    id: i.InstanceId,
                    attributes: i.Attributes ?? {},
                    health: i.HealthStatus === "HEALTHY" || i.HealthStatus === "UNHEALTHY" || i.HealthStatus === "UNKNOWN"
                      ? i.HealthStatus
                      : undefined
                  }]
              )
            }))
          ),
      discoverRevision: (httpName, serviceName) =>
        call("DiscoverInstancesRevision", (abortSignal) =>
          client.send(new DiscoverInstancesRevisionCommand({ NamespaceName: httpName, ServiceName: serviceName }), {
            abortSignal
          })).pipe(Effect.map((r) => r.InstancesRevision))
    })
  })
