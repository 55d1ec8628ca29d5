/**
 * Foreign churn: another team's deployments in the same account. The mock registers and
 * deregisters instances at a given rate (operations per second) in a namespace and service of
 * its own (`foreign-churn`/`churn`, created on first use and never in a fixture), so ListOperations
 * lists operations that no mapped namespace has. At most FOREIGN_INSTANCES instances are kept: once
 * there, each registration is followed by the oldest one's deregistration.
 */
import { Result } from "effect"
import { runOperation } from "./dispatch.ts"
import type { OperationContext } from "./request.ts"
import type { MockState } from "./state-model.ts"

export const FOREIGN_NAMESPACE = "foreign-churn"
export const FOREIGN_SERVICE = "churn"
const FOREIGN_INSTANCES = 50
const TICK_MS = 100

interface ChurnPosition {
  /** Operations owed so far (fractional: the rate need not divide the tick). */
  owed: number
  next: number
  oldest: number
}

/** The foreign service's id in `state`, created (with its namespace) when missing. */
const foreignService = (state: MockState, ctx: OperationContext): { state: MockState; serviceId: string | undefined } => {
  let s = state
  let nsId = s.namespaceByName.get(FOREIGN_NAMESPACE)
  if (nsId === undefined) {
    const created = runOperation(s, "CreateHttpNamespace", { Name: FOREIGN_NAMESPACE }, ctx)
    if (Result.isFailure(created)) return { state, serviceId: undefined }
    s = created.success.state
    nsId = s.namespaceByName.get(FOREIGN_NAMESPACE)!
  }
  const existing = s.serviceByKey.get(`${nsId}/${FOREIGN_SERVICE}`)
  if (existing !== undefined) return { state: s, serviceId: existing }
  const created = runOperation(s, "CreateService", { Name: FOREIGN_SERVICE, NamespaceId: nsId }, ctx)
  if (Result.isFailure(created)) return { state: s, serviceId: undefined }
  const next = created.success.state
  return { state: next, serviceId: next.serviceByKey.get(`${nsId}/${FOREIGN_SERVICE}`) }
}

/** One step of churn at `ctx.now`: the operations owed since the last step, made on `state`. */
const step = (state: MockState, position: ChurnPosition, count: number, ctx: OperationContext): MockState => {
  const found = foreignService(state, ctx)
  if (found.serviceId === undefined) return state
  let s = found.state
  for (let i = 0; i < count; i++) {
    const deregister = position.next - position.oldest >= FOREIGN_INSTANCES && i % 2 === 1
    const input = deregister
      ? { ServiceId: found.serviceId, InstanceId: `churn-${position.oldest++}` }
      : { ServiceId: found.serviceId, InstanceId: `churn-${position.next++}`, Attributes: { AWS_INSTANCE_IPV4: "127.0.0.1", AWS_INSTANCE_PORT: "9" } }
    const r = runOperation(s, deregister ? "DeregisterInstance" : "RegisterInstance", input, ctx)
    if (Result.isSuccess(r)) s = r.success.state
  }
  return s
}

/**
 * Starts churn at `perSecond` operations per second on the state that `update` reads and writes;
 * returns the function that stops it. 0 starts nothing.
 */
export const startForeignChurn = (
  perSecond: number,
  update: (f: (s: MockState) => MockState) => void,
  context: () => OperationContext
): () => void => {
  if (perSecond <= 0) return () => {}
  const position: ChurnPosition = { owed: 0, next: 0, oldest: 0 }
  const timer = setInterval(() => {
    position.owed += (perSecond * TICK_MS) / 1000
    const count = Math.floor(position.owed)
    if (count === 0) return
    position.owed -= count
    update((s) => step(s, position, count, context()))
  }, TICK_MS)
  timer.unref()
  return () => clearInterval(timer)
}
