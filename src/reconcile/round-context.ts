/**
 * What every step of the rounds shares: the settings they follow (plain data), the state they
 * keep from one round to the next, and the services they read from and write to. The steps:
 * ./first-read.ts (the first round), ./round-runner.ts (the later ones), ./publish.ts (plan and
 * publish), ./round-report.ts (what a round reports); ./reconciler.ts makes the context.
 */
import { Effect, type Ref } from "effect"
import type { CloudMapActivity } from "../cloudmap/activity.ts"
import type { Topology } from "../cloudmap/discovery.ts"
import type { HealthFilter, NamespaceMapping, Snapshot } from "../model/snapshot.ts"
import type { InstanceNetworks } from "../plan/networks.ts"
import type { ZoneAffinity } from "../plan/zones.ts"
import type { DesiredChannel, Planned } from "../apply/desired-channel.ts"
import type { Status } from "../status/status.ts"
import { cadenceOf } from "./cadence.ts"
import type { FeedSettings } from "./change-feed.ts"
import type { makeChangeFeed } from "./feed-round.ts"
import type { FleetSettings } from "./fleet-fit.ts"
import { type AttributeBook, emptyAttributeBook } from "./service-attributes.ts"

/** What the rounds follow, as plain data (reconciler-service.ts derives it from the configuration). */
export interface ReconcilerSettings {
  readonly mappings: ReadonlyArray<NamespaceMapping>
  readonly region: string
  readonly healthFilter: HealthFilter
  readonly defaultInstancePort: number | undefined
  readonly maxRemovalPercent: number
  /** The polling settings, the rounds' cadence follows them (cadence.ts, fleet-fit.ts). */
  readonly fleet: FleetSettings
  /** Zone affinity, when on and the agent's zone is known. */
  readonly zoneAffinity: ZoneAffinity | undefined
  /** Which instance addresses may be routed (ALLOW_INSTANCE_NETWORKS, the agent's own ports). */
  readonly instanceNetworks: InstanceNetworks
  /** The change feed's settings; undefined: CHANGE_FEED=false (revision polling only). */
  readonly changeFeed: FeedSettings | undefined
}

/** What the rounds keep between them. */
export interface RoundState {
  readonly topology: Topology | undefined
  /** When the topology was last listed (epoch ms). */
  readonly topologyAt: number
  /** The merged snapshot behind the last published desired state. */
  readonly snapshot: Snapshot | undefined
  /** The last published state (its quarantined records are not logged again), and its JSON. */
  readonly published: { readonly planned: Planned; readonly json: string } | undefined
  /** When each service's instances were last read successfully, by `serviceKey`. */
  readonly readAt: ReadonlyMap<string, number>
  /** When the last round that checked every service started (for the effective interval). */
  readonly roundAt: number | undefined
  /** The settings problems last logged (fleet-fit.ts), so each is logged once. */
  readonly fitProblems: string
  /** Service attributes (routing options), read on their own cadence. */
  readonly attributes: AttributeBook
  /** Services the feed named that are not in a mapped namespace, until when they are ignored. */
  readonly foreign: ReadonlyMap<string, number>
}

export const initialRoundState: RoundState = {
  topology: undefined,
  topologyAt: 0,
  snapshot: undefined,
  published: undefined,
  readAt: new Map(),
  roundAt: undefined,
  fitProblems: "",
  attributes: emptyAttributeBook,
  foreign: new Map()
}

/** SIGHUP: forget when anything was last listed or read, so the next round re-lists and re-reads it all. */
export const forgetReads = (s: RoundState): RoundState => ({
  ...s,
  topologyAt: Number.NEGATIVE_INFINITY,
  readAt: new Map<string, number>(),
  attributes: { ...s.attributes, readAt: new Map<string, number>() }
})

export type ChangeFeed = Effect.Success<ReturnType<typeof makeChangeFeed>>

/** What the steps of a round share. */
export interface RoundContext {
  readonly settings: ReconcilerSettings
  readonly state: Ref.Ref<RoundState>
  readonly updateStatus: (f: (s: Status) => Status) => Effect.Effect<void>
  /** Where the desired states go (the apply loop takes the newest). */
  readonly channel: DesiredChannel["Service"]
  readonly feed: ChangeFeed
  /** What the Cloud Map calls met lately; undefined where nothing records it (some tests). */
  readonly activity: CloudMapActivity["Service"] | undefined
}

/** The cadence for a fleet of `services`: the feed's while it is used (./cadence.ts). */
export const cadenceFor = (ctx: RoundContext, services: number) =>
  Effect.map(ctx.feed.periodSeconds, (feedSeconds) => cadenceOf(services, ctx.settings.fleet, feedSeconds))
