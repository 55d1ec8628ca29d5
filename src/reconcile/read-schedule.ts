/**
 * When each service's instances are read again with DiscoverInstances. Health changes do not
 * bump a service's InstancesRevision, so a revision check alone would never see them: every
 * service is re-read at least every REFRESH_RATE, and the reads are spread over the polling
 * rounds (each service has its own phase) instead of arriving as one burst.
 */

/** Polling rounds start REVISION_POLL_RATE apart, ±5 % (polling.ts). */
const ROUND_JITTER = 1.05

/**
 * How old a service's last read may be before the round re-reads it: old enough that waiting
 * for the next round (up to 1.05 × REVISION_POLL_RATE away) would exceed REFRESH_RATE.
 * 0 when REFRESH_RATE is not longer than a round: every round reads every service.
 */
export const rereadAfterMs = (refreshMs: number, pollMs: number): number => Math.max(0, refreshMs - ROUND_JITTER * pollMs)

export const isDue = (lastReadAt: number | undefined, now: number, afterMs: number): boolean =>
  lastReadAt === undefined || now - lastReadAt >= afterMs

/**
 * The read time to record for services read together at start: backdated by a random share of
 * `afterMs` (`random` in [0, 1)), so that their next reads fall into different rounds.
 */
export const spreadReadAt = (readAt: number, afterMs: number, random: number): number => readAt - Math.floor(random * afterMs)
