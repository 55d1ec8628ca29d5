/**
 * The churn scenario itself, identical for both systems: churn services get add / move / remove
 * in turn, health services get UNHEALTHY then HEALTHY flips, and new services appear one every
 * newServiceSpacingMs, all through the real AWS SDK against the mock Cloud Map, at random times
 * independent of the pollers (params.ts says when). Every change is measured on the backends
 * (convergence.ts) and recorded.
 */
import {
  CreateServiceCommand,
  DeregisterInstanceCommand,
  RegisterInstanceCommand,
  type ServiceDiscoveryClient,
  UpdateInstanceCustomHealthStatusCommand,
  UpdateServiceAttributesCommand
} from "@aws-sdk/client-servicediscovery"
import { makeRandom } from "../bench/adapters/mock-cloudmap.ts"
import { BENCH_DOMAIN } from "../bench/agent.ts"
import { instanceAttributes as addressAttributes } from "../bench/cloudmap-sdk.ts"
import { BENCH_SERVICE_OPTIONS, withInstanceOptions } from "../bench/service-options.ts"
import { sleep } from "../bench/wait.ts"
import { waitFirstHit, waitQuiet } from "./convergence.ts"
import type { EchoBackend } from "./echo-backend.ts"
import {
  CHURN_FIRST_MS,
  CHURN_GAP_MIN_MS,
  CHURN_GAP_SPAN_MS,
  HEALTH_FIRST_MS,
  HEALTH_GAP_MIN_MS,
  HEALTH_GAP_SPAN_MS,
  OPTIONS,
  P,
  TIMEOUT_REVISION_MS,
  TIMEOUT_SLOW_MS
} from "./params.ts"
import type { ChangeResult } from "./results.ts"

/** What every RegisterInstance sends: the address, and with `--options` the instance options. */
const instanceAttributes = (port: number) => withInstanceOptions(addressAttributes(port), OPTIONS)

export interface LiveInstance {
  readonly id: string
  readonly backend: EchoBackend
}

export interface ScenarioService {
  readonly name: string
  readonly id: string
  readonly live: Array<LiveInstance>
  /** Churn services: the number in the last instance id handed out. */
  seq: number
}

export interface Scenario {
  readonly sdk: ServiceDiscoveryClient
  readonly seed: number
  readonly churn: ReadonlyArray<ScenarioService>
  readonly health: ReadonlyArray<ScenarioService>
  readonly phaseStart: number
  /** No change starts after this. */
  readonly changeDeadline: number
  readonly newBackend: (id: string) => Promise<EchoBackend>
  /** Starts probing a new service's host (failures count after its first 2xx). */
  readonly probeNewHost: (host: string) => void
  /** Adds a routed new service's host to the load. */
  readonly addLoadHost: (host: string) => void
  readonly record: (r: ChangeResult) => void
  /** Runs one SDK call; undefined when it failed (counted and reported). */
  readonly sdkCall: <A>(f: () => Promise<A>) => Promise<A | undefined>
}

/** Churn services: add, move, remove in turn (offset per service so kinds interleave). */
const churnWorker = async (s: Scenario, svc: ScenarioService, k: number) => {
  const { sdk, record, sdkCall } = s
  const ops: ReadonlyArray<"add" | "move" | "remove"> = ["add", "move", "remove"]
  const random = makeRandom(s.seed + k)
  const measuring: Array<Promise<void>> = []
  let due = Date.now() + random() * CHURN_FIRST_MS
  for (let n = 0; n < P.changesPerChurnService; n++) {
    if (due > s.changeDeadline) break
    if (due > Date.now()) await sleep(due - Date.now())
    // The next change is scheduled from this one's start, not from its convergence.
    due += CHURN_GAP_MIN_MS + random() * CHURN_GAP_SPAN_MS
    const kind = ops[(n + k) % 3]!
    if (kind === "add" || (kind === "remove" && svc.live.length <= 2)) {
      const id = `c${k}-${++svc.seq}`
      const b = await s.newBackend(id)
      if ((await sdkCall(() => sdk.send(new RegisterInstanceCommand({ ServiceId: svc.id, InstanceId: id, Attributes: instanceAttributes(b.port) })))) === undefined) continue
      const t0 = Date.now()
      svc.live.push({ id, backend: b })
      measuring.push(waitFirstHit(b, 0, t0, t0 + TIMEOUT_REVISION_MS).then((convergedMs) =>
        record({ kind: "add", service: svc.name, instance: id, at: t0, convergedMs })
      ))
    } else if (kind === "move") {
      const target = svc.live.shift()!
      const b = await s.newBackend(target.id)
      if ((await sdkCall(() => sdk.send(new RegisterInstanceCommand({ ServiceId: svc.id, InstanceId: target.id, Attributes: instanceAttributes(b.port) })))) === undefined) {
        svc.live.unshift(target)
        continue
      }
      const t0 = Date.now()
      svc.live.push({ id: target.id, backend: b })
      measuring.push(Promise.all([
        waitFirstHit(b, 0, t0, t0 + TIMEOUT_REVISION_MS),
        waitQuiet(target.backend, t0, t0 + TIMEOUT_REVISION_MS)
      ]).then(([convergedMs, oldStoppedMs]) =>
        record({ kind: "move", service: svc.name, instance: target.id, at: t0, convergedMs, oldStoppedMs })
      ))
    } else {
      const target = svc.live.shift()!
      if ((await sdkCall(() => sdk.send(new DeregisterInstanceCommand({ ServiceId: svc.id, InstanceId: target.id })))) === undefined) {
        svc.live.unshift(target)
        continue
      }
      const t0 = Date.now()
      measuring.push(waitQuiet(target.backend, t0, t0 + TIMEOUT_REVISION_MS).then((quiet) =>
        record({ kind: "remove", service: svc.name, instance: target.id, at: t0, convergedMs: quiet })
      ))
    }
  }
  await Promise.all(measuring)
}

