/**
 * A backend's own settings, from its service's options: the lines of its `backend` section, and
 * its option profile (the named `defaults` section HAProxy 3.4 adds it `from` at runtime,
 * src/apply/runtime-backends.ts). Pure; rendered by render.ts.
 */
import { createHash } from "node:crypto"
import type { Backend } from "../model/desired.ts"
import { DEFAULT_OPTIONS } from "../model/service-options.ts"

/** HAProxy time: whole seconds as `<n>s`, anything else as `<n>ms`. */
export const haproxyTime = (ms: number): string => (ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`)

/** Backend settings from the service's options; nothing for a service with the defaults. */
export const backendLines = (backend: Backend): ReadonlyArray<string> => {
  const o = backend.options
  const lines: Array<string> = []
  if (o.balance !== "roundrobin") lines.push(`balance ${o.balance}`)
  // Consistent hashing is a dynamic algorithm: instances are added and reweighted at runtime
  // (with the default map-based hashing HAProxy refuses both), and few clients move when they do.
  if (o.balance === "source") lines.push("hash-type consistent")
  if (o.timeoutConnectMs !== undefined) lines.push(`timeout connect ${haproxyTime(o.timeoutConnectMs)}`)
  if (o.timeoutServerMs !== undefined) lines.push(`timeout server ${haproxyTime(o.timeoutServerMs)}`)
  if (o.timeoutTunnelMs !== undefined) lines.push(`timeout tunnel ${haproxyTime(o.timeoutTunnelMs)}`)
  if (o.check._tag === "Http") {
    lines.push("option httpchk", `http-check send meth GET uri ${o.check.path}`, `http-check expect status ${o.check.status}`)
  }
  if (o.cookie !== undefined) lines.push(`cookie ${o.cookie} insert indirect nocache httponly`)
  if (backend.zone !== undefined) lines.push("option allbackups")
  if (backend.mode === "path" && o.stripPath) {
    lines.push("# Path mode: strip the matched /<segment> (/web -> /, /web/a?q=1 -> /a?q=1).")
    lines.push("http-request set-path %[path,regsub(^/[^/]*/?,/)] if { var(txn.strip) -m bool }")
  }
  return lines
}

/**
 * The name of the named `defaults` section that carries a backend's settings (its option
 * profile): `dp_` and a hash of the lines, so backends with the same settings share one. HAProxy
 * 3.4 adds a backend at runtime only `from` a named defaults section (src/apply/runtime-backends.ts);
 * a backend added from this one is configured exactly as the rendered `backend` section.
 */
export const profileName = (backend: Backend): string =>
  `dp_${createHash("sha256").update(backendLines(backend).join("\n"), "utf8").digest("hex").slice(0, 12)}`

/** Services with the default options in host and path mode: their profiles are always rendered. */
const DEFAULT_PROFILE_BACKENDS: ReadonlyArray<Backend> = (["host", "path"] as const).map((mode) => ({
  name: `be_default_${mode}`,
  namespace: "",
  service: "",
  serviceId: "",
  mode,
  route: "",
  servers: [],
  options: DEFAULT_OPTIONS,
  zone: undefined
}))

/**
 * The option profiles a configuration renders, by name, with their backend lines: every profile
 * in use, and those of services with the default options (so that the first such service needs
 * no reload even when none existed at the last reload).
 */
export const renderedProfiles = (backends: ReadonlyArray<Backend>): ReadonlyMap<string, ReadonlyArray<string>> => {
  const profiles = new Map<string, ReadonlyArray<string>>()
  for (const b of [...DEFAULT_PROFILE_BACKENDS, ...backends]) {
    const name = profileName(b)
    if (!profiles.has(name)) profiles.set(name, backendLines(b))
  }
  return profiles
}

/** The unnamed `defaults` section, inherited by the frontend and every backend (and repeated in each profile). */
export const DEFAULTS_LINES: ReadonlyArray<string> = [
  "mode http",
  "option idle-close-on-response",
  "option redispatch",
  // A request received in full is served even if the client shut its side right after sending
  // it (half-close). 3.4.7 answers such a request 400 unless abortonclose is off; 2.6 and 3.2
  // serve it either way (measured, docs/haproxy-runtime-backends.md).
  "no option abortonclose",
  "option forwardfor",
  "retries 3",
  "retry-on conn-failure empty-response response-timeout",
  "balance roundrobin",
  "timeout connect 5s",
  "timeout client 65s",
  "timeout server 30s",
  "timeout http-keep-alive 65s",
  "timeout http-request 10s"
]
