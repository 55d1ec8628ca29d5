/**
 * The cadence of the polling rounds, decided here and nowhere else: how far apart rounds start
 * and by how much that varies, how old a service's last read may get before a round re-reads it
 * (the sweep), and how often namespaces and services are listed. Read by the polling loop
 * (./polling.ts), the rounds' plan (./round-plan.ts) and the sizing report (./fleet-fit.ts). Pure.
 */

/** The variables the cadence follows. */
export interface CadenceSettings {
  /** REVISION_POLL_RATE: seconds between rounds without the change feed. */
  readonly revisionPollSeconds: number
  /** REVISION_CHECK_BUDGET: revision checks a minute a small fleet may use to be polled faster. */
  readonly revisionCheckBudget: number
  /** REFRESH_RATE: every service is read at least this often. */
  readonly refreshSeconds: number
  /** SERVICE_LIST_RATE: namespaces and services are listed at most this often. */
  readonly serviceListSeconds: number
}

export interface Cadence {
  /** Rounds follow the change feed (every CHANGE_FEED_RATE); false: revision polling. */
  readonly feed: boolean
  /** Seconds between two round starts. */
  readonly periodSeconds: number
  /** Round starts vary by ± this share of the period, so that replicas drift apart. */
  readonly jitter: number
  /** A service whose last read is this old (ms) is read again in this round (the sweep). */
  readonly rereadAfterMs: number
  /** Namespaces and services are listed again once the last listing is this old (ms). */
  readonly listIntervalMs: number
}

/**
 * ±5 %: enough for replicas to drift apart; a wider spread would lengthen the longest wait for a
 * change and make the calls of a minute vary by a whole round.
 */
export const ROUND_JITTER = 0.05

/**
 * Seconds between two polling rounds: REVISION_POLL_RATE, or less for a fleet small enough that
 * checking it more often stays within REVISION_CHECK_BUDGET calls a minute (at least 1 s).
 */
export const pollPeriodSeconds = (services: number, s: Pick<CadenceSettings, "revisionPollSeconds" | "revisionCheckBudget">): number =>
  services === 0 ? s.revisionPollSeconds : Math.min(s.revisionPollSeconds, Math.max(1, (60 * services) / s.revisionCheckBudget))

/**
 * The cadence for a fleet of `services`, with the change feed active (`feedSeconds`: its
 * CHANGE_FEED_RATE) or not (undefined).
 */
export const cadenceOf = (services: number, s: CadenceSettings, feedSeconds: number | undefined): Cadence => {
  const periodSeconds = feedSeconds ?? pollPeriodSeconds(services, s)
  return {
    feed: feedSeconds !== undefined,
    periodSeconds,
    jitter: ROUND_JITTER,
    // Old enough that waiting for the next round (up to a period plus its jitter away) would
    // exceed REFRESH_RATE; 0 when REFRESH_RATE is not longer than a round: every round reads all.
    rereadAfterMs: Math.max(0, s.refreshSeconds * 1000 - (1 + ROUND_JITTER) * periodSeconds * 1000),
    // With the feed a new service is listed at its first registration (the feed names it); the
    // listing runs every REFRESH_RATE then, as a safety net.
    listIntervalMs: (feedSeconds === undefined ? s.serviceListSeconds : Math.max(s.serviceListSeconds, s.refreshSeconds)) * 1000
  }
}

/**
 * Milliseconds from the end of a round to the start of the next: the period ± its jitter
 * (`random` in [0, 1)), less what the round took, at least 50 ms.
 */
export const nextRoundDelayMs = (cadence: Cadence, random: number, roundMs: number): number =>
  Math.max(50, cadence.periodSeconds * 1000 * (1 - cadence.jitter + 2 * cadence.jitter * random) - roundMs)
