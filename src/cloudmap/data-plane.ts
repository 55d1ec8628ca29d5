/**
 * The hot calls, without the SDK's middleware stack: the two data-plane calls, DiscoverInstances
 * and DiscoverInstancesRevision (every service, every round), and GetServiceAttributes (every
 * service every SERVICE_ATTRIBUTES_RATE: 33 calls a second at 3,000 services, which through the
 * SDK cost 1 % of a CPU): built from the SDK's own parts (its resolved endpoint, credential
 * provider and SHA-256, and its SigV4 signer), sent with `fetch` (pooled keep-alive connections),
 * answered as plain data. Measured here under bun (JIT on): a signed request costs about 0.03 ms
 * of CPU with fetch, 0.07 ms with node:http, and about 0.3 ms through the SDK's `client.send`
 * (its middleware stack and schema (de)serializers); signing itself about 0.03 ms.
 *
 * Failures are thrown as objects shaped like the SDK's errors (`name` = Cloud Map's error code,
 * `$metadata.httpStatusCode`), so the client classifies, retries and meters them exactly as it
 * does the SDK's (client.ts `classifyError`). The change feed's ListOperations (every
 * CHANGE_FEED_RATE) and GetOperation (every change) come this way too: through the SDK each opened
 * a connection and ran its middleware, most of the agent's CPU at rest at 100 services
 * (BENCHMARKS.md). The List* listings (a few a minute) stay on the SDK.
 */
import type { ServiceDiscoveryClient } from "@aws-sdk/client-servicediscovery"
import { SignatureV4 } from "@smithy/signature-v4"
import type { HealthFilter, InstanceHealth } from "../model/snapshot.ts"

export const DISCOVER_MAX_RESULTS = 1000

export interface InstanceInfo {
  readonly id: string
  readonly attributes: Readonly<Record<string, string>>
  readonly health: InstanceHealth | undefined
}

export interface DiscoveredInstances {
  readonly instances: ReadonlyArray<InstanceInfo>
  readonly revision: number | undefined
  /** Cloud Map returned DISCOVER_MAX_RESULTS instances: there may be more than it said. */
  readonly truncated: boolean
}

export interface DataPlane {
  readonly discoverInstances: (
    namespace: string,
    service: string,
    healthFilter: HealthFilter,
    signal: AbortSignal
  ) => Promise<DiscoveredInstances>
  readonly discoverRevision: (namespace: string, service: string, signal: AbortSignal) => Promise<number | undefined>
  /** GetServiceAttributes, on the control-plane endpoint (no `data-` prefix). */
  readonly getServiceAttributes: (serviceId: string, signal: AbortSignal) => Promise<Readonly<Record<string, string>>>
  /** One page of ListOperations (control plane) with these filters. */
  readonly listOperations: (filters: ReadonlyArray<OperationFilter>, token: string | undefined, signal: AbortSignal) => Promise<OperationsPage>
  /** GetOperation (control plane): its status and the service and instance it targets. */
  readonly getOperation: (operationId: string, signal: AbortSignal) => Promise<OperationInfo>
}

export interface OperationFilter {
  readonly Name: string
  readonly Condition: string
  readonly Values: ReadonlyArray<string>
}

export interface OperationSummary {
  readonly id: string
  readonly status: string
}

export interface OperationsPage {
  readonly operations: ReadonlyArray<OperationSummary>
  readonly nextToken: string | undefined
}

export interface OperationInfo {
  readonly id: string
  readonly status: string
  /** Targets.SERVICE: the service whose instances changed. */
  readonly serviceId: string | undefined
  readonly instanceId: string | undefined
}

const text = (value: unknown): string | undefined => (typeof value === "string" ? value : undefined)

/** An error shaped like the SDK's, for `classifyError`. */
const awsError = (name: string, message: string, status: number | undefined) =>
  Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } })

interface ResolvedConfig {
  readonly credentials: ConstructorParameters<typeof SignatureV4>[0]["credentials"]
  readonly sha256: ConstructorParameters<typeof SignatureV4>[0]["sha256"]
  readonly endpointProvider: (params: Record<string, unknown>, context: Record<string, unknown>) => { readonly url: URL | string }
  readonly useFipsEndpoint: () => Promise<boolean>
  readonly useDualstackEndpoint: () => Promise<boolean>
}

/**
 * An endpoint: a custom endpoint as given (the SDK then disables the host prefix), or the SDK's
 * own endpoint for the Region, with Cloud Map's `data-` host prefix for the data plane.
 */
const endpointOf = async (client: ServiceDiscoveryClient, region: string, custom: string | undefined, plane: "data" | "control"): Promise<URL> => {
  if (custom !== undefined) return new URL(custom)
  const config = client.config as unknown as ResolvedConfig
  const resolved = config.endpointProvider({
    Region: region,
    UseFIPS: await config.useFipsEndpoint(),
    UseDualStack: await config.useDualstackEndpoint()
  }, {})
  const url = new URL(String(resolved.url))
  if (plane === "data") url.hostname = `data-${url.hostname}`
  return url
}

const health = (value: unknown): InstanceHealth | undefined =>
  value === "HEALTHY" || value === "UNHEALTHY" || value === "UNKNOWN" ? value : undefined

