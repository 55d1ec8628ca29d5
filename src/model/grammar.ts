/**
 * The safe grammar for everything that reaches a HAProxy config file, a map file or a runtime API
 * command. Cloud Map data is untrusted (see docs/haproxy-facts.md, "Injection": a newline in a service name opens a
 * whole new proxy, a space rewrites a map line, `#` comments out the rest of a line, `$` and `%`
 * expand, `;` splits runtime API commands). Every check is a small pure function that either gives
 * the normalised value or a precise reason an operator can act on. Whitelists only: nothing is
 * escaped, a value is either accepted as is (after lowercasing) or rejected. A check answers a
 * `Result`: the accepted value, or the reason (a plain string) it was refused.
 */
import { isIP } from "node:net"
import { Result } from "effect"

// ---------------------------------------------------------------------------------------------
// Untrusted values in messages: the one escaping of src/model, src/plan, src/render, src/config

/** Longest untrusted value quoted verbatim in a reason; longer ones are cut (and say so). */
const QUOTE_LIMIT = 80

/**
 * Text made printable, single-line and ASCII-only: every UTF-16 unit outside printable ASCII
 * (control characters, line separators, bidi overrides, any non-ASCII) becomes `\uXXXX`. For
 * text that already quotes its untrusted parts (a reason); a raw value goes through `quote`.
 */
export const printable = (text: string): string =>
  text.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)

/**
 * An untrusted value for reasons, errors and logs: JSON string syntax, made `printable`, cut
 * after 80 characters (and saying how long it was).
 */
export const quote = (raw: string): string => {
  const chars = Array.from(raw)
  return chars.length <= QUOTE_LIMIT
    ? printable(JSON.stringify(raw))
    : `${printable(JSON.stringify(chars.slice(0, QUOTE_LIMIT).join("")))}... (${chars.length} characters)`
}

// ---------------------------------------------------------------------------------------------
// Characters

const codePoint = (c: string): string => `U+${(c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0")}`

/** Characters HAProxy or its runtime API give a meaning to; named in reasons. */
const SPECIAL: Readonly<Record<string, string>> = {
  "#": "'#' (starts a comment in HAProxy files)",
  "\"": "'\"' (a quote in HAProxy files)",
  "'": "\"'\" (a quote in HAProxy files)",
  "\\": "'\\' (an escape in HAProxy files)",
  "$": "'$' (environment variable expansion)",
  ";": "';' (separates runtime API commands)",
  "%": "'%' (log-format expansion)"
}

/** Why one character is not allowed, in words (ASCII only: the character itself is not echoed). */
const describeCharacter = (c: string): string => {
  if (c === "\n" || c === "\r") return "a line break"
  if (c === "\t") return "a tab"
  if (c === " ") return "a space"
  const cp = c.codePointAt(0) ?? 0
  if (cp < 0x20 || cp === 0x7f) return `a control character (${codePoint(c)})`
  if (cp > 0x7e) {
    return /\s/u.test(c)
      ? `non-ASCII whitespace (${codePoint(c)})`
      : `a non-ASCII character (${codePoint(c)}; use punycode for IDNs)`
  }
  return SPECIAL[c] ?? `the character '${c}'`
}

/**
 * The first character of `raw` that is not matched by `allowed` (a one-character class), as a
 * reason, or undefined when every character is allowed.
 */
const firstForbiddenCharacter = (raw: string, allowed: RegExp): string | undefined => {
  for (const c of raw) {
    if (!allowed.test(c)) return `contains ${describeCharacter(c)}`
  }
  return undefined
}

// ---------------------------------------------------------------------------------------------
// Hostnames and DNS labels

const MAX_HOSTNAME_LENGTH = 253
const MAX_LABEL_LENGTH = 63

const HOST_CHAR = /^[A-Za-z0-9.-]$/
const LABEL = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/

