/** Mock Cloud Map fixtures the end-to-end tests share. */
import type { Fixture } from "../../src/mock/fixture.ts"
import type { Backends } from "./backends.ts"

/**
 * Namespace `apps` with one service per entry, each instance pointing at the echo backend of
 * the same name (test/support/backends.ts): `{ web: ["web-1"] }` gives service `web` (id
 * `srv-web`) with instance `web-1` on backend `web-1`.
 */
export const appsFixture = (b: Backends, services: Readonly<Record<string, ReadonlyArray<string>>>): Fixture => ({
  namespaces: [{
    name: "apps",
    id: "ns-apps",
    services: Object.entries(services).map(([name, instances]) => ({
      name,
      id: `srv-${name}`,
      instances: instances.map((id) => ({
        id,
        attributes: { AWS_INSTANCE_IPV4: "127.0.0.1", AWS_INSTANCE_PORT: String(b.byName(id).port) }
      }))
    }))
  }]
})
