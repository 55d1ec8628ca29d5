/**
 * How the churn benchmark sees a change arrive, on the backends themselves (each instance is its
 * own echo server): a new instance (or port) has converged when it serves its first request; a
 * removed one when it served its last, confirmed by QUIET_MS of silence while the probe keeps
 * hitting the host.
 */
import { sleep } from "../bench/wait.ts"
import type { EchoBackend } from "./echo-backend.ts"
import { QUIET_MS } from "./params.ts"

/** Waits until `backend` got no request for QUIET_MS after `since`; the last request's offset, or undefined at the deadline. */
export const waitQuiet = async (backend: EchoBackend, since: number, deadline: number): Promise<number | undefined> => {
  while (Date.now() < deadline) {
    const last = backend.lastHitAt() ?? 0
    if (Date.now() - Math.max(last, since) >= QUIET_MS) return Math.max(0, last - since)
    await sleep(100)
  }
  return undefined
}

/** ms from `t0` (the SDK call's return) to the first request `backend` served from then on; undefined at the deadline. */
export const waitFirstHit = async (backend: EchoBackend, since: number, t0: number, deadline: number): Promise<number | undefined> => {
  const hit = await backend.firstHitAfter(since, deadline)
  return hit === undefined ? undefined : Math.max(0, hit - t0)
}
