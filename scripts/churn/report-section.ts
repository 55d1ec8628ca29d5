/**
 * The `## Churn` section of BENCHMARKS.md: the method (generated from the parameters in force),
 * the tables of this run, the failure digest, and a reading generated from its numbers. A run
 * with `--options` (meta.options set) is `## Churn (options on every service)` and names the set.
 */
import { count, fmtS, secs } from "../bench/format.ts"
import { OPTIONS_TITLE_SUFFIX } from "../bench/service-options.ts"
import type { Summary } from "../bench/stats.ts"
import {
  BASELINE_POLL_MS,
  CHURN_FIRST_MS,
  CHURN_GAP_MIN_MS,
  CHURN_GAP_SPAN_MS,
  DEFAULTS,
  HEALTH_FIRST_MS,
  HEALTH_GAP_MIN_MS,
  HEALTH_GAP_SPAN_MS,
  LOAD_CONNECTIONS,
  LOAD_GAP_MS,
  P,
  PROBE_INTERVAL_MS,
  QUIET_MS,
  REQUEST_TIMEOUT_MS
} from "./params.ts"
import { convergence, instanceChanges, newServiceChanges, reloadDelta, staleMoves } from "./report-tables.ts"
import type { CallsResult, ChurnResult } from "./results.ts"
import { AGENT_NON_DEFAULTS } from "./sut.ts"

