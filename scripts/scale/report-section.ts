/**
 * The `## Scale` section of BENCHMARKS.md for one run: the command, the commit, the machine, the
 * agent's defaults in force, how changes are found, how each measure is taken, the mode's targets
 * and the results. A run with `--options` (meta.options set) is `## Scale (options on every
 * service)` and names the set; a run with `--feed-denied` (meta.mode "feed-denied") is
 * `## Scale (change feed denied)`: the fallback, revision polling, with the targets of issue 11.
 */
import { fmtS } from "../bench/format.ts"
import { OPTIONS_TITLE_SUFFIX } from "../bench/service-options.ts"
import { AGENT_NON_DEFAULTS } from "./agent.ts"
import { EXPECTED_FEED } from "./feed-status.ts"
import {
  FEED_CHECK_INTERVAL_MS,
  FEED_CHECK_TIMEOUT_MS,
  FEED_DENIED_FAULT,
  FOREIGN_HISTORY_OPERATIONS,
  INSTANCES_PER_SERVICE,
  PROBE_INTERVAL_MS,
  READY_POLL_MS,
  REGISTRATIONS,
  REQUEST_TIMEOUT_MS,
  RSS_SAMPLE_MS,
  SERVE_TIMEOUT_MS
} from "./params.ts"
import { callsTable, servingSummary, sizeTable, targetsTable } from "./report-tables.ts"
import { modeOf, type RunMeta, type ScaleRun } from "./results.ts"
import { TARGETS } from "./targets.ts"

/** The heading suffix of a section written with `--feed-denied`. */
export const FEED_DENIED_TITLE_SUFFIX = " (change feed denied)"

/** `--reading NAME`: the reading a mode measures, or undefined. */
const readingOf = (m: RunMeta): string | undefined => {
  const mode = modeOf(m)
  return mode.startsWith("reading-") ? mode.slice("reading-".length) : undefined
}

/** `Scale`, `Scale (options on every service)`, `Scale (change feed denied)` or `Scale (change feed reading: NAME)`. */
export const sectionTitle = (m: RunMeta): string =>
  readingOf(m) !== undefined
    ? `Scale (change feed reading: ${readingOf(m)}${m.operationScan === "updateDate" ? ", paged by date" : ""})`
    : modeOf(m) === "feed-denied"
    ? `Scale${FEED_DENIED_TITLE_SUFFIX}`
    : m.options === undefined
    ? "Scale"
    : `Scale${OPTIONS_TITLE_SUFFIX}`

/**
 * Where a new section goes, the first of these present: `## Scale` after `## Churn`, the options
 * section after `## Scale`, the feed-denied one after the options section, else after `## Scale`.
 */
export const sectionAfter = (m: RunMeta): ReadonlyArray<string> =>
  readingOf(m) !== undefined
    ? [`Scale${FEED_DENIED_TITLE_SUFFIX}`, `Scale${OPTIONS_TITLE_SUFFIX}`, "Scale"]
    : modeOf(m) === "feed-denied"
    ? [`Scale${OPTIONS_TITLE_SUFFIX}`, "Scale"]
    : m.options === undefined
    ? ["Churn"]
    : ["Scale"]

/** The defaults worth naming for this bench: polling, the change feed, Cloud Map pacing, reloads, HAProxy threads, health. */
const RELEVANT = /RATE|POLL|INTERVAL|^CLOUDMAP_|^CHANGE_FEED|^REVISION_|NBTHREAD|HEALTH_FILTER|LOG_LEVEL/

export const defaultsText = (defaults: Record<string, string>): string => {
  const named = Object.entries(defaults).filter(([name]) => RELEVANT.test(name))
  return named.length === 0 ? "(the binary did not list its defaults)" : named.map(([k, v]) => `${k} ${v}`).join("; ")
}

/** A default of the binary under test (`run --help`), or the source's when the binary did not list it. */
const setting = (m: RunMeta, name: string, fallback: number): number => {
  const n = Number(m.agentDefaults[name])
  return Number.isFinite(n) && m.agentDefaults[name] !== undefined ? n : fallback
}

/** `NAME = 2 s` from the binary's defaults. */
const rate = (m: RunMeta, name: string, fallback: number) => `${name} = ${fmtS(setting(m, name, fallback))}`

