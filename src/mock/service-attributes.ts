/**
 * Service attributes: GetServiceAttributes, UpdateServiceAttributes (merges) and
 * DeleteServiceAttributes. At most 30 per service; keys 1..255 characters, values at most 1024.
 */
import { Result, Schema } from "effect"
import { fail } from "./cloudmap-error.ts"
import { NonEmptyString, operation, required } from "./request.ts"
import { findService, MAX_SERVICE_ATTRIBUTES, withService } from "./state-model.ts"

const ServiceId = required(NonEmptyString(255))

export const getServiceAttributes = operation(Schema.Struct({ ServiceId }), (state, input) =>
  Result.map(findService(state, input.ServiceId), (svc) => ({
    state,
    output: { ServiceAttributes: { ServiceArn: svc.arn, ResourceOwner: state.accountId, Attributes: svc.attributes } }
  })))

const AttributesToSet = Schema.Record(Schema.String, Schema.String).check(
  Schema.makeFilter((attrs) => {
    const entries = Object.entries(attrs)
    if (entries.length === 0) return "must not be empty"
    if (entries.length > MAX_SERVICE_ATTRIBUTES) return `can contain at most ${MAX_SERVICE_ATTRIBUTES} entries`
    for (const [k, v] of entries) {
      if (k.length === 0 || k.length > 255) return `has an invalid key: ${JSON.stringify(k)} (1-255 characters)`
      if (v.length > 1024) return `has a value longer than 1024 characters (key ${k})`
    }
    return undefined
  })
)

export const updateServiceAttributes = operation(
  Schema.Struct({ ServiceId, Attributes: required(AttributesToSet) }),
  (state, input) =>
    Result.gen(function*() {
      const svc = yield* findService(state, input.ServiceId)
      const merged = { ...svc.attributes, ...input.Attributes }
      if (Object.keys(merged).length > MAX_SERVICE_ATTRIBUTES) {
        return yield* fail(
          "ServiceAttributesLimitExceededException",
          `A service can have at most ${MAX_SERVICE_ATTRIBUTES} attributes`
        )
      }
      return { state: withService(state, { ...svc, attributes: merged }), output: {} }
    })
)

const KeysToDelete = Schema.Array(Schema.String).check(Schema.makeFilter((keys) => keys.length > 0 || "must not be empty"))

export const deleteServiceAttributes = operation(
  Schema.Struct({ ServiceId, Attributes: required(KeysToDelete) }),
  (state, input) =>
    Result.map(findService(state, input.ServiceId), (svc) => {
      const attributes = { ...svc.attributes }
      for (const k of input.Attributes) delete attributes[k]
      return { state: withService(state, { ...svc, attributes }), output: {} }
    })
)
