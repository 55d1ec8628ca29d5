/**
 * The HAProxy names we generate. Inputs must already have passed ./grammar.ts; the results are
 * checked again with checkIdentifier by the planner.
 *
 * Injectivity, so two different routes or instances can never share a name:
 * - host mode  `be_<host>`: a host is lowercase LDH labels, so it never contains `_`;
 * - path mode  `be_<domain>_<segment>`: the domain has no `_` and the segment (one DNS label)
 *   has neither `_` nor `.`, so the last `_` splits the name back into (domain, segment), and
 *   the name always has a `_` after `be_`, which a host-mode name never has;
 * - `be_stats` (the stats page, see src/render) has no `.`, which every route backend has.
 * - servers: `i-<id>` when the Cloud Map instance id is already in `[a-z0-9_.-]` (ECS task ids
 *   are lowercase hex), else `h-<first 16 hex digits of sha256(id)>`. The prefixes keep the two
 *   forms apart; ids that differ only by case (`A` vs `a`) get different names (`h-...` vs
 *   `i-a`). A 64-bit hash collision is not impossible, so the planner still checks uniqueness
 *   within a backend and quarantines the later instance.
 */
import { createHash } from "node:crypto"

export const hostBackendName = (host: string): string => `be_${host}`

export const pathBackendName = (domain: string, segment: string): string => `be_${domain}_${segment}`

/** The map key of a path-mode route in paths.map (and `Backend.route`). */
export const pathRouteKey = (domain: string, segment: string): string => `${domain}/${segment}`

const LOWERCASE_SAFE_ID = /^[a-z0-9_.-]+$/

export const serverNameForInstance = (instanceId: string): string =>
  LOWERCASE_SAFE_ID.test(instanceId)
    ? `i-${instanceId}`
    : `h-${createHash("sha256").update(instanceId, "utf8").digest("hex").slice(0, 16)}`

/**
 * The stickiness cookie value of a server (`cookie` on its line): derived from the server name so
 * every replica gives the same value, without showing clients the instance id.
 */
export const serverCookie = (serverName: string): string =>
  createHash("sha256").update(serverName, "utf8").digest("hex").slice(0, 16)