/** One DNS label (already lowercase): 1-63 letters, digits and hyphens, no hyphen at either end. */
const checkLabel = (label: string): Result.Result<string, string> => {
  if (label.length === 0) return Result.fail("has an empty label")
  const bad = firstForbiddenCharacter(label, /^[a-z0-9-]$/)
  if (bad !== undefined) return Result.fail(bad)
  if (label.length > MAX_LABEL_LENGTH) {
    return Result.fail(`has a label of ${label.length} characters (at most ${MAX_LABEL_LENGTH})`)
  }
  if (!LABEL.test(label)) return Result.fail(`has a label starting or ending with '-' (${quote(label)})`)
  return Result.succeed(label)
}

/**
 * A hostname or domain as used in routing: lowercased, one trailing dot stripped, then
 * lowercase LDH labels of 1-63 characters, no hyphen at either end of a label, at most 253
 * characters. IDNs must be given as punycode (`xn--...`). Wildcards are not accepted.
 */
export const normaliseHostname = (raw: string): Result.Result<string, string> => {
  if (raw.length === 0) return Result.fail("is empty")
  // Check before lowercasing: toLowerCase maps some non-ASCII letters to ASCII (U+212A KELVIN
  // SIGN becomes "k").
  const bad = firstForbiddenCharacter(raw, HOST_CHAR)
  if (bad !== undefined) return Result.fail(bad)
  const lower = raw.toLowerCase()
  const host = lower.endsWith(".") ? lower.slice(0, -1) : lower
  if (host.length === 0) return Result.fail("is empty")
  if (host.length > MAX_HOSTNAME_LENGTH) {
    return Result.fail(`is ${host.length} characters long (at most ${MAX_HOSTNAME_LENGTH})`)
  }
  for (const label of host.split(".")) {
    const checked = checkLabel(label)
    if (Result.isFailure(checked)) return checked
  }
  return Result.succeed(host)
}

// ---------------------------------------------------------------------------------------------
// Cloud Map service names

const SRV_NAME = /^_([^.]*)\._tcp$/

/**
 * A Cloud Map service name normalised to the single DNS label used in routes: lowercased, and
 * SRV-style `_web._tcp` reduced to `web`. The result is one LDH label (1-63 characters, no
 * hyphen at either end, no `_`, no dot).
 */
export const normaliseServiceName = (raw: string): Result.Result<string, string> => {
  if (raw.length === 0) return Result.fail("service name is empty")
  const bad = firstForbiddenCharacter(raw, /^[A-Za-z0-9._-]$/)
  if (bad !== undefined) return Result.fail(`service name ${bad}`)
  const lower = raw.toLowerCase()
  const srv = SRV_NAME.exec(lower)
  const label = srv !== null ? (srv[1] ?? "") : lower
  if (srv === null && lower.startsWith("_")) {
    return Result.fail("service name starts with '_' but is not SRV-style `_<name>._tcp`")
  }
  if (label.includes(".")) return Result.fail("service name is not a single DNS label (it contains '.')")
  if (label.includes("_")) return Result.fail("service name contains '_' (not allowed in a DNS label)")
  const checked = checkLabel(label)
  return Result.mapError(checked, (reason) => `service name ${reason}`)
}

// ---------------------------------------------------------------------------------------------
// HAProxy identifiers (backend and server names)

/**
 * Longest identifier we generate. HAProxy 2.6 has no documented limit on proxy or server names;
 * 256 (`be_` + a 253-character host) was verified to parse, route, and show in the stats page and
 * the Prometheus exporter. Longer (path-mode) names are refused rather than trusted untested.
 */
const MAX_IDENTIFIER_LENGTH = 256

/**
 * An identifier we generate for HAProxy (backend, server): only `[a-z0-9_.-]` (a strict subset of
 * what HAProxy allows, `[A-Za-z0-9_.:-]`), starting with a letter or digit, 1-256 characters.
 */
export const checkIdentifier = (name: string): Result.Result<string, string> => {
  if (name.length === 0) return Result.fail("identifier is empty")
  const bad = firstForbiddenCharacter(name, /^[a-z0-9_.-]$/)
  if (bad !== undefined) return Result.fail(`identifier ${bad}`)
  if (!/^[a-z0-9]/.test(name)) return Result.fail("identifier does not start with a letter or digit")
  if (name.length > MAX_IDENTIFIER_LENGTH) {
    return Result.fail(`identifier is ${name.length} characters long (at most ${MAX_IDENTIFIER_LENGTH})`)
  }
  return Result.succeed(name)
}

