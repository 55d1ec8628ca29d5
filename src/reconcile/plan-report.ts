/**
 * What a plan logs and counts, each thing once, when it first appears: instance removals held
 * back (anti-flap), services whose answer may be truncated, quarantined records, ignored
 * options, and reads that failed (the previous data is kept).
 */
import { Effect, Metric } from "effect"
import { DISCOVER_MAX_RESULTS } from "../cloudmap/client.ts"
import { type Desired, quarantineKey } from "../model/desired.ts"
import type { Snapshot } from "../model/snapshot.ts"
import * as M from "../observability/metrics.ts"
import type { ReadFailure } from "./fail-static.ts"
import { reportIgnoredOptions } from "./service-attributes.ts"
import { newlyTruncated } from "./snapshot-update.ts"
import type { SuppressedChange } from "../status/status.ts"

export const reportPlan = (
  previous: Snapshot | undefined,
  guarded: { readonly snapshot: Snapshot; readonly suppressed: ReadonlyArray<SuppressedChange> },
  published: Desired | undefined,
  desired: Desired,
  failures: ReadonlyArray<ReadFailure>
): Effect.Effect<void> =>
  Effect.gen(function*() {
    // One series, no label per service: a label for every service ever held back would grow
    // without bound (and a deleted service's series would linger); which services are held back
    // now is in /status (suppressedChanges) and in this log line.
    for (const s of guarded.suppressed) {
      yield* Effect.logWarning("large instance removal held back", { ...s })
      yield* Metric.update(M.suppressedRemovals, s.held)
    }
    for (const t of newlyTruncated(previous, guarded.snapshot)) {
      yield* Effect.logWarning(
        `Cloud Map returned ${DISCOVER_MAX_RESULTS} instances for service ${t.namespace}/${t.service}: ` +
          `the answer may be truncated (Cloud Map's per-service maximum is 1,000)`,
        { namespace: t.namespace, service: t.service }
      )
    }
    // Each quarantined record is logged once, when it first appears (JSON escapes its raw text).
    const before = new Set((published?.quarantined ?? []).map(quarantineKey))
    for (const q of desired.quarantined) {
      if (!before.has(quarantineKey(q))) yield* Effect.logWarning("Cloud Map record quarantined", { ...q })
    }
    yield* reportIgnoredOptions(published?.ignoredOptions ?? [], desired.ignoredOptions)
    if (failures.length > 0) {
      yield* Effect.logWarning("Cloud Map read failed; keeping previous data", { failures: failures.length, first: failures.slice(0, 5) })
    }
  })
