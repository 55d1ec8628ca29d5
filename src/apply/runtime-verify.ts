/**
 * Whether HAProxy's runtime state, read back with `show servers state`, is what was asked for:
 * the check every runtime update ends with (./runtime-update.ts, ./runtime-backends.ts).
 */
import { Schema } from "effect"
import type { ServerStateRecord } from "../haproxy/runtime-parse.ts"
import type { Server } from "../model/desired.ts"

/** HAProxy accepted every command but its state, read back, is not what was asked for. */
export class RuntimeStateMismatch extends Schema.TaggedError<RuntimeStateMismatch>()("RuntimeStateMismatch", {
  backend: Schema.String,
  problem: Schema.String
}) {
  override get message(): string {
    return `runtime state of ${this.backend} does not match: ${this.problem}`
  }
}

/** srv_check_state's "administratively enabled" bit (CHK_ST_ENABLED): every server is rendered with `check`. */
const CHECK_ENABLED = 0x04

/** Undefined when the servers HAProxy reports match what should be there, health checks on. Pure. */
export const verifyBackend = (
  state: ReadonlyArray<ServerStateRecord>,
  servers: ReadonlyArray<Server>,
  removed: ReadonlyArray<Server>
): string | undefined => {
  const byName = new Map(state.map((r) => [r.serverName, r]))
  for (const s of servers) {
    const r = byName.get(s.name)
    if (r === undefined) return `${s.name} missing`
    if (r.address !== s.address || r.port !== s.port) return `${s.name} at ${r.address}:${r.port}, expected ${s.address}:${s.port}`
    if (r.adminState === "maint") return `${s.name} in maintenance`
    if (r.userWeight !== s.weight) return `${s.name} has weight ${r.userWeight}, expected ${s.weight}`
    if ((r.checkState & CHECK_ENABLED) === 0) return `${s.name} has its health check disabled`
  }
  for (const s of removed) {
    const r = byName.get(s.name)
    if (r !== undefined && r.adminState !== "maint") return `${s.name} still receives traffic`
  }
  return undefined
}
