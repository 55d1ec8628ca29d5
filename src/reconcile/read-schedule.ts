/**
 * When each service's instances are read again with DiscoverInstances. Health changes do not
 * bump a service's InstancesRevision, so a revision check alone would never see them: every
 * service is re-read at least every REFRESH_RATE, and the reads are spread over the polling
 * rounds (each service has its own phase) instead of arriving as one burst. How old a read may
 * get is the cadence's (./cadence.ts).
 */

/** Whether a service read at `lastReadAt` is read again now (`afterMs`: the cadence's re-read age, ./cadence.ts). */
export const isDue = (lastReadAt: number | undefined, now: number, afterMs: number): boolean =>
  lastReadAt === undefined || now - lastReadAt >= afterMs

/**
 * The read time to record for services read together at start: backdated by a random share of
 * `afterMs` (`random` in [0, 1)), so that their next reads fall into different rounds.
 */
export const spreadReadAt = (readAt: number, afterMs: number, random: number): number => readAt - Math.floor(random * afterMs)
