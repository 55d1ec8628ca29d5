/**
 * The benches' one door to src/plan/, src/render/ and the src/model/ types they take: a Snapshot
 * becomes the files the agent would write for it (plan + render, pure), and service attributes
 * become the routing options the agent decodes from them.
 */
import { Result } from "effect"
import type { RenderSettings } from "../../../src/render/settings.ts"
import { DEFAULT_OPTIONS, type ServiceOptions } from "../../../src/model/service-options.ts"
import type { DiscoveredService, NamespaceMapping, Snapshot } from "../../../src/model/snapshot.ts"
import { decodeInstanceWeight, decodeServiceOptions } from "../../../src/plan/options.ts"
import { type InstanceNetworks, parseCidr } from "../../../src/plan/networks.ts"
import { plan } from "../../../src/plan/plan.ts"
import { render, type RenderedFiles } from "../../../src/render/render.ts"

export type { DiscoveredService, NamespaceMapping, RenderedFiles, RenderSettings, ServiceOptions, Snapshot }
export { DEFAULT_OPTIONS }

/**
 * haproxy.cfg and the map files for `snapshot`, byte for byte what the agent renders (no
 * DEFAULT_INSTANCE_PORT); `serviceAttributes` (by service id) carry the services' `haproxy.*` options.
 */
/** The bench agents' ALLOW_INSTANCE_NETWORKS (their backends listen on loopback). */
const LOOPBACK: InstanceNetworks = { allowed: [Result.getOrThrow(parseCidr("127.0.0.0/8"))], own: [] }

export const renderSnapshot = (
  snapshot: Snapshot,
  settings: RenderSettings,
  serviceAttributes?: ReadonlyMap<string, Readonly<Record<string, string>>>
): RenderedFiles => render(plan(snapshot, { defaultInstancePort: undefined, serviceAttributes, instanceNetworks: LOOPBACK }), settings)

/** The options the agent decodes from a host-mode service's attributes, and the keys it would ignore. */
export const decodeHostServiceOptions = (attributes: Readonly<Record<string, string>>, domain: string) =>
  decodeServiceOptions(attributes, { mode: "host", domain })

/** The weight the agent decodes from an instance's attributes, and the keys it would ignore. */
export { decodeInstanceWeight }
