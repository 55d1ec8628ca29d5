/**
 * The agent's availability zone, for zone-aware routing (ZONE_AFFINITY): AVAILABILITY_ZONE when
 * set, otherwise the `AvailabilityZone` of the ECS task metadata v4 task document
 * (`$ECS_CONTAINER_METADATA_URI_V4/task`). Learning it never fails: a zone that cannot be learned
 * is Unknown with a reason an operator can act on, and the agent then routes to every zone.
 */
import { Context, Effect, Layer, Schedule, Schema } from "effect"
import { AgentConfigService } from "../config/service.ts"

export type AgentZone =
  | { readonly _tag: "Known"; readonly zone: string; readonly source: "AVAILABILITY_ZONE" | "task metadata" }
  | { readonly _tag: "Unknown"; readonly reason: string }

/** One request to the metadata endpoint gets this long (the endpoint is local to the task). */
const ATTEMPT_TIMEOUT_MS = 2_000
/** Retries after the first attempt, for answers that may change: no connection, timeouts, 5xx, 429. */
const RETRIES = 3
/** 100 ms, 200 ms, 400 ms between attempts. */
const BACKOFF = Schedule.exponential("100 millis", 2)

const ZoneName = Schema.String.check(Schema.isPattern(/^[a-z0-9-]{1,64}$/))
/** The part of the task document the agent reads; every other field is ignored. */
const TaskDocument = Schema.fromJsonString(Schema.Struct({ AvailabilityZone: Schema.optionalKey(Schema.Unknown) }))

class MetadataProblem extends Schema.TaggedError<MetadataProblem>()("MetadataProblem", {
  reason: Schema.String,
  retryable: Schema.Boolean
}) {}

const unknown = (reason: string): AgentZone => ({ _tag: "Unknown", reason })

/** What went wrong with a fetch, in the words of the runtime's network stack (its cause, when it has one). */
const describeFetchError = (e: unknown): string => {
  if (e instanceof Error && e.name === "TimeoutError") return `no answer within ${ATTEMPT_TIMEOUT_MS / 1000} s`
  const cause = e instanceof Error ? e.cause : undefined
  if (cause instanceof Error && cause.message !== "") return cause.message
  return e instanceof Error ? e.message : String(e)
}

const shown = (value: unknown): string => {
  const text = JSON.stringify(value) ?? String(value)
  return text.length > 80 ? `${text.slice(0, 77)}...` : text
}

/** One GET of the task document: its status and body. */
const get = (url: string) =>
  Effect.tryPromise({
    try: async (signal) => {
      const res = await fetch(url, {
        headers: { accept: "application/json" },
        signal: AbortSignal.any([signal, AbortSignal.timeout(ATTEMPT_TIMEOUT_MS)])
      })
      return { status: res.status, body: await res.text() }
    },
    catch: (e) => new MetadataProblem({ reason: `task metadata ${url} is not reachable: ${describeFetchError(e)}`, retryable: true })
  })

const zoneOf = Effect.fnUntraced(function*(url: string): Effect.fn.Return<string, MetadataProblem> {
  const { status, body } = yield* get(url)
  if (status < 200 || status > 299) {
    return yield* new MetadataProblem({ reason: `task metadata ${url} answered ${status}`, retryable: status >= 500 || status === 429 })
  }
  const document = yield* Schema.decodeUnknownEffect(TaskDocument)(body).pipe(
    Effect.mapError(() => new MetadataProblem({ reason: `task metadata ${url} did not answer a JSON object`, retryable: false }))
  )
  const raw = document.AvailabilityZone
  if (raw === undefined || raw === null || raw === "") {
    return yield* new MetadataProblem({ reason: `task metadata ${url} has no AvailabilityZone`, retryable: false })
  }
  return yield* Schema.decodeUnknownEffect(ZoneName)(raw).pipe(
    Effect.mapError(() =>
      new MetadataProblem({
        reason: `task metadata ${url} has an AvailabilityZone that is not a zone name: ${shown(raw)}`,
        retryable: false
      })
    )
  )
})

/** The task document's URL: `<uri>/task`. */
const taskUrl = (uri: string): string => `${uri.replace(/\/+$/, "")}/task`

/**
 * AVAILABILITY_ZONE when set (no request); otherwise the task metadata endpoint's zone, each
 * attempt limited to 2 s and transient failures retried 3 times. Never fails.
 */
export const resolveAgentZone = (options: {
  readonly availabilityZone: string | undefined
  readonly taskMetadataUri: string | undefined
}): Effect.Effect<AgentZone> => {
  if (options.availabilityZone !== undefined) {
    return Effect.succeed({ _tag: "Known", zone: options.availabilityZone, source: "AVAILABILITY_ZONE" })
  }
  if (options.taskMetadataUri === undefined) {
    return Effect.succeed(unknown("neither AVAILABILITY_ZONE nor ECS_CONTAINER_METADATA_URI_V4 is set"))
  }
  const url = taskUrl(options.taskMetadataUri)
  return zoneOf(url).pipe(
    Effect.retry({ schedule: BACKOFF, times: RETRIES, while: (e) => e.retryable }),
    Effect.map((zone): AgentZone => ({ _tag: "Known", zone, source: "task metadata" })),
    Effect.catch((e) => Effect.succeed(unknown(e.reason))),
    Effect.withSpan("resolveAgentZone")
  )
}

/**
 * The agent's zone, learned once at start-up, and only with ZONE_AFFINITY on (no request
 * otherwise). An unknown zone is logged as a warning and never stops the agent.
 */
export class AgentZoneService extends Context.Service<AgentZoneService, AgentZone>()("cloudmap-haproxy/agent/AgentZone") {
  static readonly layer = Layer.effect(
    AgentZoneService,
    Effect.gen(function*() {
      const config = yield* AgentConfigService
      if (!config.zoneAffinity) return AgentZoneService.of(unknown("ZONE_AFFINITY is off"))
      const zone = yield* resolveAgentZone({ availabilityZone: config.availabilityZone, taskMetadataUri: config.taskMetadataUri })
      if (zone._tag === "Known") {
        yield* Effect.logInfo("availability zone", { zone: zone.zone, source: zone.source })
      } else {
        yield* Effect.logWarning("zone affinity is off: the agent's availability zone is unknown", { reason: zone.reason })
      }
      return AgentZoneService.of(zone)
    })
  )
  static readonly layerOf = (zone: AgentZone) => Layer.succeed(AgentZoneService, zone)
}
