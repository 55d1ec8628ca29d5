/**
 * Cloud Map's failures as one typed error: every SDK or wire failure is classified by its error
 * code and HTTP status into throttled, transient, denied, notFound or invalid, which decides
 * whether it is retried, and a permission error names the IAM action to grant.
 */
import { Schema } from "effect"

export class CloudMapError extends Schema.TaggedError<CloudMapError>()("CloudMapError", {
  operation: Schema.String,
  /** Cloud Map error code (ServiceNotFound, RequestLimitExceeded, ...) or Timeout / NetworkError. */
  code: Schema.String,
  message: Schema.String,
  kind: Schema.Literals(["throttled", "transient", "denied", "notFound", "invalid"])
}) {}

const THROTTLE_CODES = new Set([
  "RequestLimitExceeded",
  "ThrottlingException",
  "Throttling",
  "TooManyRequestsException",
  "RequestThrottled",
  "RequestThrottledException",
  "SlowDown"
])
const DENIED_CODES = new Set([
  "AccessDeniedException",
  "AccessDenied",
  "UnauthorizedOperation",
  "UnrecognizedClientException",
  "InvalidClientTokenId",
  "ExpiredTokenException",
  "InvalidSignatureException",
  "SignatureDoesNotMatch"
])
const NOT_FOUND_CODES = new Set(["NamespaceNotFound", "ServiceNotFound", "InstanceNotFound", "OperationNotFound"])

/** A denial of the action itself (the IAM action is missing), not of the credentials. */
const deniesAction = (code: string): boolean => code.startsWith("Access") || code === "UnauthorizedOperation"

/** Denied because the task role lacks the IAM action (not because the credentials were rejected). */
export const isActionDenied = (e: CloudMapError): boolean => e.kind === "denied" && deniesAction(e.code)

/** Error codes of a process (or system) out of file descriptors, as Node and Bun name them. */
const NO_DESCRIPTORS = new Set(["EMFILE", "ENFILE", "ProcessFdQuotaExceeded", "SystemFdQuotaExceeded"])

/** Whether `error` (or its cause: fetch wraps the socket's error) says the descriptors ran out. */
const outOfDescriptors = (error: unknown): boolean => {
  const e = error as { name?: unknown; code?: unknown; cause?: { code?: unknown; name?: unknown } } | undefined
  return [e?.code, e?.name, e?.cause?.code, e?.cause?.name].some((c) => typeof c === "string" && NO_DESCRIPTORS.has(c))
}

/** A failure to connect at all: what a socket that could not be created looks like under some stacks. */
export const isConnectFailure = (error: unknown): boolean => {
  const e = error as { code?: unknown; cause?: { code?: unknown } } | undefined
  return [e?.code, e?.cause?.code].some((c) => c === "ECONNREFUSED" || c === "ECONNRESET" || c === "ENOTCONN")
}

/**
 * Maps whatever the SDK threw into a classified CloudMapError. `noDescriptors`: the process is
 * known to be out of file descriptors (./descriptors.ts), whatever the error says. Pure.
 */
export const classifyError = (operation: string, error: unknown, noDescriptors = false): CloudMapError => {
  const e = error as { name?: string; message?: string; code?: string; $fault?: string; $metadata?: { httpStatusCode?: number } }
  const code = String((e?.name !== undefined && e.name !== "Error" ? e.name : undefined) ?? e?.code ?? "UnknownError")
  const status = e?.$metadata?.httpStatusCode
  const text = String(e?.message ?? error).split("\n")[0]!.slice(0, 300)
  if (THROTTLE_CODES.has(code) || status === 429) {
    return new CloudMapError({ operation, code, message: `Cloud Map throttled ${operation}: ${text}`, kind: "throttled" })
  }
  if (DENIED_CODES.has(code) || status === 403) {
    return new CloudMapError({
      operation,
      code,
      kind: "denied",
      message: deniesAction(code)
        ? `not allowed to call ${operation}: grant the IAM action servicediscovery:${operation} to the task role (${text})`
        : `AWS rejected the credentials for ${operation} (${code}): check the task role or AWS credentials (${text})`
    })
  }
  if (NOT_FOUND_CODES.has(code)) return new CloudMapError({ operation, code, message: text, kind: "notFound" })
  if (code === "InvalidInput" || code === "ValidationException") {
    return new CloudMapError({ operation, code, message: text, kind: "invalid" })
  }
  if (noDescriptors || outOfDescriptors(error)) {
    return new CloudMapError({
      operation,
      code: "EMFILE",
      kind: "transient",
      message: `${operation} could not open a connection: the agent has run out of file descriptors (EMFILE, too many open ` +
        `files). The agent's own port takes at most a quarter of them (docs/security.md); raise the container's nofile ulimit ` +
        `(ECS: ulimits) if this repeats`
    })
  }
  // 5xx, network failures, malformed responses, unknown errors: transient.
  return new CloudMapError({ operation, code, message: `${operation} failed (${code}): ${text}`, kind: "transient" })
}

