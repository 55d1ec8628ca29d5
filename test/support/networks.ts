/** Instance networks for tests whose backends listen on loopback (as ALLOW_INSTANCE_NETWORKS=127.0.0.0/8,::1/128). */
import { Result } from "effect"
import { type InstanceNetworks, parseCidr } from "../../src/plan/networks.ts"

export const LOOPBACK_ALLOWED: InstanceNetworks = {
  allowed: ["127.0.0.0/8", "::1/128"].map((raw) => Result.getOrThrow(parseCidr(raw))),
  own: []
}
