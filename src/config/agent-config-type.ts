/**
 * The agent's configuration as the rest of the agent sees it: ./agent-config.ts reads it from the
 * environment through the variable table (./variables.ts), which is written in its terms.
 */
import type { Redacted } from "effect"
import type { HealthFilter, NamespaceMapping } from "../model/snapshot.ts"
import type { Cidr } from "../plan/networks.ts"

export type LogLevel = "debug" | "info" | "warn" | "error"

export interface Credentials {
  readonly user: string
  readonly password: Redacted.Redacted<string>
}

export interface AgentConfig {
  readonly region: string
  readonly namespaces: ReadonlyArray<NamespaceMapping>
  readonly defaultDomain: string | undefined
  readonly refreshSeconds: number
  readonly applyMode: "on" | "off"
  readonly stats: Credentials | undefined
  readonly metrics: Credentials | undefined
  readonly listenAddress: string
  readonly listenPort: number
  /** HAProxy's /stats and /metrics on their own port; undefined: on the traffic port, every host. */
  readonly monitoringPort: number | undefined
  readonly configDir: string
  readonly haproxyBin: string
  readonly nbthread: number
  readonly hardStopAfterSeconds: number
  readonly healthAddress: string
  readonly healthPort: number
  readonly logLevel: LogLevel
  readonly healthFilter: HealthFilter
  readonly defaultInstancePort: number | undefined
  /** ALLOW_INSTANCE_NETWORKS: refused ranges admitted on purpose (src/plan/networks.ts). */
  readonly allowInstanceNetworks: ReadonlyArray<Cidr>
  readonly cloudMap: {
    /** Custom endpoint (AWS_ENDPOINT_URL_SERVICEDISCOVERY or AWS_ENDPOINT_URL); undefined = AWS. */
    readonly endpoint: string | undefined
    readonly concurrency: number
    /** Every call, per second (steady). */
    readonly requestsPerSecond: number
    /** DiscoverInstances, per second (steady); they count against requestsPerSecond too. */
    readonly readsPerSecond: number
    /** Every bucket's rate until the fleet was read once (the client's `settle`). */
    readonly startupPerSecond: number
    /** ListNamespaces, ListServices and GetServiceAttributes, per second (steady), in their own bucket. */
    readonly controlPerSecond: number
    /** ListOperations and GetOperation (the change feed), per second, in their own bucket. */
    readonly feedPerSecond: number
    readonly timeoutSeconds: number
    readonly maxAttempts: number
  }
  readonly reloadMinIntervalSeconds: number
  /** How long a configuration HAProxy rejected waits before it is tried again while nothing changes. */
  readonly rejectedRetrySeconds: number
  /** Opt-in: /readyz fails when Cloud Map was not read for this long; undefined = never. */
  readonly readyMaxStalenessSeconds: number | undefined
  readonly drainSeconds: number
  readonly restartHaproxy: boolean
  /** Seconds HAProxy may leave its sockets unanswered before /readyz fails; 0: no watchdog. */
  readonly haproxyWatchdogSeconds: number
  /** Seconds HAProxy may leave its sockets unanswered before /healthz fails; 0: never. */
  readonly haproxyWatchdogLivenessSeconds: number
  readonly revisionPollSeconds: number
  /** Revision checks a minute a small fleet may use to be polled more often than REVISION_POLL_RATE. */
  readonly revisionCheckBudget: number
  readonly serviceListSeconds: number
  readonly maxRemovalPercent: number
  /** Seconds between two reads of a service's attributes (its routing options). */
  readonly serviceAttributesSeconds: number
  /** The agent's availability zone when set; otherwise learned from the ECS task metadata endpoint. */
  readonly availabilityZone: string | undefined
  /** ECS_CONTAINER_METADATA_URI_V4, where the agent's zone is learned from (ECS sets it). */
  readonly taskMetadataUri: string | undefined
  readonly zoneAffinity: boolean
  /** Healthy instances in the agent's zone a service needs for its traffic to stay in the zone. */
  readonly zoneAffinityMinHealthy: number
  /** Follow Cloud Map's operations (the change feed); false: revision polling only. */
  readonly changeFeed: boolean
  readonly changeFeedSeconds: number
  /** ListOperations pages a feed round may walk before the feed counts as unavailable. */
  readonly changeFeedMaxPages: number
  /** New operations a round looks up one by one; more: every revision is checked instead. */
  readonly changeFeedMaxOperations: number
  readonly changeFeedRetrySeconds: number
}
