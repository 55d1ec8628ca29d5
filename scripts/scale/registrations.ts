/**
 * The registrations of one size's window: REGISTRATIONS new instances, one every
 * window / (REGISTRATIONS + 1), each on its own fresh echo server on 127.0.0.1 and registered with
 * the real AWS SDK (RegisterInstance) on an existing service chosen by a seeded random draw. From
 * the moment the SDK call returns, a probe sends `GET /` with that service's Host header to
 * HAProxy every PROBE_INTERVAL_MS, each on a fresh connection, until an answer comes from the new
 * echo server (its body names it) or SERVE_TIMEOUT_MS pass (a miss). With `--options` every
 * registration also carries the bench's instance options (its weight).
 */
import { RegisterInstanceCommand, type ServiceDiscoveryClient } from "@aws-sdk/client-servicediscovery"
import { makeRandom } from "../bench/adapters/mock-cloudmap.ts"
import { BENCH_DOMAIN } from "../bench/agent.ts"
import { instanceAttributes } from "../bench/cloudmap-sdk.ts"
import { getByHost } from "../bench/net.ts"
import { withInstanceOptions } from "../bench/service-options.ts"
import { sleep } from "../bench/wait.ts"
import { type EchoBackend, RUN_TOKEN, startEchoBackend } from "../churn/echo-backend.ts"
import type { FleetService } from "./fleet.ts"
import { OPTIONS, PROBE_INTERVAL_MS, REGISTRATION_SEED, REGISTRATIONS, REQUEST_TIMEOUT_MS, SERVE_TIMEOUT_MS } from "./params.ts"
import type { Registration } from "./results.ts"

export interface RegistrationPlan {
  readonly sdk: ServiceDiscoveryClient
  readonly services: ReadonlyArray<FleetService>
  /** HAProxy's port. */
  readonly listenPort: number
  /** performance.now() at the window's start, and its length. */
  readonly windowStart: number
  readonly windowMs: number
  /** Every echo server started is handed over here, to be closed with the size. */
  readonly keep: (backend: EchoBackend) => void
  readonly log: (line: string) => void
}

/** `count` distinct services (fewer services than that: some repeat), the same for a seed. */
const pickServices = (services: ReadonlyArray<FleetService>, count: number, seed: number): Array<FleetService> => {
  const random = makeRandom(seed)
  const used = new Set<number>()
  const out: Array<FleetService> = []
  for (let k = 0; k < count; k++) {
    let i = Math.floor(random() * services.length)
    for (let tries = 0; used.has(i) && used.size < services.length && tries < 100 * services.length; tries++) {
      i = Math.floor(random() * services.length)
    }
    used.add(i)
    out.push(services[i]!)
  }
  return out
}

interface ProbeOutcome {
  readonly servedMs: number | undefined
  readonly requests: number
  readonly answers: Record<string, number>
}

/** Requests through HAProxy until one is answered by `backend`; bounded by SERVE_TIMEOUT_MS and a request count. */
const probeUntilServed = async (listenPort: number, host: string, backend: EchoBackend, t0: number): Promise<ProbeOutcome> => {
  const deadline = t0 + SERVE_TIMEOUT_MS
  const maxRequests = Math.ceil(SERVE_TIMEOUT_MS / PROBE_INTERVAL_MS) + 1
  const answers: Record<string, number> = {}
  let requests = 0
  while (performance.now() < deadline && requests < maxRequests) {
    const sent = performance.now()
    requests++
    const answer = await getByHost(listenPort, host, { "x-bench-run": RUN_TOKEN }, REQUEST_TIMEOUT_MS)
    const key = answer === undefined ? "none" : String(answer.status)
    answers[key] = (answers[key] ?? 0) + 1
    if (answer?.status === 200 && answer.body.trim() === backend.name) {
      const servedMs = performance.now() - t0
      return { servedMs: servedMs <= SERVE_TIMEOUT_MS ? servedMs : undefined, requests, answers }
    }
    await sleep(Math.max(0, PROBE_INTERVAL_MS - (performance.now() - sent)))
  }
  return { servedMs: undefined, requests, answers }
}

export const runRegistrations = async (plan: RegistrationPlan): Promise<Array<Registration>> => {
  const targets = pickServices(plan.services, REGISTRATIONS, REGISTRATION_SEED)
  const measuring: Array<Promise<Registration>> = []
  for (let k = 0; k < targets.length; k++) {
    const service = targets[k]!
    const due = plan.windowStart + ((k + 1) * plan.windowMs) / (REGISTRATIONS + 1)
    await sleep(Math.max(0, due - performance.now()))
    const instance = `scale-${k + 1}`
    const backend = await startEchoBackend(instance)
    plan.keep(backend)
    try {
      await plan.sdk.send(new RegisterInstanceCommand({ ServiceId: service.id, InstanceId: instance, Attributes: withInstanceOptions(instanceAttributes(backend.port), OPTIONS) }))
    } catch (e) {
      const error = e instanceof Error ? e.message : String(e)
      plan.log(`RegisterInstance ${service.name}/${instance} failed: ${error}`)
      measuring.push(Promise.resolve({
        service: service.name,
        instance,
        backend: backend.name,
        atMs: performance.now() - plan.windowStart,
        servedMs: undefined,
        requests: 0,
        answers: {},
        error
      }))
      continue
    }
    const t0 = performance.now()
    const host = `${service.name}.${BENCH_DOMAIN}`
    measuring.push(probeUntilServed(plan.listenPort, host, backend, t0).then((o) => {
      plan.log(`${instance} on ${service.name}: ${o.servedMs === undefined ? "NOT served" : `served after ${(o.servedMs / 1000).toFixed(2)} s`} (${o.requests} requests)`)
      return { service: service.name, instance, backend: backend.name, atMs: t0 - plan.windowStart, ...o }
    }))
  }
  return Promise.all(measuring)
}