/** Health services: one instance goes UNHEALTHY, then HEALTHY again (after the first flip converged). */
const healthWorker = async (s: Scenario, svc: ScenarioService, k: number) => {
  const random = makeRandom(s.seed + 1000 + k)
  let due = Date.now() + random() * HEALTH_FIRST_MS
  for (let f = 0; f < P.flipsPerHealthService; f++) {
    if (due > s.changeDeadline) break
    if (due > Date.now()) await sleep(due - Date.now())
    const target = svc.live[Math.floor(f / 2) % svc.live.length]!
    const status = f % 2 === 0 ? "UNHEALTHY" : "HEALTHY"
    if ((await s.sdkCall(() => s.sdk.send(new UpdateInstanceCustomHealthStatusCommand({ ServiceId: svc.id, InstanceId: target.id, Status: status })))) === undefined) continue
    const t0 = Date.now()
    due = t0 + HEALTH_GAP_MIN_MS + random() * HEALTH_GAP_SPAN_MS
    if (status === "UNHEALTHY") {
      const quiet = await waitQuiet(target.backend, t0, t0 + TIMEOUT_SLOW_MS)
      s.record({ kind: "unhealthy", service: svc.name, instance: target.id, at: t0, convergedMs: quiet })
    } else {
      const convergedMs = await waitFirstHit(target.backend, t0, t0, t0 + TIMEOUT_SLOW_MS)
      s.record({ kind: "healthy", service: svc.name, instance: target.id, at: t0, convergedMs })
    }
  }
}

/** New services: one every newServiceSpacingMs, one instance each. */
const newServices = async (s: Scenario) => {
  const waits: Array<Promise<void>> = []
  for (let j = 0; j < P.newServices && Date.now() < s.changeDeadline; j++) {
    const due = s.phaseStart + j * P.newServiceSpacingMs
    if (due > Date.now()) await sleep(due - Date.now())
    const name = `n${j}`
    const created = await s.sdkCall(() =>
      s.sdk.send(new CreateServiceCommand({ NamespaceId: "ns-bench", Name: name, HealthCheckCustomConfig: {} }))
    )
    const serviceId = created?.Service?.Id
    if (serviceId === undefined) continue
    // `--options`: the service's options right after it exists, before it has an instance.
    if (OPTIONS && (await s.sdkCall(() => s.sdk.send(new UpdateServiceAttributesCommand({ ServiceId: serviceId, Attributes: { ...BENCH_SERVICE_OPTIONS } })))) === undefined) continue
    const id = `${name}-1`
    const b = await s.newBackend(id)
    if ((await s.sdkCall(() => s.sdk.send(new RegisterInstanceCommand({ ServiceId: serviceId, InstanceId: id, Attributes: instanceAttributes(b.port) })))) === undefined) continue
    const t0 = Date.now()
    const host = `${name}.${BENCH_DOMAIN}`
    s.probeNewHost(host)
    waits.push((async () => {
      const convergedMs = await waitFirstHit(b, 0, t0, t0 + TIMEOUT_SLOW_MS)
      s.record({ kind: "new service", service: name, instance: id, at: t0, convergedMs })
      if (convergedMs !== undefined) s.addLoadHost(host)
    })())
  }
  await Promise.all(waits)
}

/** Drives every change of the scenario; resolves when all of them converged or timed out. */
export const runScenario = async (s: Scenario): Promise<void> => {
  await Promise.all([
    ...s.churn.map((svc, k) => churnWorker(s, svc, k)),
    ...s.health.map((svc, k) => healthWorker(s, svc, k)),
    newServices(s)
  ])
}