interface WireInstance {
  readonly InstanceId?: unknown
  readonly Attributes?: unknown
  readonly HealthStatus?: unknown
}

const attributesOf = (value: unknown): Readonly<Record<string, string>> => {
  if (value === null || typeof value !== "object") return {}
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(value)) if (typeof v === "string") out[k] = v
  return out
}

const revisionOf = (value: unknown): number | undefined => (typeof value === "number" && Number.isFinite(value) ? value : undefined)

export const makeDataPlane = (
  client: ServiceDiscoveryClient,
  options: { readonly region: string; readonly endpoint: string | undefined; readonly timeoutMs: number }
): DataPlane => {
  const config = client.config as unknown as ResolvedConfig
  const signer = new SignatureV4({ credentials: config.credentials, region: options.region, service: "servicediscovery", sha256: config.sha256 })
  const endpoints = {
    data: endpointOf(client, options.region, options.endpoint, "data"),
    control: endpointOf(client, options.region, options.endpoint, "control")
  }
  const post = async (
    operation: string,
    input: Record<string, unknown>,
    signal: AbortSignal,
    plane: "data" | "control" = "data"
  ): Promise<Record<string, unknown>> => {
    const url = await endpoints[plane]
    const body = JSON.stringify(input)
    const port = url.port === "" ? undefined : Number(url.port)
    const signed = await signer.sign({
      method: "POST",
      protocol: url.protocol,
      hostname: url.hostname,
      ...(port === undefined ? {} : { port }),
      path: url.pathname,
      query: {},
      headers: {
        "content-type": "application/x-amz-json-1.1",
        "x-amz-target": `Route53AutoNaming_v20170314.${operation}`,
        host: url.host
      },
      body
    })
    // fetch: pooled keep-alive connections on every runtime, and in Bun half the CPU of node:http.
    let res: Response
    try {
      res = await fetch(url, {
        method: "POST",
        headers: signed.headers,
        body,
        signal: AbortSignal.any([signal, AbortSignal.timeout(options.timeoutMs)])
      })
    } catch (e) {
      if ((e as Error)?.name === "TimeoutError") throw awsError("TimeoutError", `${operation}: no answer within ${options.timeoutMs} ms`, undefined)
      throw e
    }
    const status = res.status
    let parsed: Record<string, unknown>
    try {
      const text = await res.text()
      parsed = text === "" ? {} : JSON.parse(text)
    } catch {
      throw awsError("MalformedResponse", `${operation}: the answer is not JSON (HTTP ${status})`, status)
    }
    if (status >= 200 && status < 300) return parsed
    // awsJson1_1 errors: `__type` (maybe `prefix#Code`), or the x-amzn-errortype header.
    const raw = String(parsed.__type ?? res.headers.get("x-amzn-errortype") ?? `Http${status}`)
    const code = raw.split("#").pop()!.split(":")[0]!
    throw awsError(code, String(parsed.message ?? parsed.Message ?? `HTTP ${status}`), status)
  }

  return {
    discoverInstances: async (namespace, service, healthFilter, signal) => {
      const out = await post(
        "DiscoverInstances",
        { NamespaceName: namespace, ServiceName: service, MaxResults: DISCOVER_MAX_RESULTS, HealthStatus: healthFilter },
        signal
      )
      const wire = Array.isArray(out.Instances) ? (out.Instances as ReadonlyArray<WireInstance>) : []
      const instances: Array<InstanceInfo> = []
      for (const i of wire) {
        if (typeof i.InstanceId === "string") instances.push({ id: i.InstanceId, attributes: attributesOf(i.Attributes), health: health(i.HealthStatus) })
      }
      return { instances, revision: revisionOf(out.InstancesRevision), truncated: wire.length >= DISCOVER_MAX_RESULTS }
    },
    discoverRevision: async (namespace, service, signal) =>
      revisionOf((await post("DiscoverInstancesRevision", { NamespaceName: namespace, ServiceName: service }, signal)).InstancesRevision),
    getServiceAttributes: async (serviceId, signal) => {
      const out = await post("GetServiceAttributes", { ServiceId: serviceId }, signal, "control")
      const attributes = (out.ServiceAttributes as { readonly Attributes?: unknown } | undefined)?.Attributes
      return attributesOf(attributes)
    },
    listOperations: async (filters, token, signal) => {
      const out = await post("ListOperations", { MaxResults: 100, Filters: filters, ...(token === undefined ? {} : { NextToken: token }) }, signal, "control")
      const wire = Array.isArray(out.Operations) ? (out.Operations as ReadonlyArray<{ readonly Id?: unknown; readonly Status?: unknown }>) : []
      const next = text(out.NextToken)
      return {
        operations: wire.flatMap((o) => typeof o.Id === "string" ? [{ id: o.Id, status: text(o.Status) ?? "UNKNOWN" }] : []),
        nextToken: next === "" ? undefined : next
      }
    },
    getOperation: async (operationId, signal) => {
      const out = await post("GetOperation", { OperationId: operationId }, signal, "control")
      const operation = (out.Operation ?? {}) as { readonly Status?: unknown; readonly Targets?: unknown }
      const targets = attributesOf(operation.Targets)
      return { id: operationId, status: text(operation.Status) ?? "UNKNOWN", serviceId: targets["SERVICE"], instanceId: targets["INSTANCE"] }
    }
  }
}
