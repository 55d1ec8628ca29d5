/**
 * The benches' one door to src/plan/, src/render/ and the src/model/ types they take: a Snapshot
 * becomes the files the agent would write for it (plan + render, pure).
 */
import type { RenderSettings } from "../../../src/model/render-settings.ts"
import type { DiscoveredService, NamespaceMapping, Snapshot } from "../../../src/model/snapshot.ts"
import { plan } from "../../../src/plan/plan.ts"
import { render, type RenderedFiles } from "../../../src/render/render.ts"

export type { DiscoveredService, NamespaceMapping, RenderedFiles, RenderSettings, Snapshot }

/** haproxy.cfg and the map files for `snapshot`, byte for byte what the agent renders (no DEFAULT_INSTANCE_PORT). */
export const renderSnapshot = (snapshot: Snapshot, settings: RenderSettings): RenderedFiles =>
  render(plan(snapshot, { defaultInstancePort: undefined }), settings)
