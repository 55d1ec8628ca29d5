/**
 * Which service each instance was read in: the change feed places an operation whose
 * GetOperation names no service (Targets with INSTANCE only) by its instance. Filled from the
 * reads; an instance is remembered for KEEP_MS after it was last read, so a deregistration listed
 * after the read that dropped its instance is still placed.
 */
import type { ServiceUpdate } from "./snapshot-update.ts"

const KEEP_MS = 600_000

export interface InstanceIndex {
  /** Records the instances of these reads at `now`, and forgets those not read for KEEP_MS. */
  readonly remember: (reads: ReadonlyArray<ServiceUpdate>, now: number) => void
  readonly serviceOf: (instanceId: string) => string | undefined
}

export const makeInstanceIndex = (): InstanceIndex => {
  const byInstance = new Map<string, { serviceId: string; at: number }>()
  let prunedAt = 0
  return {
    remember: (reads, now) => {
      for (const { service } of reads) {
        if (service._tag !== "Ok") continue
        for (const instance of service.instances) byInstance.set(instance.id, { serviceId: service.id, at: now })
      }
      if (now - prunedAt < KEEP_MS) return
      prunedAt = now
      for (const [id, entry] of byInstance) if (now - entry.at > KEEP_MS) byInstance.delete(id)
    },
    serviceOf: (instanceId) => byInstance.get(instanceId)?.serviceId
  }
}
