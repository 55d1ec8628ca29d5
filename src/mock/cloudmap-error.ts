/**
 * The modeled Cloud Map errors the mock answers with (`{"__type": code, "Message": message}` on
 * the wire, plus any extra members). Operations return them in a `Result`; nothing is thrown.
 */
import { Result } from "effect"

/** A modeled Cloud Map error, as sent on the wire. */
export interface CloudMapError {
  readonly code: string
  readonly message: string
  readonly status: number
  /** Extra members of the error body (e.g. `ServiceId` of ServiceAlreadyExists). */
  readonly fields?: Readonly<Record<string, unknown>>
}

export const cloudMapError = (
  code: string,
  message: string,
  status = 400,
  fields?: Readonly<Record<string, unknown>>
): CloudMapError => fields === undefined ? { code, message, status } : { code, message, status, fields }

/** A failed Result carrying a modeled error. */
export const fail = (
  code: string,
  message: string,
  status = 400,
  fields?: Readonly<Record<string, unknown>>
): Result.Result<never, CloudMapError> => Result.fail(cloudMapError(code, message, status, fields))

/** `InvalidInput` (400): the request does not satisfy the API's constraints. */
export const invalidInput = (message: string): Result.Result<never, CloudMapError> => fail("InvalidInput", message)
