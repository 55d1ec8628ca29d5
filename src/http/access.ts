/**
 * Who may read the status page and its documents (`/`, `/status`, `/status/servers`). Pure.
 *
 * - From the host itself (the peer address of the connection is loopback: 127.0.0.0/8, ::1 or
 *   ::ffff:127.x.y.z) no credentials are needed. Headers such as X-Forwarded-For are never looked
 *   at: only the socket's peer address counts.
 * - From anywhere else the stats credentials (STATS_USER / STATS_PASSWD) are needed, as HTTP Basic
 *   auth, compared in constant time: 401 with WWW-Authenticate without them or with wrong ones.
 * - With stats disabled (STATS_ENABLED=false) there are no credentials to check: 403 with what to
 *   set to open the page to other hosts.
 *
 * /healthz, /readyz and /metrics stay open (load balancer checks, Prometheus).
 */
import { Buffer } from "node:buffer"
import { createHash, timingSafeEqual } from "node:crypto"
import { Redacted } from "effect"
import type { Credentials } from "../config/agent-config.ts"

export type Access =
  | { readonly _tag: "Allowed"; readonly via: "loopback" | "credentials" }
  | { readonly _tag: "Unauthorized"; readonly message: string }
  | { readonly _tag: "Forbidden"; readonly message: string }

/** The realm named in WWW-Authenticate. */
export const REALM = "cloudmap-haproxy status"

const IPV4_LOOPBACK = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/

const isIpv4Loopback = (address: string): boolean => {
  const m = IPV4_LOOPBACK.exec(address)
  return m !== null && m.slice(1).every((octet) => Number(octet) <= 255)
}

/** True when the connection's peer address is the host itself. */
export const isLoopback = (address: string | undefined): boolean => {
  if (address === undefined) return false
  const a = address.toLowerCase()
  if (a === "::1" || a === "0:0:0:0:0:0:0:1") return true
  if (a.startsWith("::ffff:")) return isIpv4Loopback(a.slice("::ffff:".length))
  return isIpv4Loopback(a)
}

const digest = (text: string): Buffer => createHash("sha256").update(text, "utf8").digest()

/** Constant-time equality of two strings (of any lengths): their SHA-256 digests are compared. */
const sameSecret = (given: string, expected: string): boolean => timingSafeEqual(digest(given), digest(expected))

/** `user:password` from an `Authorization: Basic ...` header, or undefined when it is not one. */
export const basicCredentials = (header: string | undefined): { readonly user: string; readonly password: string } | undefined => {
  if (header === undefined) return undefined
  const m = /^basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header.trim())
  if (m === null) return undefined
  const decoded = Buffer.from(m[1]!, "base64").toString("utf8")
  const colon = decoded.indexOf(":")
  if (colon < 0) return undefined
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) }
}

/** True when the header carries exactly these credentials (both parts always compared). */
export const credentialsMatch = (header: string | undefined, expected: Credentials): boolean => {
  const given = basicCredentials(header)
  const userOk = sameSecret(given?.user ?? "", expected.user)
  const passwordOk = sameSecret(given?.password ?? "", Redacted.value(expected.password))
  return given !== undefined && userOk && passwordOk
}

export const STATS_DISABLED_MESSAGE =
  "The status page answers other hosts only with the stats credentials, and stats are disabled (STATS_ENABLED=false). " +
  "Set STATS_ENABLED=true and STATS_PASSWD (and STATS_USER, default stats_user) to open it with HTTP Basic auth, " +
  "or open it from the host itself (http://127.0.0.1:HEALTH_PORT/).\n"

/** The decision for one request: its peer address, its Authorization header, the stats credentials. */
export const decideAccess = (
  remoteAddress: string | undefined,
  authorization: string | undefined,
  stats: Credentials | undefined
): Access => {
  if (isLoopback(remoteAddress)) return { _tag: "Allowed", via: "loopback" }
  if (stats === undefined) return { _tag: "Forbidden", message: STATS_DISABLED_MESSAGE }
  if (credentialsMatch(authorization, stats)) return { _tag: "Allowed", via: "credentials" }
  return {
    _tag: "Unauthorized",
    message: authorization === undefined
      ? "The status page needs the stats credentials (STATS_USER / STATS_PASSWD) from other hosts.\n"
      : "Wrong credentials: use STATS_USER / STATS_PASSWD.\n"
  }
}

/** The headers of a refusal (WWW-Authenticate on 401). */
export const refusalHeaders = (access: Access): Record<string, string> =>
  access._tag === "Unauthorized" ? { "www-authenticate": `Basic realm="${REALM}", charset="UTF-8"` } : {}
