/**
 * The Cloud Map items of `cloudmap-haproxy check`: credentials found, each mapped namespace
 * exists, and each IAM action the agent needs is allowed — by a real call each, with the
 * agent's client (its classification names the action on AccessDenied): ListNamespaces,
 * ListServices (each mapped namespace), DiscoverInstances, DiscoverInstancesRevision and
 * GetServiceAttributes (the first service of a mapped namespace; skipped when there is none), then
 * the change feed's ListOperations and GetOperation (./check-feed.ts; skipped when CHANGE_FEED=false).
 */
import { Effect } from "effect"
import { CloudMap, type CloudMapError, type NamespaceInfo, type ServiceInfo } from "../cloudmap/client.ts"
import { findCredentials } from "../cloudmap/credentials.ts"
import type { AgentConfig } from "../config/agent-config.ts"
import { closest } from "../model/closest.ts"
import { action, count, fixFor, problemOf } from "./check-calls.ts"
import { FEED_ACTIONS, feedChecks } from "./check-feed.ts"
import { type CheckLine, fail, pass, skip } from "./check-report.ts"

/** One call on `on` as a line: passed (with a detail made from its result) or failed with the fix. */
const probe = <A>(operation: string, on: string, call: Effect.Effect<A, CloudMapError>, detail: (a: A) => string) =>
  Effect.match(call, {
    onFailure: (e): CheckLine => fail(`${action(operation)} on ${on}`, problemOf(e), fixFor(e)),
    onSuccess: (a): CheckLine => pass(action(operation), `on ${on}: ${detail(a)}`)
  })

const ACTIONS_AFTER_LIST = ["ListServices", "DiscoverInstances", "DiscoverInstancesRevision", "GetServiceAttributes"] as const

export const cloudMapChecks = (config: AgentConfig): Effect.Effect<ReadonlyArray<CheckLine>, never, CloudMap> =>
  Effect.gen(function*() {
    const lines: Array<CheckLine> = []
    const credentials = yield* Effect.result(findCredentials(config.region, config.cloudMap.timeoutSeconds))
    if (credentials._tag === "Failure") {
      lines.push(fail(
        "AWS credentials found",
        credentials.failure.message,
        "give the task an IAM role, or set AWS_PROFILE or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
      ))
      const reason = "no AWS credentials"
      lines.push(skip(action("ListNamespaces"), reason))
      for (const m of config.namespaces) lines.push(skip(`namespace "${m.namespace}" exists`, reason))
      for (const op of ACTIONS_AFTER_LIST) lines.push(skip(action(op), reason))
      for (const op of FEED_ACTIONS) lines.push(skip(action(op), reason))
      return lines
    }
    lines.push(pass("AWS credentials found", `access key ${credentials.success}`))
    // The change feed's calls need no namespace: they are tried whatever the others found.
    lines.push(...(yield* discoveryChecks(config)), ...(yield* feedChecks(config)))
    return lines
  })

/** ListNamespaces, each mapped namespace, ListServices, then the reads on the first service found. */
const discoveryChecks = (config: AgentConfig): Effect.Effect<ReadonlyArray<CheckLine>, never, CloudMap> =>
  Effect.gen(function*() {
    const lines: Array<CheckLine> = []
    const cloudMap = yield* CloudMap
    const listed = yield* Effect.result(cloudMap.listNamespaces)
    if (listed._tag === "Failure") {
      lines.push(fail(action("ListNamespaces"), problemOf(listed.failure), fixFor(listed.failure)))
      for (const m of config.namespaces) lines.push(skip(`namespace "${m.namespace}" exists`, "ListNamespaces failed"))
      for (const op of ACTIONS_AFTER_LIST) lines.push(skip(action(op), "ListNamespaces failed"))
      return lines
    }
    const all = listed.success
    lines.push(pass(action("ListNamespaces"), `${count(all.length, "namespace")} in ${config.region}`))

    const found: Array<NamespaceInfo> = []
    for (const m of config.namespaces) {
      const item = `namespace "${m.namespace}" exists`
      const namespace = all.find((n) => n.name === m.namespace)
      if (namespace !== undefined) {
        if (!found.includes(namespace)) found.push(namespace)
        lines.push(pass(item, namespace.id))
        continue
      }
      const near = closest(m.namespace, all.map((n) => n.name))
      lines.push(fail(
        item,
        `not found in ${config.region} (${all.length === 0 ? "no namespaces" : `namespaces: ${all.map((n) => n.name).slice(0, 10).join(", ")}`})`,
        `create it in Cloud Map or correct NAMESPACE_MAP${near === undefined ? "" : ` (did you mean "${near}"?)`}`
      ))
    }
    if (found.length === 0) {
      for (const op of ACTIONS_AFTER_LIST) lines.push(skip(action(op), "no mapped namespace exists"))
      return lines
    }

    // ListServices on every mapped namespace; the first service found is where the reads are tried.
    let target: { readonly namespace: NamespaceInfo; readonly service: ServiceInfo } | undefined
    let listFailure: CheckLine | undefined
    let services = 0
    for (const namespace of found) {
      const result = yield* Effect.result(cloudMap.listServices(namespace.id))
      if (result._tag === "Failure") {
        listFailure ??= fail(`${action("ListServices")} on namespace ${namespace.name}`, problemOf(result.failure), fixFor(result.failure))
        continue
      }
      services += result.success.length
      const first = result.success[0]
      if (target === undefined && first !== undefined) target = { namespace, service: first }
    }
    lines.push(listFailure ?? pass(action("ListServices"), `${count(services, "service")} in ${count(found.length, "mapped namespace")}`))
    if (target === undefined) {
      const reason = listFailure === undefined ? "no service" : "no service could be listed"
      for (const op of ACTIONS_AFTER_LIST.slice(1)) lines.push(skip(action(op), reason))
      return lines
    }
    const { namespace, service } = target
    const on = `${namespace.name}/${service.name}`
    lines.push(yield* probe(
      "DiscoverInstances",
      on,
      cloudMap.discoverInstances(namespace.httpName, service.name, config.healthFilter),
      (d) => count(d.instances.length, "instance")
    ))
    lines.push(yield* probe("DiscoverInstancesRevision", on, cloudMap.discoverRevision(namespace.httpName, service.name), (r) =>
      `revision ${r ?? "none"}`))
    lines.push(yield* probe("GetServiceAttributes", on, cloudMap.getServiceAttributes(service.id), (a) =>
      count(Object.keys(a).length, "attribute")))
    return lines
  })
