/**
 * What a Cloud Map call of `cloudmap-haproxy check` becomes as a line: the item's name, counts in
 * details, and for a failed call the problem and the fix (branching on the error's kind). Pure.
 */
import { type CloudMapError, isActionDenied } from "../cloudmap/client.ts"

export const action = (operation: string) => `servicediscovery:${operation} allowed`

export const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? "" : "s"}`

/** What to do about a failed call. */
export const fixFor = (e: CloudMapError): string => {
  switch (e.kind) {
    case "denied":
      return isActionDenied(e)
        ? `grant the IAM action servicediscovery:${e.operation} to the task role`
        : "check the task role or the AWS credentials (they were rejected)"
    case "throttled":
      return "Cloud Map throttled the call: run check again, or lower CLOUDMAP_RATE_LIMIT on the running agents"
    default:
      return "check AWS_REGION, AWS_ENDPOINT_URL_SERVICEDISCOVERY and the network path to Cloud Map"
  }
}

export const problemOf = (e: CloudMapError): string => (e.kind === "denied" ? `denied (${e.code})` : e.message)
