/**
 * The "reload-every-change" baseline of the churn benchmark (scripts/bench-churn.ts): what the
 * original image did, rebuilt from this project's pure pieces so that the ONLY difference from
 * the agent is how a change reaches HAProxy.
 *
 * Every `pollMs` (fixed rate, no jitter) it reads the whole namespace with the AWS SDK —
 * ListNamespaces, ListServices (NAMESPACE_ID filter, paginated), then DiscoverInstances for
 * every service (HEALTHY_OR_ELSE_ALL, 8 in flight, no rate limit, no revision checks) — builds a
 * Snapshot, plans it with src/plan/plan.ts `plan` and renders it with src/render/render.ts
 * `render` (so haproxy.cfg is byte-for-byte what the agent would write for the same
 * registrations, including `option idle-close-on-response`, retries and `hard-stop-after`).
 * When the rendered files differ from the last applied ones, it writes them (atomically,
 * src/apply/files.ts) and reloads HAProxy through the master CLI (src/haproxy/master-cli.ts
 * `reload`, verified with `show proc`). Those src/ pieces are reached through
 * scripts/bench/adapters/. One reload per poll round that saw any change; no
 * validation step, no runtime API, no drain, no coalescing beyond the poll interval, no
 * fail-static merging (a failed poll round is skipped and the running config kept). With
 * `serviceAttributes` (bench:churn `--options`) each round also reads every service's attributes
 * (GetServiceAttributes, alongside its DiscoverInstances) and plans with them, as the agent does.
 *
 * HAProxy is started as `haproxy -W -db -S <configDir>/master.sock,mode,600 -f haproxy.cfg`
 * (the agent's own command line) and stopped by PID.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { join } from "node:path"
import {
  DiscoverInstancesCommand,
  GetServiceAttributesCommand,
  type HttpInstanceSummary,
  ListNamespacesCommand,
  ListServicesCommand,
  type ServiceSummary
} from "@aws-sdk/client-servicediscovery"
import { writeFilesAtomically } from "../bench/adapters/apply-files.ts"
import { readShowProc, reloadMaster } from "../bench/adapters/master-cli.ts"
import {
  type DiscoveredService,
  type NamespaceMapping,
  type RenderSettings,
  renderSnapshot,
  type Snapshot
} from "../bench/adapters/plan-render.ts"
import { cloudMapClient } from "../bench/cloudmap-sdk.ts"
import { exitOf, stopChild } from "../bench/process.ts"
import { sleep } from "../bench/wait.ts"

export interface BaselineOptions {
  readonly endpoint: string
  readonly mapping: NamespaceMapping
  readonly settings: RenderSettings
  readonly haproxyBin: string
  readonly pollMs: number
  /** Read every service's attributes each round and render its `haproxy.*` options. */
  readonly serviceAttributes: boolean
  readonly log: (line: string) => void
}

export interface BaselineHandle {
  readonly masterSocket: string
  readonly haproxyPid: () => number | undefined
  /** Poll rounds done, reloads done (ok / failed), poll rounds that failed. */
  readonly counters: () => { polls: number; pollFailures: number; reloadsOk: number; reloadsFailed: number; applied: number }
  /** Resolves once the first configuration is running. */
  readonly ready: Promise<void>
  readonly stop: () => Promise<void>
}

/** Runs `f` over `xs` with at most `n` in flight, keeping the order of the results. */
const mapLimit = async <A, B>(xs: ReadonlyArray<A>, n: number, f: (a: A) => Promise<B>): Promise<Array<B>> => {
  const out = new Array<B>(xs.length)
  let next = 0
  await Promise.all(Array.from({ length: Math.min(n, xs.length) }, async () => {
    while (next < xs.length) {
      const i = next++
      out[i] = await f(xs[i]!)
    }
  }))
  return out
}

