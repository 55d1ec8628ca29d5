/** The health rules, as pure functions of Status (README "Health endpoints"). */
import { describe, expect, it } from "vitest"
import type { Desired } from "../../src/model/desired.ts"
import { degradedReasons, type HealthRules, initialStatus, liveness, readiness, type Status } from "../../src/status/status.ts"

const HOUR = 3_600_000
const rules: HealthRules = { maxHeartbeatAgeMs: 120_000, maxStalenessMs: undefined, dryRun: false }
const empty: Desired = { backends: [], hostRoutes: [], pathRoutes: [], quarantined: [], ignoredOptions: [] }

/** Started at 0, first full sync applied at 1 s, HAProxy running, Cloud Map last read at 1 s. */
const serving = (over: Partial<Status> = {}): Status => ({
  ...initialStatus("test", 0),
  heartbeatAt: 1000,
  firstAppliedAt: 1000,
  initialSyncAt: 1000,
  lastSuccessAt: 1000,
  applied: empty,
  namespaces: [{ namespace: "apps", domain: "example.test", mode: "host", found: true, read: true }],
  haproxy: { running: true, pid: 1, workers: 1 },
  ...over
})

describe("readiness", () => {
  it("is not ready until every mapped namespace was read and applied, naming the one missing", () => {
    const s: Status = {
      ...serving(),
      initialSyncAt: undefined,
      namespaces: [
        { namespace: "apps", domain: "example.test", mode: "host", found: true, read: true },
        { namespace: "aps", domain: "other.test", mode: "host", found: false, read: false, error: 'namespace "aps" not found in us-east-1: check NAMESPACE_MAP' }
      ]
    }
    const v = readiness(s, 2000, rules)
    expect(v.ok).toBe(false)
    expect(v.reason).toContain('namespace "aps" not found')
    expect(v.reason).not.toContain('"apps"')
  })

  it("stays ready through a Cloud Map outage of any length (no staleness limit by default)", () => {
    const s = serving({ lastRefresh: { at: 24 * HOUR, kind: "fast", ok: false, error: "boom", durationMs: 5 } })
    expect(readiness(s, 24 * HOUR, rules)).toEqual({ ok: true, reason: "ok" })
  })

  it("stays ready when a namespace disappears after the first sync", () => {
    const s = serving({ namespaces: [{ namespace: "apps", domain: "example.test", mode: "host", found: false, read: true, error: "gone" }] })
    expect(readiness(s, 10_000, rules).ok).toBe(true)
  })

  it("fails on staleness only when READY_MAX_STALENESS is set", () => {
    const strict = { ...rules, maxStalenessMs: 60_000 }
    expect(readiness(serving(), 60_000, strict).ok).toBe(true)
    const v = readiness(serving(), 62_000, strict)
    expect(v).toEqual({ ok: false, reason: "last successful Cloud Map read 61s ago (READY_MAX_STALENESS 60s)" })
  })

  it("fails while shutting down or when HAProxy is not running", () => {
    expect(readiness(serving({ shuttingDown: true }), 2000, rules).reason).toBe("shutting down")
    expect(readiness(serving({ haproxy: { running: false, pid: undefined, workers: 0 } }), 2000, rules).reason).toBe("HAProxy is not running")
  })
})

describe("liveness", () => {
  it("never looks at Cloud Map; fails when the loop stalls or HAProxy stopped running an applied configuration", () => {
    const outage = serving({ lastSuccessAt: 1000, lastRefresh: { at: HOUR, kind: "fast", ok: false, durationMs: 1 }, heartbeatAt: HOUR })
    expect(liveness(outage, HOUR + 1000, rules).ok).toBe(true)
    expect(liveness(serving({ heartbeatAt: 0 }), 121_000, rules).reason).toBe("agent loop stalled for 121s")
    expect(liveness(serving({ haproxy: { running: false, pid: undefined, workers: 0 } }), 2000, rules).reason).toBe("HAProxy is not running")
  })

  it("is alive while starting (nothing applied yet), so a task started during an outage is not restarted in a loop", () => {
    const starting = { ...initialStatus("test", 0), heartbeatAt: 5000 }
    expect(liveness(starting, 6000, rules)).toEqual({ ok: true, reason: "ok (starting: no configuration applied yet)" })
  })
})

describe("degraded", () => {
  it("names each problem while serving: Cloud Map unreachable, a namespace gone, failed reads, a change not applied", () => {
    const s = serving({
      lastRefresh: { at: 31_000, kind: "fast", ok: false, error: "DiscoverInstances failed (InternalFailure)", durationMs: 5 },
      namespaces: [{ namespace: "apps", domain: "example.test", mode: "host", found: false, read: true, error: 'namespace "apps" not found' }],
      failures: [{ namespace: "apps", service: "web", error: "boom", servingPrevious: true }],
      pending: { desired: empty, since: 20_000, stage: "write", error: "EROFS: read-only file system", served: false }
    })
    expect(degradedReasons(s, 31_000)).toEqual([
      "Cloud Map not reachable: last successful read 30s ago (DiscoverInstances failed (InternalFailure)); serving the last known routes",
      'namespace "apps": namespace "apps" not found; serving its last known routes',
      "1 service(s) could not be read; serving their last known instances",
      "a newer configuration could not be applied (write: EROFS: read-only file system); HAProxy serves the previous one"
    ])
    expect(degradedReasons(serving(), 2000)).toEqual([])
  })

  it("is empty before the first sync (readiness reports that)", () => {
    expect(degradedReasons({ ...serving(), initialSyncAt: undefined, lastRefresh: { at: 1, kind: "full", ok: false, durationMs: 1 } }, 2000)).toEqual([])
  })
})
