/**
 * Which service each instance was read in: the change feed places an operation whose
 * GetOperation names no service (Targets with INSTANCE only) by its instance. Filled from the
 * reads; an instance is remembered for KEEP_MS after it was last read, so a deregistration listed
 * after the read that dropped its instance is still placed. Cloud Map makes an instance id unique
 * within its service only: an id read in more than one service places nothing (the round then
 * checks every revision, never the wrong service).
 */
import type { ServiceUpdate } from "./snapshot-update.ts"

const KEEP_MS = 600_000

export interface InstanceIndex {
  /** Records the instances of these reads at `now`, and forgets those not read for KEEP_MS. */
  readonly remember: (reads: ReadonlyArray<ServiceUpdate>, now: number) => void
  readonly serviceOf: (instanceId: string) => string | undefined
}

export const makeInstanceIndex = (): InstanceIndex => {
  const byInstance = new Map<string, Map<string, number>>()
  let prunedAt = 0
  return {
    remember: (reads, now) => {
      for (const { service } of reads) {
        if (service._tag !== "Ok") continue
        for (const instance of service.instances) {
          const services = byInstance.get(instance.id) ?? new Map<string, number>()
          services.set(service.id, now)
          byInstance.set(instance.id, services)
        }
      }
      if (now - prunedAt < KEEP_MS) return
      prunedAt = now
      for (const [id, services] of byInstance) {
        for (const [serviceId, at] of services) if (now - at > KEEP_MS) services.delete(serviceId)
        if (services.size === 0) byInstance.delete(id)
      }
    },
    serviceOf: (instanceId) => {
      const services = byInstance.get(instanceId)
      return services?.size === 1 ? services.keys().next().value : undefined
    }
  }
}