export const startBaseline = (options: BaselineOptions): BaselineHandle => {
  const { settings, mapping } = options
  const configDir = settings.configDir
  const masterSocket = join(configDir, "master.sock")
  const client = cloudMapClient(options.endpoint, 1)
  let child: ChildProcess | undefined
  let stopped = false
  let lastApplied: string | undefined
  const counters = { polls: 0, pollFailures: 0, reloadsOk: 0, reloadsFailed: 0, applied: 0 }
  let markReady: () => void = () => {}
  const ready = new Promise<void>((r) => (markReady = r))

  const readSnapshot = async (): Promise<{ snapshot: Snapshot; attributes: Map<string, Record<string, string>> }> => {
    let nsToken: string | undefined
    let namespace: { id: string; httpName: string } | undefined
    do {
      const r = await client.send(new ListNamespacesCommand({ NextToken: nsToken }))
      const found = r.Namespaces?.find((n) => n.Name === mapping.namespace)
      if (found?.Id !== undefined) namespace = { id: found.Id, httpName: found.Properties?.HttpProperties?.HttpName ?? found.Name! }
      nsToken = r.NextToken
    } while (nsToken !== undefined && namespace === undefined)
    if (namespace === undefined) throw new Error(`namespace ${mapping.namespace} not found`)
    const services: Array<ServiceSummary> = []
    let token: string | undefined
    do {
      const r = await client.send(new ListServicesCommand({
        NextToken: token,
        Filters: [{ Name: "NAMESPACE_ID", Values: [namespace.id], Condition: "EQ" }]
      }))
      services.push(...(r.Services ?? []))
      token = r.NextToken
    } while (token !== undefined && token !== "")
    const ns = namespace
    const attributes = new Map<string, Record<string, string>>()
    const discovered = await mapLimit(services, 8, async (s): Promise<DiscoveredService> => {
      if (options.serviceAttributes) {
        const a = await client.send(new GetServiceAttributesCommand({ ServiceId: s.Id! }))
        attributes.set(s.Id!, { ...(a.ServiceAttributes?.Attributes ?? {}) })
      }
      const r = await client.send(new DiscoverInstancesCommand({
        NamespaceName: ns.httpName,
        ServiceName: s.Name!,
        HealthStatus: "HEALTHY_OR_ELSE_ALL",
        MaxResults: 1000
      }))
      return {
        _tag: "Ok",
        id: s.Id!,
        name: s.Name!,
        revision: r.InstancesRevision,
        instances: (r.Instances ?? []).map((i: HttpInstanceSummary) => ({
          id: i.InstanceId!,
          attributes: { ...(i.Attributes ?? {}) },
          health: i.HealthStatus as "HEALTHY" | "UNHEALTHY" | "UNKNOWN" | undefined
        }))
      }
    })
    const snapshot: Snapshot = {
      namespaces: [{ _tag: "Ok", mapping, id: ns.id, httpName: ns.httpName, services: discovered }],
      takenAt: Date.now()
    }
    return { snapshot, attributes }
  }

  const startHaproxy = async () => {
    const c = spawn(options.haproxyBin, ["-W", "-db", "-S", `${masterSocket},mode,600`, "-f", join(configDir, "haproxy.cfg")], {
      stdio: ["ignore", "pipe", "pipe"]
    })
    child = c
    const onLine = (chunk: Buffer) => {
      for (const line of chunk.toString().split("\n")) if (line.trim() !== "") options.log(`haproxy: ${line}`)
    }
    c.stdout?.on("data", onLine)
    c.stderr?.on("data", onLine)
    const deadline = Date.now() + 30_000
    while (Date.now() < deadline) {
      if (c.exitCode !== null || c.signalCode !== null) throw new Error(`baseline HAProxy exited during start-up`)
      const p = await readShowProc(masterSocket)
      if (p !== undefined && p.workers.length > 0) return
      await sleep(50)
    }
    throw new Error("baseline HAProxy did not start within 30 s")
  }

  const round = async () => {
    counters.polls++
    let read: Awaited<ReturnType<typeof readSnapshot>>
    try {
      read = await readSnapshot()
    } catch (e) {
      counters.pollFailures++
      options.log(`baseline poll failed: ${(e as Error).message}`)
      return
    }
    const files = renderSnapshot(read.snapshot, settings, read.attributes)
    const key = JSON.stringify(files)
    if (key === lastApplied) return
    writeFilesAtomically(configDir, files)
    if (child === undefined) {
      await startHaproxy()
      lastApplied = key
      counters.applied++
      markReady()
      return
    }
    const r = await reloadMaster(masterSocket)
    if (r.ok) {
      options.log(`reloaded in ${r.durationMs} ms (worker ${r.newWorkerPid}, ${r.oldWorkerPids.length} old)`)
      counters.reloadsOk++
      counters.applied++
      lastApplied = key
    } else {
      counters.reloadsFailed++
      options.log(`baseline reload failed: ${r.message}`)
    }
  }

  const loop = (async () => {
    const started = Date.now()
    for (let k = 0; !stopped; k++) {
      try {
        await round()
      } catch (e) {
        options.log(`baseline round failed: ${(e as Error).message}`)
      }
      const next = started + (k + 1) * options.pollMs
      while (!stopped && Date.now() < next) await sleep(Math.min(100, next - Date.now()))
    }
  })()

  return {
    masterSocket,
    haproxyPid: () => child?.pid,
    counters: () => ({ ...counters }),
    ready,
    stop: async () => {
      stopped = true
      await loop
      options.log("stopping")
      client.destroy()
      if (child !== undefined) await stopChild(child, exitOf(child), 5_000)
    }
  }
}
