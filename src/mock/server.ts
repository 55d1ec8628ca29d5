/**
 * Mock AWS Cloud Map server: a real HTTP server speaking Cloud Map's awsJson1_1 protocol, so the
 * real `@aws-sdk/client-servicediscovery` and the aws CLI can read and change it.
 * User documentation: docs/mock-cloudmap.md.
 *
 * Cloud Map API (what the SDK sends)
 *   POST /   (any path outside /_mock/), header `X-Amz-Target: Route53AutoNaming_v20170314.<Op>`,
 *   JSON body. Replies `application/x-amz-json-1.1` with `x-amzn-requestid`; errors are
 *   `{"__type":"<Code>","Message":"..."}` + header `x-amzn-errortype`, HTTP 400 (429 when
 *   throttled). Host and signature are ignored: clients must set `disableHostPrefix: true`
 *   (otherwise DiscoverInstances goes to `data-127.0.0.1`). Unknown target →
 *   `UnknownOperationException` (400); a body that is not a JSON object → `SerializationException`.
 *   Operations: the table in src/mock/dispatch.ts (semantics beside each operation); a request
 *   that does not decode is `InvalidInput` (400). Asynchronous writes are applied at once and return an
 *   OperationId; GetOperation/ListOperations report SUCCESS once `operationDelayMs` has passed.
 *
 * Control API (same port, JSON in and out; not counted in the call statistics)
 *   GET    /_mock/health           {"status":"ok"}
 *   GET    /_mock/state            full state: namespaces → services (revision, attributes)
 *                                  → instances (attributes, health)
 *   GET    /_mock/calls            {"since","total","operations":{"<Op>":{"total","outcomes":{"ok":n,
 *                                  "<ErrorCode>":n,"malformed":n}}},"services":{"<name>":{"<Op>":n}}}
 *   POST   /_mock/calls/reset      zero the call statistics
 *   GET    /_mock/faults           {"faults":[rules with id, fired, remaining]}
 *   POST   /_mock/faults           add a rule, or {"faults":[rules]} → {"ids":[...]}. A rule:
 *                                  {"kind":"throttle"|"5xx"|"latency"|"malformed"|"accessDenied",
 *                                   "operation"?: "<Op>"|["<Op>",..]|"*", "service"?: "<service name>",
 *                                   "times"?: N, "probability"?: 0..1, "status"?: 400..599,
 *                                   "code"?: "<__type>", "message"?: "...", "latencyMs"?: ms}
 *                                  (semantics: src/mock/faults.ts)
 *   DELETE /_mock/faults           remove all rules
 *   DELETE /_mock/faults/<id>      remove one rule (404 if unknown)
 *   POST   /_mock/options          {"emptyPages"?: true|false|N, "operationTargets"?: "service"|"instance",
 *                                  "updateDateUnit"?: "seconds"|"milliseconds", "operationRetentionMs"?: N,
 *                                  "foreignChurn"?: ops/s} paging and the feed's readings at run time
 *   POST   /_mock/reset            back to the fixture: state, random seed, faults and call
 *                                  statistics, operations (revisions and operation ids never go back)
 *
 * ECS task metadata stub (src/mock/task-metadata.ts): GET /task-metadata/task, the task document
 * with the mock's `zone` as AvailabilityZone (ECS_CONTAINER_METADATA_URI_V4=<url>/task-metadata).
 */
import { Buffer } from "node:buffer"
import { randomUUID } from "node:crypto"
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { setTimeout as sleep } from "node:timers/promises"
import { Effect, Result, Schema, type Scope } from "effect"
import {
  decideFaults,
  decodeFaultRequest,
  faultReply,
  faultRuleJson,
  type FaultRule,
  makeFaultRule,
  malformedBody
} from "./faults.ts"
import type { Fixture } from "./fixture.ts"
import { CallStats } from "./call-stats.ts"
import { runOperation, serviceNameOf } from "./dispatch.ts"
import { initialState } from "./initial-state.ts"
import { feedOptionsJson, type FeedReadings, MockOptionsRequest, withFeedOptions } from "./feed-readings.ts"
import { startForeignChurn } from "./foreign-churn.ts"
import { withEmptyPages } from "./paging.ts"
import { dumpState } from "./state-dump.ts"
import type { MockState } from "./state-model.ts"
import { makeRandom } from "./random.ts"
import { TASK_METADATA_TASK_PATH, taskMetadataDocument } from "./task-metadata.ts"

