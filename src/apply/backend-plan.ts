/**
 * Which new and removed services (backends) and route changes HAProxy 3.4 can take without a
 * reload, and in what shape. Pure: src/apply/runtime-backends.ts carries the plan out.
 *
 * A new backend is added `from` the named defaults section of its option profile
 * (src/render/backend-settings.ts `profileName`), so only profiles HAProxy has loaded (rendered in the
 * configuration it last started or reloaded with) can be used; any other profile, and any change
 * of a backend's own settings, takes a reload. Routes are map entries: every host or path whose
 * backend changed is one add, set or delete.
 */
import type { Backend, Desired } from "../model/desired.ts"
import { pathRouteKey } from "../model/names.ts"
import { profileName, renderedProfiles } from "../render/render.ts"
import type { RouteMap } from "../haproxy/runtime-backend-api.ts"
import type { DesiredDiff } from "./diff.ts"

/** What the running HAProxy was started or last reloaded with, as far as runtime changes care. */
export interface LoadedConfig {
  /** HAProxy 3.4 or later (detected): backends can be added and deleted at runtime. */
  readonly runtimeBackends: boolean
  /** The named defaults sections (option profiles) of the configuration it loaded. */
  readonly profiles: ReadonlySet<string>
}

export interface MapChange {
  readonly map: RouteMap
  readonly key: string
  /** Undefined: a new entry. */
  readonly before: string | undefined
  /** Undefined: the entry goes. */
  readonly after: string | undefined
}

export interface BackendPlan {
  readonly added: ReadonlyArray<{ readonly backend: Backend; readonly profile: string }>
  readonly removed: ReadonlyArray<Backend>
  readonly maps: ReadonlyArray<MapChange>
}

export type BackendPlanResult =
  | { readonly _tag: "Plan"; readonly plan: BackendPlan }
  /** Why only a reload applies it (shown with the change's reason). */
  | { readonly _tag: "Reload"; readonly why: string }

/** The option profiles a desired state renders (render/backend-settings.ts `renderedProfiles`). Pure. */
export const profilesOf = (desired: Desired): ReadonlySet<string> => new Set(renderedProfiles(desired.backends).keys())

const mapChanges = (map: RouteMap, before: ReadonlyMap<string, string>, after: ReadonlyMap<string, string>): ReadonlyArray<MapChange> => {
  const keys = [...new Set([...before.keys(), ...after.keys()])].sort()
  return keys.flatMap((key) => {
    const b = before.get(key)
    const a = after.get(key)
    return a === b ? [] : [{ map, key, before: b, after: a }]
  })
}

const hostMap = (d: Desired) => new Map(d.hostRoutes.map((r) => [r.host, r.backend]))
const pathMap = (d: Desired) => new Map(d.pathRoutes.map((r) => [pathRouteKey(r.domain, r.segment), r.backend]))

/** The runtime plan for `before` -> `after`, or why it takes a reload. Pure. */
export const planRuntimeBackends = (
  before: Desired,
  after: Desired,
  diff: DesiredDiff,
  loaded: LoadedConfig | undefined
): BackendPlanResult => {
  if (loaded === undefined || !loaded.runtimeBackends) return { _tag: "Reload", why: "this HAProxy adds no backends at runtime (3.4 or later does)" }
  if (diff.reloadBackends.length > 0) return { _tag: "Reload", why: "backend settings change only with a reload" }
  const wanted = new Map(after.backends.map((b) => [b.name, b]))
  const gone = new Set(diff.removedBackends)
  const added = diff.addedBackends.map((name) => {
    const backend = wanted.get(name)!
    return { backend, profile: profileName(backend) }
  })
  const missing = added.filter((a) => !loaded.profiles.has(a.profile))
  if (missing.length > 0) {
    const names = missing.slice(0, 3).map((a) => a.backend.name).join(", ") + (missing.length > 3 ? ` and ${missing.length - 3} more` : "")
    return { _tag: "Reload", why: `the option profile of ${names} is not loaded yet` }
  }
  return {
    _tag: "Plan",
    plan: {
      added,
      removed: before.backends.filter((b) => gone.has(b.name)),
      maps: [...mapChanges("hosts.map", hostMap(before), hostMap(after)), ...mapChanges("paths.map", pathMap(before), pathMap(after))]
    }
  }
}

/** The whole map a desired state renders, as HAProxy should hold it: [key, backend] sorted by key. Pure. */
export const wantedMap = (desired: Desired, map: RouteMap): ReadonlyArray<readonly [string, string]> =>
  [...(map === "hosts.map" ? hostMap(desired) : pathMap(desired)).entries()].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0))
