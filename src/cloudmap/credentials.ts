/**
 * Whether the SDK's default credential provider chain (environment, shared files, SSO, the ECS
 * task role, the EC2 instance role) resolves, asked the way the client asks it
 * (`client.config.credentials()`, as ./data-plane.ts signs with it). Used by
 * `cloudmap-haproxy check`; the agent itself just calls Cloud Map.
 */
import { ServiceDiscoveryClient } from "@aws-sdk/client-servicediscovery"
import { Effect, Schema } from "effect"

export class CredentialsMissing extends Schema.TaggedError<CredentialsMissing>()("CredentialsMissing", {
  message: Schema.String
}) {}

interface Identity {
  readonly accessKeyId: string
  readonly expiration?: Date
}

/** The access key id found (the part before its last 4 characters masked). */
export const findCredentials = (region: string, timeoutSeconds: number) =>
  Effect.acquireUseRelease(
    Effect.sync(() => new ServiceDiscoveryClient({ region })),
    (client) =>
      Effect.tryPromise({
        try: () => (client.config.credentials as () => Promise<Identity>)(),
        catch: (e) => new CredentialsMissing({ message: e instanceof Error ? e.message.split("\n")[0]! : String(e) })
      }).pipe(
        Effect.timeoutOrElse({
          duration: `${timeoutSeconds} seconds`,
          orElse: () => Effect.fail(new CredentialsMissing({ message: `no provider answered within ${timeoutSeconds}s` }))
        }),
        Effect.map((identity) => `…${identity.accessKeyId.slice(-4)}`)
      ),
    (client) => Effect.sync(() => client.destroy())
  )
