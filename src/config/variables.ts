/**
 * Every variable the agent reads, written once: its kind and bounds, its default (a value, or
 * computed from other variables or the machine), the default as shown to people when it is not
 * the value itself, and its meaning. ./agent-config.ts reads the environment through it; the
 * README and docs/configuration.md tables and `--help` are printed from it (./variables-doc.ts).
 */
import { availableParallelism } from "node:os"
import type { Redacted } from "effect"
import type { AgentConfig } from "./agent-config-type.ts"
import { namespaceMap } from "./namespace-map.ts"
import { instanceNetworkList } from "./networks.ts"
import {
  boolean,
  computed,
  directory,
  hostname,
  httpUrl,
  integer,
  matching,
  number,
  oneOf,
  required,
  secret,
  type Table,
  text,
  value
} from "./table.ts"

/**
 * One field per variable: AgentConfig, with the variables that AgentConfig groups (a page's
 * switch, user and password; the Cloud Map client's settings) as fields of their own. A user or
 * password is undefined while its page is off.
 */
export type Variables = Omit<AgentConfig, "stats" | "metrics" | "cloudMap"> & {
  readonly statsEnabled: boolean
  readonly statsUser: string | undefined
  readonly statsPassword: Redacted.Redacted<string> | undefined
  readonly metricsEnabled: boolean
  readonly metricsUser: string | undefined
  readonly metricsPassword: Redacted.Redacted<string> | undefined
  readonly cloudMapConcurrency: number
  readonly cloudMapRequestsPerSecond: number
  readonly cloudMapReadsPerSecond: number
  readonly cloudMapStartupPerSecond: number
  readonly cloudMapControlPerSecond: number
  readonly cloudMapFeedPerSecond: number
  readonly cloudMapTimeoutSeconds: number
  readonly cloudMapMaxAttempts: number
  readonly cloudMapEndpoint: string | undefined
}

const IP_ADDRESS = /^[0-9a-f.:]+$/i
const USER = matching((raw) => /^[A-Za-z0-9_.-]{1,64}$/.test(raw), "1-64 characters from A-Z a-z 0-9 _ . -")
const lower = (raw: string) => raw.toLowerCase()

