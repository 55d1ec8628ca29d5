/**
 * Variables in the environment that look like ours but are not: a typo (`REFRESH_RAT`,
 * `STATS_PASSWORD`, `refresh_rate`) would otherwise be ignored in silence and its default used.
 * Pure: the run command logs each one once at start (src/agent/startup.ts).
 *
 * Near enough means at most 2 edits (two swapped neighbours count as one; case ignored) and at
 * most a third of the name: far enough that what ECS and the official image set
 * (ECS_CONTAINER_METADATA_URI, HAPROXY_URL, HAPROXY_VERSION) is not taken for ours.
 */
import { typoDistance } from "../model/closest.ts"
import { TABLE } from "./variables.ts"

export interface UnknownVariable {
  readonly name: string
  /** The variable it is probably meant to be. */
  readonly meant: string
}

const KNOWN: ReadonlyArray<string> = Object.values(TABLE).flatMap((v) => [v.name, ...(v.aliases ?? [])])

/** Every variable of `env` that is not ours but is a typo away from one, sorted by name. */
export const unknownVariables = (env: Readonly<Record<string, string | undefined>>): ReadonlyArray<UnknownVariable> => {
  const known = new Set(KNOWN)
  const found: Array<UnknownVariable> = []
  for (const name of Object.keys(env).sort()) {
    if (known.has(name)) continue
    const limit = Math.min(2, Math.floor(name.length / 3))
    let meant: string | undefined
    let best = Number.POSITIVE_INFINITY
    for (const candidate of KNOWN) {
      const d = typoDistance(name.toUpperCase(), candidate)
      if (d < best) {
        best = d
        meant = candidate
      }
    }
    if (meant !== undefined && best <= limit) found.push({ name, meant })
  }
  return found
}
