/**
 * Per-service routing options, read from Cloud Map service attributes under the `haproxy.`
 * prefix (and one per-instance attribute, `haproxy.weight`). Decoded by src/plan/options.ts:
 * every value here passed a strict grammar and is safe to place in haproxy.cfg or a runtime API
 * command as is. Defaults are what every service got before options existed.
 */

/** The prefix every option key starts with, on services and instances. */
export const OPTION_PREFIX = "haproxy."

/** Milliseconds, rendered as `<n>ms`. */
export type Millis = number

export type HealthCheck =
  | { readonly _tag: "Tcp"; readonly intervalMs: Millis }
  | {
    readonly _tag: "Http"
    readonly intervalMs: Millis
    /** Absolute path with an optional query, of URL-safe characters only. */
    readonly path: string
    /** HAProxy's `http-check expect status` list: codes and ranges (`200-399`, `200,204`). */
    readonly status: string
  }

export type Balance = "roundrobin" | "leastconn" | "random" | "source"

export type BackendProtocol = "http1" | "h2c"

export interface ServiceOptions {
  readonly check: HealthCheck
  /** Undefined: the defaults section's value. */
  readonly timeoutServerMs: Millis | undefined
  readonly timeoutConnectMs: Millis | undefined
  readonly timeoutTunnelMs: Millis | undefined
  readonly balance: Balance
  /** Per-server connection cap: requests beyond it queue in HAProxy. Undefined: no cap. */
  readonly maxconn: number | undefined
  readonly protocol: BackendProtocol
  /** Cookie stickiness with this cookie name; undefined: none. */
  readonly cookie: string | undefined
  /** Extra host names (host mode), already normalised and checked to be under the domain. */
  readonly hosts: ReadonlyArray<string>
  /** Path mode: strip the `/<service>` prefix before forwarding (default true). */
  readonly stripPath: boolean
}

export const DEFAULT_CHECK_INTERVAL_MS = 2000

export const DEFAULT_OPTIONS: ServiceOptions = {
  check: { _tag: "Tcp", intervalMs: DEFAULT_CHECK_INTERVAL_MS },
  timeoutServerMs: undefined,
  timeoutConnectMs: undefined,
  timeoutTunnelMs: undefined,
  balance: "roundrobin",
  maxconn: undefined,
  protocol: "http1",
  cookie: undefined,
  hosts: [],
  stripPath: true
}

/** HAProxy's default server weight, and the range `haproxy.weight` accepts. */
export const DEFAULT_WEIGHT = 1
export const MAX_WEIGHT = 256

/** An option that was not applied, with the reason; the service keeps routing with the default. */
export interface IgnoredOption {
  readonly namespace: string
  readonly service: string
  /** Set for a per-instance option (`haproxy.weight`). */
  readonly instanceId?: string
  /** The attribute key as registered (escaped when shown). */
  readonly key: string
  readonly reason: string
}
