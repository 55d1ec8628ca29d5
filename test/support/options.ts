/**
 * Helpers for the per-service options end-to-end tests (test/e2e/options/): service and instance
 * attributes through the real SDK, who answered a run of requests, /status and the live config.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import {
  DeleteServiceAttributesCommand,
  RegisterInstanceCommand,
  type ServiceDiscoveryClient,
  UpdateServiceAttributesCommand
} from "@aws-sdk/client-servicediscovery"
import { Effect } from "effect"
import { sendCommand } from "../../src/haproxy/socket-client.ts"
import { type AgentProcess, viaHaproxy } from "./agent.ts"

/** Attributes read every 5 s (the minimum), a polling round a second, reloads not held back. */
export const OPTIONS_ENV = { SERVICE_ATTRIBUTES_RATE: "5", REVISION_POLL_RATE: "1", RELOAD_MIN_INTERVAL: "0" } as const

export const NAMESPACE_MAP = JSON.stringify([{ namespace: "apps", domainname: "example.test", mode: "host" }])

/** `be_<service>.example.test`: the backend of a host-mode service of namespace `apps`. */
export const backendOf = (service: string) => `be_${service}.example.test`

export const setServiceAttributes = (client: ServiceDiscoveryClient, serviceId: string, attributes: Record<string, string>) =>
  client.send(new UpdateServiceAttributesCommand({ ServiceId: serviceId, Attributes: attributes }))

export const deleteServiceAttributes = (client: ServiceDiscoveryClient, serviceId: string, keys: ReadonlyArray<string>) =>
  client.send(new DeleteServiceAttributesCommand({ ServiceId: serviceId, Attributes: [...keys] }))

/** (Re-)registers an instance on 127.0.0.1:`port` with extra attributes (`haproxy.weight`, AVAILABILITY_ZONE). */
export const registerWith = (
  client: ServiceDiscoveryClient,
  serviceId: string,
  instanceId: string,
  port: number,
  attributes: Record<string, string> = {}
) =>
  client.send(new RegisterInstanceCommand({
    ServiceId: serviceId,
    InstanceId: instanceId,
    Attributes: { AWS_INSTANCE_IPV4: "127.0.0.1", AWS_INSTANCE_PORT: String(port), ...attributes }
  }))

import type { IgnoredOption } from "../../src/model/service-options.ts"

export type { IgnoredOption }

export const statusOf = async (agent: AgentProcess) => JSON.parse((await agent.get("/status")).body)

export const ignoredOptions = async (agent: AgentProcess): Promise<ReadonlyArray<IgnoredOption>> =>
  ((await statusOf(agent)).ignoredOptions ?? []) as ReadonlyArray<IgnoredOption>

/** Sum of a metric's samples in a Prometheus text exposition (NaN when absent). */
export const metricValue = (text: string, name: string): number => {
  const lines = text.split("\n").filter((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`))
  return lines.length === 0 ? Number.NaN : lines.reduce((n, l) => n + Number(l.trim().split(/\s+/).pop()), 0)
}

/**
 * `n` requests through HAProxy, one connection each: how many each backend answered (by the
 * `server` of its echo reply); other outcomes counted as `status <code>` or `error`.
 */
export const whoAnswers = async (port: number, host: string, n: number, path = "/"): Promise<Map<string, number>> => {
  const counts = new Map<string, number>()
  for (let i = 0; i < n; i++) {
    let who: string
    try {
      const reply = await viaHaproxy(port, host, path)
      who = reply.status === 200 ? String((JSON.parse(reply.body) as { server: unknown }).server) : `status ${reply.status}`
    } catch {
      who = "error"
    }
    counts.set(who, (counts.get(who) ?? 0) + 1)
  }
  return counts
}

/** A tally as a plain object, for readable assertion messages. */
export const show = (counts: ReadonlyMap<string, number>) => JSON.stringify(Object.fromEntries([...counts].sort()))

export const liveConfig = (agent: AgentProcess): string => readFileSync(join(agent.configDir, "haproxy.cfg"), "utf8")

/** The lines of `backend <name>` in a rendered haproxy.cfg ("" when there is no such section). */
export const backendSection = (cfg: string, name: string): string => {
  const start = cfg.indexOf(`\nbackend ${name}\n`)
  if (start < 0) return ""
  const rest = cfg.slice(start + 1)
  const end = rest.search(/\n(?=\S)/)
  return end < 0 ? rest : rest.slice(0, end)
}

/** One command on the agent's HAProxy admin socket. */
export const runtimeCommand = (agent: AgentProcess, command: string): Promise<string> =>
  Effect.runPromise(sendCommand(join(agent.configDir, "admin.sock"), command))

/** A server's current weight as HAProxy's `get weight` reports it (`3 (initial 1)` → 3). */
export const serverWeight = async (agent: AgentProcess, backend: string, server: string): Promise<number> => {
  const out = await runtimeCommand(agent, `get weight ${backend}/${server}`)
  const m = /^(\d+)/.exec(out.trim())
  if (m === null) throw new Error(`get weight ${backend}/${server}: ${out.trim()}`)
  return Number(m[1])
}