// ---------------------------------------------------------------------------------------------
// Cloud Map instance ids

const MAX_INSTANCE_ID_LENGTH = 64

/** A Cloud Map InstanceId as the API allows it: `^[0-9a-zA-Z_/:.@-]+$`, at most 64 characters. */
export const checkInstanceId = (raw: string): Result.Result<string, string> => {
  if (raw.length === 0) return Result.fail("instance id is empty")
  const bad = firstForbiddenCharacter(raw, /^[0-9a-zA-Z_/:.@-]$/)
  if (bad !== undefined) return Result.fail(`instance id ${bad}`)
  if (raw.length > MAX_INSTANCE_ID_LENGTH) {
    return Result.fail(`instance id is ${raw.length} characters long (at most ${MAX_INSTANCE_ID_LENGTH})`)
  }
  return Result.succeed(raw)
}

// ---------------------------------------------------------------------------------------------
// Addresses and ports

/**
 * An IPv4 literal in dotted-decimal form (`net.isIP` = 4: no leading zeros, no shorthand).
 * `0.0.0.0` is refused: a HAProxy server at the unspecified address connects to whatever address
 * the client connected to.
 */
export const checkIpv4 = (raw: string): Result.Result<string, string> => {
  const bad = firstForbiddenCharacter(raw, /^[0-9.]$/)
  if (bad !== undefined) return Result.fail(`IPv4 address ${quote(raw)} ${bad}`)
  if (isIP(raw) !== 4) return Result.fail(`IPv4 address ${quote(raw)} is not a valid dotted-quad address`)
  if (raw === "0.0.0.0") return Result.fail("IPv4 address 0.0.0.0 is the unspecified address")
  return Result.succeed(raw)
}

/**
 * An IPv6 literal (`net.isIP` = 6), lowercased. Zone ids (`fe80::1%eth0`) are refused (`%`), and
 * so is the unspecified address `::` (see checkIpv4).
 */
export const checkIpv6 = (raw: string): Result.Result<string, string> => {
  const bad = firstForbiddenCharacter(raw, /^[0-9a-fA-F:.]$/)
  if (bad !== undefined) return Result.fail(`IPv6 address ${quote(raw)} ${bad}`)
  if (isIP(raw) !== 6) return Result.fail(`IPv6 address ${quote(raw)} is not a valid IPv6 address`)
  if (raw.replace(/[0:.]/g, "") === "") return Result.fail(`IPv6 address ${quote(raw)} is the unspecified address`)
  return Result.succeed(raw.toLowerCase())
}

/**
 * A TCP port written in plain decimal: `^[1-9][0-9]*$`, value 1-65535. Refused on purpose:
 * surrounding whitespace (`"80 "`), signs (`+80`, `-1`), leading zeros (`080`, which some parsers
 * read as octal), hex (`0x50`), exponents (`8e1`), decimals (`80.0`) and `0`, which HAProxy reads
 * as "the port the client connected to".
 */
export const parsePort = (raw: string): Result.Result<number, string> => {
  if (raw.length === 0) return Result.fail("port is empty")
  const bad = firstForbiddenCharacter(raw, /^[0-9]$/)
  if (bad !== undefined) return Result.fail(`port ${quote(raw)} is not a plain decimal number: it ${bad}`)
  if (raw.startsWith("0")) {
    return Result.fail(raw === "0" || /^0+$/.test(raw)
      ? "port 0 is out of range 1-65535"
      : `port ${quote(raw)} has a leading zero`)
  }
  if (raw.length > 5 || Number(raw) > 65535) return Result.fail(`port ${quote(raw)} is out of range 1-65535`)
  return Result.succeed(Number(raw))
}

/** An already-numeric port (configuration): an integer 1-65535. */
export const checkPortNumber = (port: number): Result.Result<number, string> =>
  Number.isInteger(port) && port >= 1 && port <= 65535
    ? Result.succeed(port)
    : Result.fail(`port ${String(port)} is not an integer in 1-65535`)