/** The BENCHMARKS.md section: method, the tables of this run, and a reading generated from its numbers. */
export const renderSection = (
  table: string,
  meta: Record<string, string>,
  a: ChurnResult,
  b: ChurnResult,
  calls: ReadonlyArray<CallsResult>,
  digestA: string,
  digestB: string
): string => {
  const conv = convergence
  const revA = conv(a, ["add", "move", "remove"])
  const revB = conv(b, ["add", "move", "remove"])
  const healthA = conv(a, ["unhealthy", "healthy"])
  const healthB = conv(b, ["unhealthy", "healthy"])
  const allA = conv(a, ["add", "move", "remove", "unhealthy", "healthy"])
  const newA = conv(a, ["new service"])
  const newB = conv(b, ["new service"])
  const met = (v: number | undefined, limit: number) => v !== undefined && v <= limit
  const verdict = (s: Summary) =>
    `p50 ${secs(s.p50)} (${met(s.p50, 2000) ? "meets" : "misses"} the 2 s target), p95 ${secs(s.p95)} (${met(s.p95, 5000) ? "meets" : "misses"} the 5 s target)`
  const reloadsA = reloadDelta(a)
  const reloadsB = reloadDelta(b)
  const instanceReloadsA = Object.entries(a.details)
    .filter(([k]) => k.startsWith("reloads instances"))
    .reduce((n, [k, v]) => n + v - (a.detailsBefore[k] ?? 0), 0)
  const callsOf = (label: string, n: number) => calls.find((c) => c.label === label && c.services === n)
  const a100 = callsOf("agent", 100)
  const a1000 = callsOf("agent", 1000)
  const b1000 = callsOf("baseline", 1000)
  const nInst = instanceChanges
  const nNew = newServiceChanges
  // How often each service gets these calls.
  const periodOf = (c: CallsResult, operations: ReadonlyArray<string>) => {
    const perMin = operations.reduce((n, op) => n + (c.perMinute[op] ?? 0), 0)
    return perMin === 0 ? "?" : `${(60 / (perMin / c.services)).toFixed(1)} s`
  }
  const readPeriod = (c: CallsResult) => periodOf(c, ["DiscoverInstances"])
  const perReload = reloadsB !== undefined && reloadsB > 0 ? Math.round((b.loadConnects - LOAD_CONNECTIONS) / reloadsB) : undefined

  const d = DEFAULTS
  const poll = fmtS(d.revisionPollSeconds)
  const stale = staleMoves(a)
  const moves = a.changes.filter((c) => c.kind === "move").length
  // HAProxy 3.4+ adds new services at runtime: the run says which path (a) took.
  const noReloads = reloadsA === 0
  const newServicesBy = noReloads ? "added through the runtime API (no reload: HAProxy adds backends at runtime)" : "reloaded"
  const reading: Array<string> = []
  reading.push(
    `* **Failed requests.** (a) ${a.requests.failed} of ${count(a.requests.total)}, ` +
      `(b) ${b.requests.failed} of ${count(b.requests.total)}. ` +
      (a.requests.failed === 0
        ? `The 0 target for (a) is met: instances were added, moved and drained through the runtime API, and new services ${newServicesBy}, under keep-alive load without a single error. `
        : "The 0 target for (a) is MISSED; see the failure detail above. ") +
      (b.requests.failed === 0
        ? "The baseline did not drop requests either: both render the same haproxy.cfg, whose `option idle-close-on-response` closes each idle keep-alive " +
          "connection of an old worker only after its next response (with `Connection: close`), and master-worker reloads never drop new connections. " +
          "So with this configuration the price of reload-per-change is not errors but churn: "
        : "The baseline's failures come from reloads (keep-alive connections of old workers). Beyond errors, reload-per-change costs ") +
      `every reload makes every keep-alive client reconnect (${b.loadConnects} load connections opened in (b) vs ${a.loadConnects} in (a), ` +
      `${LOAD_CONNECTIONS} of them at the start${perReload === undefined ? "" : `, about ${perReload} reconnects per reload`}), ` +
      "forks a new worker and leaves an old one draining."
  )
  reading.push(
    `* **Reloads.** (a) ${reloadsA ?? "?"} for ${nInst(a)} instance changes and ${nNew(a)} new services; ` +
      `${instanceReloadsA === 0 ? "none was caused by an instance change (target met): " : `${instanceReloadsA} were labelled as instance reloads (target MISSED): `}` +
      (noReloads
        ? "new services too went through the runtime API (`add backend` from their option profile's defaults, servers, `publish backend`, map entries). "
        : `reloads happen only for new services (a new service is listed as soon as the change feed names it, and two reloads are at least ` +
          `RELOAD_MIN_INTERVAL = ${fmtS(d.reloadMinIntervalSeconds)} apart, so services created close together share one). `) +
      `(b) ${reloadsB ?? "?"}: one per poll round that saw any change.`
  )
  reading.push(
    `* **Convergence, (a) at default settings.** Changes that bump InstancesRevision (add, move, remove): ${verdict(revA)}. ` +
      `What dominates is the change feed's round: every CHANGE_FEED_RATE = ${fmtS(d.changeFeedSeconds)} (±5 %) one ListOperations walk, a ` +
      "GetOperation for each new operation, and DiscoverInstances of the services they name, ahead of every other read; no revision is " +
      `checked (with the feed unavailable, revision polling takes over: every REVISION_POLL_RATE = ${poll}, or more often for a fleet under ` +
      `${Math.ceil((d.revisionCheckBudget * d.revisionPollSeconds) / 60)} services). ` +
      "A change lands at a random phase, so the median wait is about half a period and the tail about a whole one; applying through the " +
      "runtime API then takes well under 0.2 s (new servers get their share at once, no slowstart)" +
      (noReloads ? ". " : ", also while a new service's reload waits out RELOAD_MIN_INTERVAL (instance changes of the other services go ahead through the runtime API). ") +
      `Health flips: p50 ${secs(healthA.p50)}, p95 ${secs(healthA.p95)}. A health change does not bump InstancesRevision, so only a ` +
      `service's DiscoverInstances read sees it; each service is re-read at least every REFRESH_RATE = ${fmtS(d.refreshSeconds)} ` +
      `(spread over the rounds), so the expected wait is about half of that: a health flip reported only by Cloud Map is bounded by REFRESH_RATE, not by the 2 s / 5 s targets, which apply to registrations, deregistrations and moves (HAProxy's own checks take an instance that stops answering out within about 6 s). ` +
      `All ${nInst(a)} instance changes together: ${verdict(allA)}; max ${secs(allA.max)}. ` +
      `New services: p50 ${secs(newA.p50)}, p95 ${secs(newA.p95)}: the feed names the new service at its first registration, which ` +
      (noReloads ? "re-lists services at once, then the runtime API adds it." : "re-lists services at once, then a reload (coalesced within RELOAD_MIN_INTERVAL).")
  )
  if (stale.length > 0) {
    const worst = Math.max(...stale.map((c) => c.oldStoppedMs! - c.convergedMs!))
    reading.push(
      `* **Moves.** In ${stale.length} of ${moves} moves the OLD port kept receiving requests for up to ${secs(worst)} after the new ` +
        "port served its first one, although `show servers state` showed the new address: HAProxy 2.6 kept reusing a keep-alive " +
        "connection to the old address that was pooled before the server was re-pointed. That is harmless while the old instance " +
        "still runs the same application, but a request can reach whatever listens on the old address afterwards. Removals (drain, " +
        "then maint, then `del server`) " +
        "never showed this."
    )
  }
  const keptInMaint = a.logProblems.filter((l) => l.includes("kept in maintenance")).length
  const fallbacks = a.logProblems.filter((l) => l.includes("could not be verified")).length
  if (keptInMaint + fallbacks > 0) {
    reading.push(
      `* **Agent warnings.** ${keptInMaint} removal(s) ended with HAProxy refusing \`del server\` ("Server still has connections ` +
        "attached to it\"): the drained server was left in maintenance (no traffic) until the next reload. " +
        `${fallbacks} runtime update(s) could not be verified and fell back to a reload. ` +
        "A server left in maintenance matters when the same instance id comes back before the next reload (a health flip back to " +
        "HEALTHY, a re-registration): `add server` then fails with \"Already exists a server with the same name\" and the change " +
        "falls back to a reload."
    )
  }
  reading.push(
    `* **Convergence, (b).** Revision-visible changes p50 ${secs(revB.p50)}, p95 ${secs(revB.p95)}; health flips p50 ${secs(healthB.p50)}, ` +
      `p95 ${secs(healthB.p95)}; new services p50 ${secs(newB.p50)}, p95 ${secs(newB.p95)}. The baseline polls every ${fmtS(BASELINE_POLL_MS / 1000)} ` +
      "on purpose (the period of (a)'s revision poll, so the apply path is what differs); because it re-reads every service's instances on " +
      "every poll it also sees health flips and new services within one period. That speed is bought with Cloud Map calls (next point), " +
      "and the original image polled every 60 s by default."
  )
  if (a100 !== undefined && a1000 !== undefined) {
    reading.push(
      `* **Cloud Map calls.** (a) makes ~${count(Math.round(a100.totalPerMinute))} calls/min for 100 services at rest (the 300 target of ` +
        `\`bench:scale\`): ${Math.round(a100.perMinute["ListOperations"] ?? 0)} ListOperations (the change feed, one walk every ` +
        `CHANGE_FEED_RATE = ${fmtS(d.changeFeedSeconds)} for the whole account, not per service); the sweep, DiscoverInstances of every ` +
        `service at least every REFRESH_RATE = ${fmtS(d.refreshSeconds)} (measured: every ${readPeriod(a100)} per service); ` +
        `${Math.round(a100.perMinute["GetServiceAttributes"] ?? 0)} GetServiceAttributes (every SERVICE_ATTRIBUTES_RATE = ` +
        `${fmtS(d.serviceAttributesSeconds)} per service); and ` +
        `${Math.round(a100.perMinute["ListServices"] ?? 0)} ListNamespaces + ListServices per minute each (with the feed, services are ` +
        `re-listed every max(SERVICE_LIST_RATE, REFRESH_RATE) = ${fmtS(Math.max(d.serviceListSeconds, d.refreshSeconds))}, and at once ` +
        "when the feed names a service not listed yet). No DiscoverInstancesRevision at all. " +
        `At 1,000 services it makes ~${count(Math.round(a1000.totalPerMinute))}/min (a read every ${readPeriod(a1000)} per service); every ` +
        "change adds about one GetOperation and one DiscoverInstances. The account's quotas are shared " +
        "by every replica (docs/deployment-ecs.md §7 sizes them). " +
        (b1000 === undefined
          ? ""
          : `The baseline polling every ${fmtS(BASELINE_POLL_MS / 1000)} makes ~${count(Math.round(b1000.totalPerMinute))}/min at 1,000 services (unthrottled). `) +
        "For comparison, the original image at its default 60 s made about one ListInstances per service per minute (N + 1 calls/min): " +
        "far fewer calls than (a), with ~30 s median convergence, no health awareness and a silent cut-off at 100 services."
    )
  }
  const options = meta["options"]
  const healthChecks = (r: ChurnResult) => (r.healthChecks === undefined ? "?" : count(r.healthChecks))
  return [
    options === undefined ? "## Churn" : `## Churn${OPTIONS_TITLE_SUFFIX}`,
    "",
    ...(options === undefined
      ? ["Command: `npm run bench:churn` (= `bun scripts/bench-churn.ts`; `--quick` for a smoke run, which does not write this file; `--options` " +
        "writes `## Churn (options on every service)` instead of this section)."]
      : [
        "Command: `npm run bench:churn -- --options` (= `bun scripts/bench-churn.ts --options`): the same scenario as `## Churn` with routing " +
        "options set on every service (default settings otherwise).",
        `${commitText(meta)}Date: ${meta["date"]}. Machine: ${meta["machine"]}; ${meta["load"]} (other work was running on the machine).`,
        "",
        `**Options on every service** (service attributes, set in the fixture for the initial services and with UpdateServiceAttributes right ` +
        `after CreateService for the new ones): ${options} (on every RegisterInstance and fixture instance). ` +
        "Checked after the agent was ready: `/status` listed every route with exactly these options (`options.check._tag` \"Http\") and " +
        "every instance at this weight, no `ignoredOptions` (the run fails otherwise). No `haproxy.cookie` (a sticky service reloads on " +
        "added instances by design) and no zone affinity (it would keep new other-zone instances idle, which this measurement cannot see). " +
        `The backends answered ${healthChecks(a)} (a) and ${healthChecks(b)} (b) HTTP health checks (\`GET /\` without the bench's header: ` +
        "200, never counted as served requests)."
      ]),
    ...(options === undefined ? [`${commitText(meta)}Date: ${meta["date"]}. Machine: ${meta["machine"]}; ${meta["load"]} (other work was running on the machine).`] : []),
    "",
    "What runs (all on 127.0.0.1, every loop bounded, every process killed by PID at the end):",
    "",
    `* Scenario, identical for both modes: ${P.churnServices} services × ${P.changesPerChurnService} changes (add / move = re-register the same ` +
    `instance id on a new port / remove, in turn) + ${P.healthServices} services × ${P.flipsPerHealthService} health flips ` +
    "(UpdateInstanceCustomHealthStatus UNHEALTHY then HEALTHY, default HEALTH_FILTER=HEALTHY_OR_ELSE_ALL, siblings healthy) + " +
    `${P.newServices} new services (CreateService + RegisterInstance, one every ${P.newServiceSpacingMs / 1000} s), against the mock Cloud Map ` +
    "through the real AWS SDK. Each service starts with 3 instances; each instance is its own tiny HTTP server. A service's changes come at " +
    `random times independent of the pollers (first one after U(0, ${CHURN_FIRST_MS / 1000}) s, then every U(${CHURN_GAP_MIN_MS / 1000}, ` +
    `${(CHURN_GAP_MIN_MS + CHURN_GAP_SPAN_MS) / 1000}) s, counted from the previous change, not from its convergence; health: first after ` +
    `U(0, ${HEALTH_FIRST_MS / 1000}) s, the HEALTHY flip U(${HEALTH_GAP_MIN_MS / 1000}, ${(HEALTH_GAP_MIN_MS + HEALTH_GAP_SPAN_MS) / 1000}) s after the ` +
    "UNHEALTHY one), so they hit the poll cycles at a uniformly random phase.",
    `* Load: ${LOAD_CONNECTIONS} keep-alive connections (a raw HTTP/1.1 client that never retries, like wrk) cycling over every service host with a ` +
    `${LOAD_GAP_MS} ms pause between requests, plus one probe per affected host every ${PROBE_INTERVAL_MS} ms; ${REQUEST_TIMEOUT_MS / 1000} s timeout per request. ` +
    "A failed request is any non-2xx, reset, early close or timeout (a new host counts only after its first 2xx).",
    "* Convergence, measured on the backends from the moment the SDK call returned: add / move / healthy / new service = first request served by " +
    `the new instance (new port); remove / unhealthy = last request served, confirmed by ${QUIET_MS / 1000} s of silence while the probe keeps hitting the host.`,
    "* Reloads: `show proc` on the master socket before and after the churn. Calls: the mock's `GET /_mock/calls`, zeroed once the system served " +
    "its first configuration, read after the window shown (2 × REFRESH_RATE, at least 60 s); 100 and 1,000 services with one instance each.",
    `* (a) the agent, the compiled \`dist/cloudmap-haproxy run\`, default settings: CHANGE_FEED ${DEFAULTS.changeFeed}, ` +
    `CHANGE_FEED_RATE ${DEFAULTS.changeFeedSeconds}, SERVICE_ATTRIBUTES_RATE ${DEFAULTS.serviceAttributesSeconds}, REVISION_POLL_RATE ${DEFAULTS.revisionPollSeconds}, ` +
    `SERVICE_LIST_RATE ${DEFAULTS.serviceListSeconds}, REFRESH_RATE ${DEFAULTS.refreshSeconds}, RELOAD_MIN_INTERVAL ${DEFAULTS.reloadMinIntervalSeconds}, ` +
    `CLOUDMAP_RATE_LIMIT ${DEFAULTS.cloudMap.requestsPerSecond}, CLOUDMAP_CONCURRENCY ${DEFAULTS.cloudMap.concurrency}, ` +
    `HAPROXY_NBTHREAD ${DEFAULTS.nbthread}, HEALTH_FILTER ${DEFAULTS.healthFilter}, MAX_REMOVAL_PERCENT ${DEFAULTS.maxRemovalPercent}` +
    `. Non-defaults: ${AGENT_NON_DEFAULTS}.`,
    "* (b) the reload-every-change baseline (`scripts/churn/baseline.ts`), what the original image did, rebuilt from this project's " +
    `pure pieces: every ${fmtS(BASELINE_POLL_MS / 1000)} (fixed rate; the agent's REVISION_POLL_RATE) it reads the whole namespace with the AWS SDK (ListNamespaces, ListServices, then ` +
    "DiscoverInstances HEALTHY_OR_ELSE_ALL for every service" +
    (options === undefined ? "" : " and, with the options, GetServiceAttributes for every service") +
    ", 8 in flight, no rate limit, no revision check), plans and renders with " +
    "`src/plan/plan.ts` + `src/render/render.ts` (byte-identical haproxy.cfg to the agent's for the same registrations), and when the files " +
    "changed writes them atomically and reloads HAProxy through the master CLI (`src/haproxy/master-cli.ts` `reload`, verified with `show proc`). " +
    "HAProxy runs as `haproxy -W -db -S master.sock -f haproxy.cfg`, like under the agent. It differs from the original on purpose: the original " +
    "polled every 60 s, used ListInstances (no health) truncated at 100 items, and its own template (`option httpclose`, no " +
    "idle-close-on-response); here only the apply path differs from (a).",
    "",
    table,
    "",
    `Failed requests in detail — ${digestA} ${digestB}`,
    "",
    "Reading:",
    "",
    ...reading,
    ""
  ].join("\n")
}

/** `Commit: \`x\`. ` when the run recorded the commit its binary was built from. */
const commitText = (meta: Record<string, string>): string => (meta["commit"] === undefined ? "" : `Commit: \`${meta["commit"]}\`. `)