/** The bullet on how the agent finds changes in this mode, with the settings of the binary under test. */
const changesBullet = (m: RunMeta): string => {
  const refresh = setting(m, "REFRESH_RATE", 30)
  const attributes = rate(m, "SERVICE_ATTRIBUTES_RATE", 300)
  if (modeOf(m) !== "feed-denied") {
    const list = Math.max(setting(m, "SERVICE_LIST_RATE", 10), refresh)
    return "* **How changes are found** (the agent's defaults: the change feed): one `ListOperations` walk over the account every " +
      `${rate(m, "CHANGE_FEED_RATE", 2)}, \`GetOperation\` for each operation listed for the first time (the mock lists the operations ` +
      "of the bench's own `RegisterInstance` calls), and the services these name read first (`DiscoverInstances`); every service read " +
      `every REFRESH_RATE = ${fmtS(refresh)} as the sweep (health as Cloud Map reports it, and whatever the feed missed); namespaces and ` +
      `services listed every ${fmtS(list)} (the larger of SERVICE_LIST_RATE and REFRESH_RATE while the feed is used); attributes ` +
      `(\`GetServiceAttributes\`) every ${attributes}. The feed's calls have their own token bucket (CLOUDMAP_FEED_RATE_LIMIT).`
  }
  const poll = setting(m, "REVISION_POLL_RATE", 3.6)
  const budget = setting(m, "REVISION_CHECK_BUDGET", 1_500)
  return "* **How changes are found** (the fallback, revision polling at the fleet-scale defaults): a round every " +
    `REVISION_POLL_RATE = ${fmtS(poll)} (a fleet of fewer than REVISION_CHECK_BUDGET × REVISION_POLL_RATE / 60 = ` +
    `${Math.round((budget * poll) / 60)} services more often: every 60 × services / ${budget} s), \`DiscoverInstancesRevision\` for ` +
    `every service and \`DiscoverInstances\` where the revision changed or its REFRESH_RATE = ${fmtS(refresh)} read is due; namespaces ` +
    `and services listed every ${rate(m, "SERVICE_LIST_RATE", 10)}; attributes (\`GetServiceAttributes\`) every ${attributes}. ` +
    `The feed is tried again every ${rate(m, "CHANGE_FEED_RETRY", 300)} (and denied again: a shorter window sees no feed call).`
}

/** The `--feed-denied` paragraph: the fault, and the check before each window. */
const feedDeniedText = (): Array<string> => [
  "The same measurement as `## Scale`, with the change feed denied (`--feed-denied`; default agent settings otherwise): the " +
  "fallback the agent takes when its role may not read Cloud Map's operations.",
  "",
  "**Change feed denied**: before the agent starts, the mock gets a permanent fault rule (`POST /_mock/faults`) " +
  `\`${JSON.stringify(FEED_DENIED_FAULT)}\`: every such call is answered \`AccessDeniedException\` (HTTP 400), as for a task role ` +
  "without `servicediscovery:ListOperations` and `servicediscovery:GetOperation`. Checked after each size was ready, before its window: " +
  "`/status` showed `changeFeed.state` \"unavailable\" with `problem` \"denied\" (read every " +
  `${FEED_CHECK_INTERVAL_MS} ms for at most ${fmtS(FEED_CHECK_TIMEOUT_MS / 1000)}, as the feed's first round follows the first full read; ` +
  "the run fails otherwise). Zeroing the mock's call counters at the window's start leaves the rule in place.",
  ""
]

/** The `--reading` paragraph: what the mock was made to do, and what the agent's check of the feed found. */
const readingText = (run: ScaleRun): Array<string> => {
  const reading = readingOf(run.meta)
  if (reading === undefined) return []
  const what: Record<string, string> = {
    instance: "GetOperation's `Targets` carry `INSTANCE` only (mock `operationTargets: instance`): an operation is placed by its instance when the agent has read it, and otherwise makes its round check every revision",
    "not-found": "GetOperation answers `OperationNotFound` for every operation (a fault rule: operations kept briefly): each new operation makes its round check every revision",
    milliseconds: "ListOperations reads UPDATE_DATE in milliseconds (mock `updateDateUnit: milliseconds`): the agent sends seconds until a read finds a change no operation named; before the window one throwaway registration made it learn the unit (time shown below)",
    "foreign-churn": "the mock registers and deregisters instances in a namespace of its own (`foreign-churn`, unmapped) at 10 operations per second all along: the feed lists them with the agent's own"
  }
  const checks = run.sizes.map((r) =>
    `${r.services} services: ${r.changeFeed?.misses ?? "?"} misses, UPDATE_DATE in ${r.changeFeed?.unit ?? "?"}` +
    (r.changeFeed?.unitLearntMs === undefined ? "" : `, unit learnt ${fmtS(r.changeFeed.unitLearntMs / 1000)} after a registration`) +
    (r.changeFeed?.resumedMs === undefined ? "" : `, listing resumed and caught up ${fmtS(r.changeFeed.resumedMs / 1000)} after ready`)
  )
  const scan = run.meta.operationScan === "updateDate"
    ? " ListOperations pages from the UPDATE_DATE filter's start (`--operation-scan updateDate`: pages follow the operations in the window)."
    : reading === "foreign-churn"
    ? ` ListOperations pages through every operation the mock keeps (90 days) before it filters; ${FOREIGN_HISTORY_OPERATIONS.toLocaleString("en-US")} foreign operations were made before the agent started, so its window walk needs more than CHANGE_FEED_MAX_PAGES pages and it resumes each round where the last one ended (the window starts once \`/status\` shows it caught up).`
    : " ListOperations pages through every operation the mock keeps (90 days) before it filters."
  return [
    `The same measurement as \`## Scale\`, with the change feed's unpublished details read another way (\`--reading ${reading}\`): ${what[reading]}.${scan}`,
    "",
    `The feed's check after each size's registrations (\`/status\` changeFeed): ${checks.join("; ")}.`,
    ""
  ]
}

