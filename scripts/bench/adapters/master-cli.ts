/** The benches' one door to src/haproxy/master-cli.ts: `show proc` and `reload` as plain promises. */
import { Effect } from "effect"
import { reload, showProc, type ShowProc } from "../../../src/haproxy/master-cli.ts"

export type { ShowProc }

/** `show proc` on a master socket; undefined when it could not be read. */
export const readShowProc = async (socket: string): Promise<ShowProc | undefined> => {
  const r = await Effect.runPromise(Effect.result(showProc(socket)))
  return r._tag === "Success" ? r.success : undefined
}

export type ReloadOutcome =
  | { readonly ok: true; readonly durationMs: number; readonly newWorkerPid: number; readonly oldWorkerPids: ReadonlyArray<number> }
  | { readonly ok: false; readonly message: string }

/** A reload through the master CLI, verified with `show proc`. */
export const reloadMaster = async (socket: string): Promise<ReloadOutcome> => {
  const r = await Effect.runPromise(Effect.result(reload(socket)))
  return r._tag === "Success"
    ? { ok: true, durationMs: r.success.durationMs, newWorkerPid: r.success.newWorkerPid, oldWorkerPids: r.success.oldWorkerPids }
    : { ok: false, message: r.failure.message }
}