/** Every variable the agent reads, in the order they are documented (docs/configuration.md, --help). */
export const TABLE: Table<Variables> = {
  region: {
    name: "AWS_REGION",
    aliases: ["AWS_DEFAULT_REGION"],
    kind: matching((raw) => /^[a-z]{2}(-[a-z]+)+-[0-9]+$/.test(raw), "an AWS region name such as us-east-1"),
    fallback: required("the AWS region of the Cloud Map namespaces, e.g. us-east-1"),
    meaning: "Region of the Cloud Map namespaces (AWS_DEFAULT_REGION is accepted too)."
  },
  namespaces: {
    name: "NAMESPACE_MAP",
    kind: namespaceMap,
    fallback: required("a JSON array like [{\"namespace\":\"apps\",\"domainname\":\"example.com\",\"mode\":\"host\"}]"),
    meaning: "JSON array of {\"namespace\", \"domainname\", \"mode\": \"host\"|\"path\"} (mode defaults to host)."
  },
  defaultDomain: {
    name: "DEFAULT_DOMAIN",
    kind: hostname,
    fallback: value(undefined),
    meaning: "Unknown hosts are redirected (302) to http://<DEFAULT_DOMAIN>; unset gives 404."
  },
  refreshSeconds: {
    name: "REFRESH_RATE",
    kind: number(1, 86_400),
    fallback: value(30),
    meaning: "Longest time in seconds between two DiscoverInstances reads of a service: the sweep. It sees health as Cloud Map reports it (health changes do not change a service's InstancesRevision and make no operation, so this bounds how long a health change reported only by Cloud Map takes to be seen; HAProxy's own checks, every 2 s, 3 failures, take a dead instance out within about 6 s) and repairs any change the change feed missed. Reads are spread over the rounds."
  },
  applyMode: {
    name: "APPLY_MODE",
    kind: oneOf(["on", "off"], lower),
    fallback: value("on"),
    meaning: "on: apply to HAProxy; off: only log what would change."
  },
  statsEnabled: {
    name: "STATS_ENABLED",
    kind: boolean,
    fallback: value(true),
    meaning: "Serve HAProxy's stats page at /stats (basic auth)."
  },
  statsUser: {
    name: "STATS_USER",
    kind: USER,
    fallback: value("stats_user"),
    when: (get) => get("statsEnabled"),
    meaning: "User name for /stats."
  },
  statsPassword: {
    name: "STATS_PASSWD",
    secret: true,
    kind: secret,
    fallback: required("a password (or set STATS_ENABLED=false to turn that page off)", "required when stats enabled"),
    when: (get) => get("statsEnabled"),
    meaning: "Password for /stats (stored hashed with SHA-512-crypt)."
  },
  metricsEnabled: {
    name: "METRICS_ENABLED",
    kind: boolean,
    fallback: value(true),
    meaning: "Serve HAProxy's Prometheus exporter at /metrics (basic auth)."
  },
  metricsUser: {
    name: "PROM_USER",
    kind: USER,
    fallback: value("stats"),
    when: (get) => get("metricsEnabled"),
    meaning: "User name for /metrics."
  },
  metricsPassword: {
    name: "PROM_PASSWD",
    secret: true,
    kind: secret,
    fallback: required("a password (or set METRICS_ENABLED=false to turn that page off)", "required when metrics enabled"),
    when: (get) => get("metricsEnabled"),
    meaning: "Password for /metrics (stored hashed with SHA-512-crypt)."
  },
  listenAddress: {
    name: "LISTEN_ADDRESS",
    kind: matching((raw) => raw === "*" || IP_ADDRESS.test(raw), "* or an IPv4/IPv6 address"),
    fallback: value("*"),
    meaning: "Address HAProxy's HTTP frontend binds to."
  },
  listenPort: {
    name: "LISTEN_PORT",
    kind: integer(1, 65_535),
    fallback: value(80),
    meaning: "HAProxy's HTTP port."
  },
  monitoringPort: {
    name: "MONITORING_PORT",
    kind: integer(1, 65_535),
    fallback: value(undefined),
    check: (port, get) =>
      port === get("listenPort") ? "a port other than LISTEN_PORT" : port === get("healthPort") ? "a port other than HEALTH_PORT" : undefined,
    meaning: "HAProxy's monitoring port (8404 by HAProxy's convention): when set, /stats and /metrics are served on LISTEN_ADDRESS:MONITORING_PORT only, and every path of every host on LISTEN_PORT reaches its service (an application's own /metrics too). Unset: both are served on LISTEN_PORT on every host, as the original image did."
  },
  configDir: {
    name: "CONFIG_DIR",
    kind: directory,
    fallback: value("/var/lib/cloudmap-haproxy"),
    meaning: "Absolute directory for haproxy.cfg, map files, sockets and rejected candidates."
  },
  haproxyBin: {
    name: "HAPROXY_BIN",
    kind: text,
    fallback: value("haproxy"),
    meaning: "HAProxy executable (looked up in PATH)."
  },
  nbthread: {
    name: "HAPROXY_NBTHREAD",
    kind: integer(1, 64),
    fallback: computed("CPUs this process may use, at most 4", () => Math.max(1, Math.min(4, availableParallelism()))),
    meaning: "HAProxy worker threads (set explicitly: memory grows per thread)."
  },
  hardStopAfterSeconds: {
    name: "HARD_STOP_AFTER",
    kind: integer(1, 86_400),
    fallback: value(60),
    meaning: "Seconds an old HAProxy worker may live after a reload or stop."
  },
  healthAddress: {
    name: "HEALTH_ADDRESS",
    kind: matching((raw) => IP_ADDRESS.test(raw), "an IPv4/IPv6 address"),
    fallback: value("127.0.0.1"),
    meaning: "Address of the agent's /healthz /readyz /metrics /status (0.0.0.0 for ALB health checks)."
  },
  healthPort: {
    name: "HEALTH_PORT",
    kind: integer(1, 65_535),
    fallback: value(3000),
    check: (port, get) => (port === get("listenPort") ? "a port other than LISTEN_PORT" : undefined),
    meaning: "Port of the agent's own endpoints."
  },
  logLevel: {
    name: "LOG_LEVEL",
    kind: oneOf(["debug", "info", "warn", "error"], lower),
    fallback: value("info"),
    meaning: "debug, info, warn or error: JSON lines on stderr (stdout carries only what a command prints as its output, e.g. render)."
  },
  healthFilter: {
    name: "HEALTH_FILTER",
    kind: oneOf(["HEALTHY", "HEALTHY_OR_ELSE_ALL", "ALL"], (raw) => raw.toUpperCase()),
    fallback: value("HEALTHY_OR_ELSE_ALL"),
    meaning: "Cloud Map HealthStatus filter: HEALTHY, HEALTHY_OR_ELSE_ALL (fail open) or ALL."
  },
  defaultInstancePort: {
    name: "DEFAULT_INSTANCE_PORT",
    kind: integer(1, 65_535),
    fallback: value(undefined),
    meaning: "Port for instances registered without AWS_INSTANCE_PORT (awsvpc A records); unset quarantines them."
  },
  allowInstanceNetworks: {
    name: "ALLOW_INSTANCE_NETWORKS",
    kind: instanceNetworkList,
    fallback: value([], "empty"),
    meaning: "Comma-separated CIDRs (127.0.0.0/8, fd00::/8) where instances may be registered although the range is refused by default: loopback, link-local (instance and task metadata), unspecified, multicast, broadcast. An instance at the agent's own LISTEN_*, MONITORING_PORT or HEALTH_* address and port is refused even then (docs/security.md)."
  },
  cloudMapConcurrency: {
    name: "CLOUDMAP_CONCURRENCY",
    kind: integer(1, 256),
    fallback: value(32),
    meaning: "Cloud Map requests in flight at most."
  },
  cloudMapRequestsPerSecond: {
    name: "CLOUDMAP_RATE_LIMIT",
    kind: number(1, 3_000),
    fallback: value(400),
    meaning: "Data-plane requests per second at most: DiscoverInstances and DiscoverInstancesRevision (client-side token bucket). The account's quotas are shared by every replica: DiscoverInstancesRevision 3,000/s, DiscoverInstances 1,000/s (docs/sizing.md: sizing replicas)."
  },
  cloudMapControlPerSecond: {
    name: "CLOUDMAP_CONTROL_RATE_LIMIT",
    kind: number(1, 1_000),
    fallback: value(50),
    meaning: "Control-plane requests per second at most: ListNamespaces, ListServices and GetServiceAttributes, in a token bucket of their own (they have their own quotas, so they never slow the revision checks down)."
  },
  cloudMapFeedPerSecond: {
    name: "CLOUDMAP_FEED_RATE_LIMIT",
    kind: number(1, 1_000),
    fallback: value(20),
    meaning: "The change feed's requests per second at most: ListOperations and GetOperation, in a token bucket of their own."
  },
  cloudMapReadsPerSecond: {
    name: "CLOUDMAP_READ_RATE_LIMIT",
    kind: number(1, 2_000),
    fallback: value(100),
    meaning: "DiscoverInstances calls per second at most (they count against CLOUDMAP_RATE_LIMIT too). Its account quota (1,000/s) is a third of DiscoverInstancesRevision's."
  },
  cloudMapStartupPerSecond: {
    name: "CLOUDMAP_STARTUP_RATE",
    kind: number(1, 2_000),
    fallback: value(1_000),
    meaning: "Both rate limits until the fleet was read once, so a large fleet is ready in seconds (the account's DiscoverInstances quota is 1,000/s with bursts of 2,000; throttling slows the agent down by itself)."
  },
  cloudMapTimeoutSeconds: {
    name: "CLOUDMAP_TIMEOUT",
    kind: number(1, 300),
    fallback: value(10),
    meaning: "Seconds before one Cloud Map request is abandoned and retried."
  },
  cloudMapMaxAttempts: {
    name: "CLOUDMAP_MAX_ATTEMPTS",
    kind: integer(1, 20),
    fallback: value(4),
    meaning: "Attempts per Cloud Map request (throttling, 5xx and timeouts are retried with jittered backoff; revision checks of a batch Cloud Map throttled are not: the next round checks them again)."
  },
  cloudMapEndpoint: {
    name: "AWS_ENDPOINT_URL_SERVICEDISCOVERY",
    aliases: ["AWS_ENDPOINT_URL"],
    kind: httpUrl,
    fallback: value(undefined),
    meaning: "Custom Cloud Map endpoint (e.g. the bundled mock); AWS_ENDPOINT_URL also works."
  },
  reloadMinIntervalSeconds: {
    name: "RELOAD_MIN_INTERVAL",
    kind: number(0, 3_600),
    fallback: value(5),
    meaning: "Seconds between two HAProxy reloads at least (changes are coalesced)."
  },
  rejectedRetrySeconds: {
    name: "REJECTED_RETRY_INTERVAL",
    kind: number(1, 86_400),
    fallback: value(10),
    meaning: "Seconds before a configuration that HAProxy rejected (validation, start or reload failure) is tried again while nothing changes."
  },
  readyMaxStalenessSeconds: {
    name: "READY_MAX_STALENESS",
    kind: number(1, 86_400 * 7),
    fallback: value(undefined, "unset (off)"),
    meaning: "Opt-in: /readyz fails when Cloud Map was last read successfully longer ago than this many seconds. Off by default: every replica would fail together in a Cloud Map outage; alarm on cloudmap_haproxy_last_successful_read_age_seconds instead."
  },
  drainSeconds: {
    name: "DRAIN_SECONDS",
    kind: number(0, 3_600),
    fallback: value(20),
    meaning: "On SIGTERM: seconds HAProxy may drain in-flight requests before it is stopped."
  },
  restartHaproxy: {
    name: "HAPROXY_RESTART",
    kind: boolean,
    fallback: value(false),
    meaning: "Restart HAProxy when it dies instead of exiting (non-zero) so the orchestrator replaces the task."
  },
  haproxyWatchdogSeconds: {
    name: "HAPROXY_WATCHDOG",
    kind: number(0, 3_600),
    fallback: value(10),
    meaning: "Seconds HAProxy may leave its admin socket and master CLI unanswered (probed every 2 s, `show info` / `show proc`, 2 s timeout each) before /readyz fails (stopped, wedged or starved HAProxy; see BENCHMARKS.md for the latency measured under load). It recovers by itself when HAProxy answers again. 0: no watchdog."
  },
  haproxyWatchdogLivenessSeconds: {
    name: "HAPROXY_WATCHDOG_LIVENESS",
    kind: number(0, 86_400),
    fallback: value(30),
    meaning: "Seconds HAProxy may leave its sockets unanswered before /healthz fails too, so the container health check replaces the task; at least HAPROXY_WATCHDOG (start-up refuses less). 0: the watchdog fails readiness only."
  },
  revisionPollSeconds: {
    name: "REVISION_POLL_RATE",
    kind: number(0.2, 86_400),
    fallback: value(3.6),
    meaning: "Revision polling, used while the change feed is off or unavailable: seconds between polling rounds (±5 %). In a round every service gets DiscoverInstancesRevision (or DiscoverInstances when its REFRESH_RATE read is due) and is re-read if its revision changed: registrations and deregistrations are seen within one round. A round over more services than CLOUDMAP_RATE_LIMIT allows in this time takes longer (see cloudmap_haproxy_effective_revision_interval_seconds)."
  },
  revisionCheckBudget: {
    name: "REVISION_CHECK_BUDGET",
    kind: integer(60, 1_000_000),
    fallback: value(1500),
    meaning: "Revision checks a minute that a small fleet may use to be polled more often than REVISION_POLL_RATE: a fleet of fewer than REVISION_CHECK_BUDGET × REVISION_POLL_RATE / 60 services (90 at the defaults) gets a round every 60 × services / REVISION_CHECK_BUDGET seconds (at least 1 s), so it converges faster for the calls a fleet of that size would spend anyway. Larger fleets: REVISION_POLL_RATE."
  },
  serviceListSeconds: {
    name: "SERVICE_LIST_RATE",
    kind: number(1, 86_400),
    fallback: value(10),
    meaning: "Seconds between re-listing namespaces and services (new and deleted services). While the change feed is used, a new service is listed as soon as its first instance registers, and the listing runs every REFRESH_RATE instead when that is longer (a deleted service has no instances left to route)."
  },
  maxRemovalPercent: {
    name: "MAX_REMOVAL_PERCENT",
    kind: number(1, 100),
    fallback: value(50),
    meaning: "At most this share of a service's instances may disappear in one step; larger drops are held back and reported."
  },
  serviceAttributesSeconds: {
    name: "SERVICE_ATTRIBUTES_RATE",
    kind: number(5, 86_400),
    fallback: value(300),
    meaning: "Seconds between two reads of a service's attributes (GetServiceAttributes: its routing options, see \"Per-service options\"). Reads are spread over the interval; a new service's attributes are read before it is first routed, and SIGHUP re-reads them all at once."
  },
  changeFeed: {
    name: "CHANGE_FEED",
    kind: boolean,
    fallback: value(true),
    meaning: "Follow Cloud Map's operations (ListOperations, GetOperation) to see registrations and deregistrations within CHANGE_FEED_RATE, at a cost that follows the rate of change (see \"How changes are found\"). false: revision polling (REVISION_POLL_RATE)."
  },
  changeFeedSeconds: {
    name: "CHANGE_FEED_RATE",
    kind: number(0.5, 3_600),
    // 1 s: a new instance or service serves in about 1 s (BENCHMARKS.md, "Services"); 2 s halves the
    // ListOperations calls (60 a minute per replica at 1 s) for ~0.5 s more.
    fallback: value(1),
    meaning: "Seconds between two rounds of the change feed (±5 %): one ListOperations walk for the whole account each, a GetOperation per new operation, and DiscoverInstances of the services they name. A registration waits half of it on average; with many replicas (see \"Sizing\") 2 or more halves their ListOperations calls."
  },
  changeFeedMaxPages: {
    name: "CHANGE_FEED_MAX_PAGES",
    kind: integer(1, 1_000),
    fallback: value(5),
    meaning: "ListOperations pages a feed round may walk (Cloud Map filters after paging, so an account that keeps many operations needs many pages); more: each round goes on from the page the last one ended on, checking every revision until it has caught up (see \"How changes are found\")."
  },
  changeFeedMaxOperations: {
    name: "CHANGE_FEED_MAX_OPERATIONS",
    kind: integer(1, 1_000),
    // 15/s at CHANGE_FEED_RATE 1: another team's steady 10 operations a second leave room for ours,
    // within CLOUDMAP_FEED_RATE_LIMIT (20/s).
    fallback: value(15),
    meaning: "New operations a feed round looks up (GetOperation) at most; more wait for the next round (the listing shows them again), and more than three rounds' worth at once make that round check every service's revision instead."
  },
  changeFeedRetrySeconds: {
    name: "CHANGE_FEED_RETRY",
    kind: number(1, 86_400),
    fallback: value(300),
    meaning: "Seconds before an unavailable change feed (denied, throttled, too many pages, failing, or misses: changes the reads found that it never listed) is tried again; revision polling runs meanwhile."
  },
  availabilityZone: {
    name: "AVAILABILITY_ZONE",
    kind: matching((raw) => /^[a-z0-9-]{1,64}$/.test(raw), "an availability zone name such as eu-west-1a (lowercase letters, digits, -)"),
    fallback: value(undefined, "from ECS task metadata"),
    meaning: "The agent's availability zone, for ZONE_AFFINITY. Unset: read from the ECS task metadata endpoint (ECS_CONTAINER_METADATA_URI_V4)."
  },
  taskMetadataUri: {
    name: "ECS_CONTAINER_METADATA_URI_V4",
    kind: httpUrl,
    fallback: value(undefined, "set by ECS"),
    meaning: "ECS task metadata endpoint (ECS sets it). Its /task document gives the agent's availability zone when AVAILABILITY_ZONE is unset."
  },
  zoneAffinity: {
    name: "ZONE_AFFINITY",
    kind: boolean,
    fallback: value(false),
    meaning: "Keep each service's traffic in the agent's availability zone while it has ZONE_AFFINITY_MIN_HEALTHY healthy instances there; other zones' instances are backup servers (see \"Zone-aware routing\")."
  },
  zoneAffinityMinHealthy: {
    name: "ZONE_AFFINITY_MIN_HEALTHY",
    kind: integer(1, 1_000),
    fallback: value(2),
    meaning: "With ZONE_AFFINITY: healthy instances (by Cloud Map health) a service needs in the agent's zone to keep its traffic there; with fewer, every zone's instances serve it."
  }
}