/** Where `/status` showed the feed otherwise than the mode measures, one note per size. */
const feedNotes = (run: ScaleRun): Array<string> => {
  const expected = EXPECTED_FEED[modeOf(run.meta)]
  return run.sizes.flatMap((r) => {
    const after = r.changeFeed?.afterWindow
    return after === undefined || after === expected
      ? []
      : [`* ${r.services} services: after the registrations \`/status\` showed the change feed ${after}, not ${expected}.`]
  })
}

/** ` /status showed … after each size's registrations.` when the run read it. */
const feedSeenText = (run: ScaleRun): string => {
  if (!run.sizes.some((r) => r.changeFeed?.afterWindow !== undefined)) return ""
  const expected = EXPECTED_FEED[modeOf(run.meta)]
  return feedNotes(run).length === 0
    ? ` After each size's registrations \`/status\` showed \`changeFeed\` ${expected}.`
    : " `/status` did not show the change feed as expected after every size's registrations (see the notes below)."
}

export const renderSection = (run: ScaleRun): string => {
  const m = run.meta
  const mode = modeOf(m)
  const denied = mode === "feed-denied"
  const w = fmtS(m.windowSeconds)
  const notes: Array<string> = []
  for (const r of run.sizes) {
    const s = servingSummary(r)
    if (s.timeouts > 0) {
      const missed = r.registrations.filter((x) => x.servedMs === undefined).map((x) => `${x.instance} on ${x.service}`)
      notes.push(`* ${r.services} services: ${s.timeouts} of ${s.n} registrations not served within ${fmtS(SERVE_TIMEOUT_MS / 1000)} (${missed.join(", ")}).`)
    }
    if (r.logProblems.length > 0) notes.push(`* ${r.services} services: the agent logged ${r.logProblems.length} warning/error lines; the first: \`${r.logProblems[0]!.slice(0, 200)}\``)
  }
  notes.push(...feedNotes(run))
  const options = m.options
  const source = TARGETS[mode].source
  return [
    `## ${sectionTitle(m)}`,
    "",
    ...(options === undefined ? [] : [
      "The same measurement as `## Scale`, with routing options set on every service (`--options`; default agent settings otherwise).",
      "",
      `**Options on every service** (service attributes in the fixture): ${options} (fixture instances and the window's registrations). ` +
      "Checked after each size was ready, before its window: `/status` listed every route with exactly these options " +
      "(`options.check._tag` \"Http\") and every instance at this weight, no `ignoredOptions` (the run fails otherwise). The sink and the " +
      "registrations' echo servers answer the HTTP checks (`GET /`) with 200. No `haproxy.cookie` (a sticky service reloads on added " +
      "instances by design) and no zone affinity (it would keep new other-zone instances idle).",
      ""
    ]),
    ...(denied ? feedDeniedText() : []),
    ...readingText(run),
    `What the agent costs as the fleet grows (${denied ? "revision polling, the fallback when the change feed is denied" : "the change feed, at the agent's defaults"}; ` +
    `targets of ${source}): start → ready, steady CPU, Cloud Map calls, memory, and how long a`,
    `new instance takes to serve, at ${run.sizes.map((r) => r.services.toLocaleString("en-US")).join(", ")} services × ${INSTANCES_PER_SERVICE} instances.`,
    "",
    "Command: `npm run bench:scale` (= `bun scripts/bench-scale.ts`; `--sizes 100,1000`, `--window-seconds N`, `--json FILE`, " +
    "`--binary PATH`, `--rebuild`, `--options` (the section `## Scale (options on every service)`), `--feed-denied` (the section " +
    "`## Scale (change feed denied)`; not with `--options`); `--quick` = 100 services and a 15 s " +
    "window, a smoke run that does not write this file; " +
    "`--render-from=<results.json>` rewrites this section from a saved run).",
    `Run: \`${m.command}\`. Commit: \`${m.commit}\`. Date: ${m.date}.`,
    `Machine: ${m.cpus} vCPU (${m.cpuModel}), HAProxy ${m.haproxy}, bun ${m.bun}; load average ${m.loadAtStart} at start, ${m.loadAtEnd} at the end` +
    (m.otherWork.length > 0 ? `; other benchmark, test or agent processes were running at the start (${m.otherWork.length}).` : "."),
    "",
    "How it is measured (one size at a time, each with a fresh mock and a fresh agent; everything on 127.0.0.1, every loop bounded, " +
    "every process of a size stopped by PID before the next size):",
    "",
    `* Fleet: the mock Cloud Map in the bench's process (\`src/mock/server.ts\`, \`syntheticFixture\`): one namespace \`apps\`, mapped to ` +
    `\`<service>.bench.test\` (host mode), N services × ${INSTANCES_PER_SERVICE} instances, every instance pointed at one local HTTP sink so HAProxy's checks pass.`,
    `* Agent: the compiled \`${m.binary} run\` at its default settings, as that binary lists them (\`run --help\`): ${defaultsText(m.agentDefaults)}. ` +
    `Non-defaults: ${AGENT_NON_DEFAULTS}.`,
    changesBullet(m) + feedSeenText(run),
    `* **start → ready**: from \`spawn()\` until \`/readyz\` answers 200, polled every ${READY_POLL_MS} ms (the binary is in the page cache).`,
    `* **Steady window**: ${w}, starting right after ready${options !== undefined || denied ? " (and the check above)" : ""}. ` +
    "**Agent CPU**: `utime + stime` of the agent's own PID from `/proc/<pid>/stat` " +
    "(its children, HAProxy and `haproxy -c`, are not counted), read at the window's start and end; one core = 100 %.",
    `* **RSS**: \`VmRSS\` of the agent every ${fmtS(RSS_SAMPLE_MS / 1000)} and at the window's end (end and max shown); HAProxy: the sum over ` +
    "its master and workers (the processes whose command line names the agent's config directory, `haproxy -c` validations left out), same samples.",
    "* **Cloud Map calls**: the mock's call statistics (`GET /_mock/calls`), zeroed at the window's start and read at its end, per minute; " +
    "the bench's own `RegisterInstance` calls are left out" + (denied ? ", denied calls are counted" : "") +
    ". **CPU per call** = agent CPU seconds in the window ÷ the agent's calls in the window" +
    (TARGETS[mode].cpuMsPerCall === undefined ? " (reported, without a target here)." : "."),
    `* **Registration → serving**: ${REGISTRATIONS} new instances, one every window ÷ ${REGISTRATIONS + 1}, each on its own new echo HTTP server, ` +
    "registered with the AWS SDK (`RegisterInstance`) on an existing service picked by a seeded random draw (the same services every run). " +
    `From the moment the SDK call returns, \`GET /\` with the service's Host header goes to HAProxy every ${PROBE_INTERVAL_MS} ms on a fresh ` +
    `connection (\`Connection: close\`, ${fmtS(REQUEST_TIMEOUT_MS / 1000)} timeout each) until an answer comes from the new server (its body names it); ` +
    `not served within ${fmtS(SERVE_TIMEOUT_MS / 1000)} is a miss, shown apart and failing the target. Nearest-rank percentiles: with ` +
    `${REGISTRATIONS} values, p95 is the slowest one. A registration may be served after the window has ended; the CPU, RSS and call readings cover the window only.`,
    "",
    `Targets (${source}; agent process only, default settings${options === undefined ? "" : " (the options above on every service)"}` +
    `${denied ? ", ListOperations and GetOperation denied" : ""}, 2 instances per service):`,
    "",
    targetsTable(mode),
    "",
    denied
      ? `The change feed's own targets (${TARGETS["change-feed"].source}) are those of \`## Scale\`.`
      : `The targets of ${TARGETS["feed-denied"].source} (revision polling) apply to the fallback: \`## Scale${FEED_DENIED_TITLE_SUFFIX}\` (\`--feed-denied\`).`,
    "",
    "Results:",
    "",
    sizeTable(mode, run.sizes),
    "",
    callsTable(run.sizes),
    ...(notes.length > 0 ? ["", ...notes] : []),
    ""
  ].join("\n")
}