export const TARGET_PREFIX = "Route53AutoNaming_v20170314."
const AMZ_JSON = "application/x-amz-json-1.1"
const MAX_BODY_BYTES = 10 * 1024 * 1024
const DEFAULT_SEED = 0x5eed

export interface MockCloudMapOptions {
  /** 0 or omitted: a free port chosen by the kernel. */
  readonly port?: number
  /** Default 127.0.0.1. */
  readonly host?: string
  readonly fixture: Fixture
  /** Seeds DiscoverInstances' random order and probabilistic faults (default 0x5eed). */
  readonly seed?: number
  /** Receives one JSON line per lifecycle event (and per request with `logRequests`). */
  readonly log?: (line: string) => void
  readonly logRequests?: boolean
  /** Overrides the fixture's `emptyPages`. */
  readonly emptyPages?: boolean | number
  /** AvailabilityZone of the task metadata stub (default: the fixture's region + "a"). */
  readonly zone?: string
  /** Operations report SUBMITTED/PENDING for this long, then SUCCESS (default 0). */
  readonly operationDelayMs?: number
  /** Operations older than this are gone (default 90 days). */
  readonly operationRetentionMs?: number
  /** The operation feed's unpublished details, as this mock reads them (./feed-readings.ts). */
  readonly feedReadings?: FeedReadings
  /** Operations per second made in a namespace of the mock's own (./foreign-churn.ts); default 0. */
  readonly foreignChurn?: number
  /** The mock's clock, epoch ms (default Date.now; tests move time with it). */
  readonly clock?: () => number
}

export interface MockCloudMapHandle {
  /** `http://host:port`, the SDK's `endpoint`. */
  readonly url: string
  readonly port: number
  close(): Promise<void>
}

class BodyTooLarge extends Error {}

const readBody = (req: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    let size = 0
    req.on("data", (chunk: Buffer) => {
      size += chunk.length
      if (size > MAX_BODY_BYTES) {
        reject(new BodyTooLarge())
        req.destroy()
        return
      }
      chunks.push(chunk)
    })
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")))
    req.on("error", reject)
  })

const send = (res: ServerResponse, status: number, body: string, headers: Record<string, string>): void => {
  if (res.headersSent || res.destroyed) return
  res.writeHead(status, { ...headers, "content-length": String(Buffer.byteLength(body)) })
  res.end(body)
}

const sendJson = (res: ServerResponse, status: number, value: unknown): void =>
  send(res, status, JSON.stringify(value), { "content-type": "application/json" })

