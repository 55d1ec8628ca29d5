/**
 * Reports whether the polling settings fit the fleet (./fleet-fit.ts): the real interval between
 * two checks of a service and the effective refresh interval as metrics, the polling block of
 * Status, and one warning per problem when it first appears.
 */
import { Effect, Metric } from "effect"
import * as M from "../observability/metrics.ts"
import type { Cadence } from "./cadence.ts"
import { type FleetSettings, fleetFit } from "./fleet-fit.ts"
import type { Status } from "../status/status.ts"

/** Returns the problems now shown (pass it back as `shownProblems` next time). */
export const reportFleetFit = (
  services: number,
  namespaces: number,
  measuredSeconds: number | undefined,
  fleet: FleetSettings,
  shownProblems: string,
  updateStatus: (f: (s: Status) => Status) => Effect.Effect<void>,
  /** The rounds' cadence for this fleet (./cadence.ts). */
  cadence: Cadence
): Effect.Effect<string> =>
  Effect.gen(function*() {
    const fit = fleetFit(services, namespaces, fleet, cadence)
    if (measuredSeconds !== undefined) yield* Metric.update(M.effectiveRevisionInterval, measuredSeconds)
    yield* Metric.update(M.effectiveRefreshInterval, fit.refreshSeconds)
    const key = fit.problems.join("\n")
    if (key !== shownProblems) {
      for (const problem of fit.problems) yield* Effect.logWarning("polling settings do not fit the fleet", { problem })
    }
    yield* updateStatus((s) => ({
      ...s,
      polling: {
        services,
        checkIntervalSeconds: measuredSeconds ?? fit.roundSeconds,
        refreshIntervalSeconds: fit.refreshSeconds,
        callsPerMinute: Math.round(fit.callsPerMinute),
        problems: fit.problems
      }
    }))
    return key
  })