/** Starts the mock on `host:port` (default 127.0.0.1, random port). */
export const startMockCloudMap = async (options: MockCloudMapOptions): Promise<MockCloudMapHandle> => {
  const host = options.host ?? "127.0.0.1"
  const seed = options.seed ?? DEFAULT_SEED
  const log = options.log
  const logLine = (level: string, message: string, fields: Record<string, unknown> = {}) => {
    if (log !== undefined) log(JSON.stringify({ level, message, ...fields }))
  }
  const clock = options.clock ?? Date.now
  const { emptyPages, operationDelayMs, operationRetentionMs, feedReadings } = options
  const fresh = (revisionBase: number, operationBase: number): MockState =>
    initialState(options.fixture, {
      now: clock(),
      revisionBase,
      operationBase,
      ...(emptyPages === undefined ? {} : { emptyPages }),
      ...(operationDelayMs === undefined ? {} : { operationDelayMs }),
      ...(operationRetentionMs === undefined ? {} : { operationRetentionMs }),
      ...(feedReadings === undefined ? {} : { feedReadings })
    })

  let state = fresh(0, 0)
  let discoverRandom = makeRandom(seed)
  let faultRandom = makeRandom(seed ^ 0x9e3779b9)
  let faults: ReadonlyArray<FaultRule> = []
  let faultCounter = 0
  let calls = new CallStats()
  const closing = new AbortController()
  let foreignChurn = 0
  let stopChurn = () => {}
  const churnAt = (perSecond: number) => {
    stopChurn()
    foreignChurn = perSecond
    stopChurn = startForeignChurn(perSecond, (f) => (state = f(state)), () => ({ now: clock(), random: discoverRandom }))
  }
  churnAt(options.foreignChurn ?? 0)

  const handleAws = async (req: IncomingMessage, res: ServerResponse, body: string): Promise<void> => {
    const started = performance.now()
    const requestId = randomUUID()
    const target = req.headers["x-amz-target"]
    const operation = typeof target === "string" && target.startsWith(TARGET_PREFIX)
      ? target.slice(TARGET_PREFIX.length)
      : typeof target === "string"
      ? target
      : "(none)"
    const reply = (status: number, text: string, outcome: string, service: string | undefined) => {
      const headers: Record<string, string> = { "content-type": AMZ_JSON, "x-amzn-requestid": requestId }
      if (status !== 200) headers["x-amzn-errortype"] = outcome
      send(res, status, text, headers)
      calls.record(operation, service, outcome)
      if (options.logRequests === true) {
        logLine("DEBUG", "request", {
          operation,
          service,
          outcome,
          status,
          ms: Math.round((performance.now() - started) * 10) / 10
        })
      }
    }
    const error = (status: number, code: string, message: string, service: string | undefined, fields = {}) =>
      reply(status, JSON.stringify({ __type: code, Message: message, ...fields }), code, service)

    if (typeof target !== "string" || !target.startsWith(TARGET_PREFIX)) {
      return error(400, "UnknownOperationException", `Unknown target: ${operation}`, undefined)
    }
    let input: Record<string, unknown>
    try {
      const parsed: unknown = body.trim() === "" ? {} : JSON.parse(body)
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error("not an object")
      input = parsed as Record<string, unknown>
    } catch {
      return error(400, "SerializationException", "The request body is not a JSON object", undefined)
    }
    const service = serviceNameOf(state, operation, input)
    const { rules, decision } = decideFaults(faults, { operation, service }, faultRandom)
    faults = rules
    if (decision.latencyMs > 0) {
      try {
        await sleep(decision.latencyMs, undefined, { signal: closing.signal })
      } catch {
        return // server closing
      }
    }
    const fault = decision.fault
    if (fault !== undefined && fault.kind !== "malformed") {
      const r = faultReply(fault, operation, state.accountId)
      return reply(r.status, r.body, r.outcome, service)
    }
    const result = runOperation(state, operation, input, { now: clock(), random: discoverRandom })
    if (Result.isFailure(result)) {
      const e = result.failure
      return error(e.status, e.code, e.message, service, e.fields)
    }
    state = result.success.state
    const text = JSON.stringify(result.success.output)
    if (fault !== undefined) return reply(200, malformedBody(text), "malformed", service)
    return reply(200, text, "ok", service)
  }

  const parseJson = (body: string): Result.Result<unknown, string> => {
    try {
      return Result.succeed(body.trim() === "" ? {} : JSON.parse(body))
    } catch {
      return Result.fail("body is not valid JSON")
    }
  }
  const decodeJson = <A>(schema: Schema.Decoder<A>, body: string): Result.Result<A, string> => {
    const parsed = parseJson(body)
    if (Result.isFailure(parsed)) return Result.fail(parsed.failure)
    const r = Schema.decodeUnknownResult(schema)(parsed.success, { errors: "all", onExcessProperty: "error" })
    return Result.isFailure(r) ? Result.fail(r.failure.message) : Result.succeed(r.success)
  }

  const handleControl = (method: string, path: string, res: ServerResponse, body: string): void => {
    if (method === "GET" && path === "/_mock/health") return sendJson(res, 200, { status: "ok" })
    if (method === "GET" && path === "/_mock/state") return sendJson(res, 200, dumpState(state))
    if (method === "GET" && path === "/_mock/calls") return sendJson(res, 200, calls)
    if (method === "POST" && path === "/_mock/calls/reset") {
      calls = new CallStats()
      return sendJson(res, 200, { ok: true })
    }
    if (method === "GET" && path === "/_mock/faults") return sendJson(res, 200, { faults: faults.map(faultRuleJson) })
    if (method === "POST" && path === "/_mock/faults") {
      const parsed = parseJson(body)
      const r = Result.isFailure(parsed) ? Result.fail(parsed.failure) : decodeFaultRequest(parsed.success)
      if (Result.isFailure(r)) return sendJson(res, 400, { error: `invalid fault rule: ${r.failure}` })
      const added = r.success.map((spec) => makeFaultRule(spec, `f${++faultCounter}`))
      faults = [...faults, ...added]
      logLine("INFO", "faults added", { faults: added.map(faultRuleJson) })
      return sendJson(res, 200, { ids: added.map((f) => f.id) })
    }
    if (method === "DELETE" && path === "/_mock/faults") {
      const removed = faults.length
      faults = []
      logLine("INFO", "faults cleared", { removed })
      return sendJson(res, 200, { removed })
    }
    if (method === "DELETE" && path.startsWith("/_mock/faults/")) {
      const id = decodeURIComponent(path.slice("/_mock/faults/".length))
      if (!faults.some((f) => f.id === id)) return sendJson(res, 404, { error: `no fault rule ${id}` })
      faults = faults.filter((f) => f.id !== id)
      return sendJson(res, 200, { removed: 1 })
    }
    if (method === "POST" && path === "/_mock/options") {
      const r = decodeJson(MockOptionsRequest, body)
      if (Result.isFailure(r)) return sendJson(res, 400, { error: `invalid options: ${r.failure}` })
      if (r.success.emptyPages !== undefined) state = withEmptyPages(state, r.success.emptyPages)
      state = withFeedOptions(state, r.success)
      if (r.success.foreignChurn !== undefined) churnAt(r.success.foreignChurn)
      logLine("INFO", "options set", r.success)
      return sendJson(res, 200, { emptyPages: dumpState(state)["emptyPages"], ...feedOptionsJson(state, foreignChurn) })
    }
    if (method === "POST" && path === "/_mock/reset") {
      state = fresh(state.revisionClock, state.operationCounter)
      discoverRandom = makeRandom(seed)
      faultRandom = makeRandom(seed ^ 0x9e3779b9)
      faults = []
      calls = new CallStats()
      logLine("INFO", "mock Cloud Map reset to its fixture")
      return sendJson(res, 200, { ok: true })
    }
    return sendJson(res, 404, { error: `unknown control endpoint ${method} ${path}` })
  }

  const server: Server = createServer((req, res) => {
    readBody(req).then(
      (body) => {
        const path = (req.url ?? "/").split("?")[0] ?? "/"
        if (path === "/_mock" || path.startsWith("/_mock/")) return handleControl(req.method ?? "GET", path, res, body)
        if (req.method === "GET" && path === TASK_METADATA_TASK_PATH) return sendJson(res, 200, taskMetadataDocument(state, options.zone))
        if (req.method !== "POST") {
          return sendJson(res, 404, { error: "Cloud Map requests are POST / with X-Amz-Target; see /_mock/ for control" })
        }
        return handleAws(req, res, body)
      },
      (e: unknown) => {
        if (e instanceof BodyTooLarge) sendJson(res, 413, { error: "request body too large" })
      }
    ).catch((e: unknown) => {
      send(res, 500, JSON.stringify({ __type: "InternalFailure", Message: `mock error: ${String(e)}` }), {
        "content-type": AMZ_JSON,
        "x-amzn-errortype": "InternalFailure"
      })
    })
  })
  server.keepAliveTimeout = 5_000

  await new Promise<void>((resolve, reject) => {
    const onError = (e: Error) => reject(e)
    server.once("error", onError)
    server.listen(options.port ?? 0, host, () => {
      server.off("error", onError)
      resolve()
    })
  })
  const port = (server.address() as AddressInfo).port
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`
  let closed: Promise<void> | undefined
  return {
    url,
    port,
    close: () => {
      closed ??= new Promise<void>((resolve) => {
        closing.abort()
        stopChurn()
        server.close(() => resolve())
        server.closeAllConnections()
      })
      return closed
    }
  }
}

export class MockStartError extends Schema.TaggedError<MockStartError>()("MockStartError", {
  message: Schema.String,
  host: Schema.String,
  port: Schema.Number
}) {}

/** The mock as a scoped resource: started on acquire, closed when the scope closes. */
export const mockCloudMapResource = (
  options: MockCloudMapOptions
): Effect.Effect<{ readonly url: string; readonly port: number }, MockStartError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: () => startMockCloudMap(options),
      catch: (e) => {
        const host = options.host ?? "127.0.0.1"
        const port = options.port ?? 0
        return new MockStartError({
          host,
          port,
          message: `cannot start mock Cloud Map on ${host}:${port}: ${e instanceof Error ? e.message : String(e)}`
        })
      }
    }),
    (handle) => Effect.promise(() => handle.close())
  ).pipe(Effect.map((handle) => ({ url: handle.url, port: handle.port })))
