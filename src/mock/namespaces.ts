/**
 * Namespace operations: ListNamespaces, GetNamespace, CreateHttpNamespace. Every namespace of the
 * mock is an HTTP namespace; `HttpName` (DiscoverInstances' NamespaceName) is the name, with a
 * suffix when that HttpName is taken, as Cloud Map does.
 */
import { Result, Schema } from "effect"
import { fail } from "./cloudmap-error.ts"
import { FiltersMember, matchCondition, matchOwner, toFilters } from "./list-filters.ts"
import { startOperation } from "./operations.ts"
import { DEFAULT_MAX_RESULTS, decodeToken, encodeToken, fingerprint, MaxResults, NextToken, scanPage } from "./paging.ts"
import { Matching, NonEmptyString, operation, optional, required, StringUpTo } from "./request.ts"
import {
  deterministicId,
  epochSeconds,
  findNamespace,
  type MockState,
  NAMESPACE_NAME_PATTERN,
  namespaceArn,
  namespaceIdFor,
  type NamespaceRecord
} from "./state-model.ts"

/** `NamespaceSummary` (`full`: `Namespace` of GetNamespace). */
export const namespaceShape = (state: MockState, ns: NamespaceRecord, full: boolean): Record<string, unknown> => {
  const out: Record<string, unknown> = {
    Id: ns.id,
    Arn: ns.arn,
    ResourceOwner: state.accountId,
    Name: ns.name,
    Type: "HTTP",
    ServiceCount: ns.serviceIds.length,
    Properties: { DnsProperties: {}, HttpProperties: { HttpName: ns.httpName } },
    CreateDate: epochSeconds(ns.createDate)
  }
  if (ns.description !== undefined) out["Description"] = ns.description
  if (full && ns.creatorRequestId !== undefined) out["CreatorRequestId"] = ns.creatorRequestId
  return out
}

const ListNamespacesInput = Schema.Struct({
  MaxResults: optional(MaxResults),
  NextToken: optional(NextToken),
  Filters: optional(FiltersMember({
    TYPE: { conditions: ["EQ", "IN"], values: ["HTTP", "DNS_PUBLIC", "DNS_PRIVATE"] },
    NAME: { conditions: ["EQ", "BEGINS_WITH"] },
    HTTP_NAME: { conditions: ["EQ", "BEGINS_WITH"] },
    RESOURCE_OWNER: { conditions: ["EQ"] }
  }))
})

export const listNamespaces = operation(ListNamespacesInput, (state, input) =>
  Result.gen(function*() {
    const filters = toFilters(input.Filters)
    const fp = fingerprint(filters)
    const token = yield* decodeToken(input.NextToken, "ListNamespaces", fp)
    const select = (id: string) => {
      const ns = state.namespaces.get(id)!
      for (const f of filters) {
        const ok = f.name === "TYPE"
          ? f.values.includes("HTTP")
          : f.name === "NAME"
          ? matchCondition(f, ns.name)
          : f.name === "HTTP_NAME"
          ? matchCondition(f, ns.httpName)
          : matchOwner(f)
        if (!ok) return undefined
      }
      return namespaceShape(state, ns, false)
    }
    const { items, next } = scanPage(
      state.namespaceOrder,
      token?.pos ?? 0,
      input.MaxResults ?? DEFAULT_MAX_RESULTS,
      filters.length > 0 ? state.emptyPagesWindow : undefined,
      select
    )
    const output: Record<string, unknown> = { Namespaces: items }
    if (next !== undefined) output["NextToken"] = encodeToken({ op: "ListNamespaces", pos: next, fp })
    return { state, output }
  }))

export const getNamespace = operation(
  Schema.Struct({ Id: required(NonEmptyString(255)) }),
  (state, input) =>
    Result.map(findNamespace(state, input.Id), (ns) => ({ state, output: { Namespace: namespaceShape(state, ns, true) } }))
)

const CreateHttpNamespaceInput = Schema.Struct({
  Name: required(Matching(NAMESPACE_NAME_PATTERN, "must be 1-1024 printable ASCII characters without spaces")),
  Description: optional(StringUpTo(1024)),
  CreatorRequestId: optional(StringUpTo(64))
})

export const createHttpNamespace = operation(CreateHttpNamespaceInput, (state, input, ctx) => {
  const { Name: name, Description: description, CreatorRequestId: creatorRequestId } = input
  const existing = state.namespaceByName.get(name)
  if (existing !== undefined) {
    const ns = state.namespaces.get(existing)!
    if (creatorRequestId !== undefined && ns.creatorRequestId === creatorRequestId) {
      // Idempotent retry of the same request.
      const op = startOperation(state, "CREATE_NAMESPACE", { NAMESPACE: ns.id }, ctx)
      return Result.succeed({ state: op.state, output: { OperationId: op.operationId } })
    }
    return fail("NamespaceAlreadyExists", `Namespace already exists: ${name}`, 400, {
      NamespaceId: ns.id,
      ...(ns.creatorRequestId === undefined ? {} : { CreatorRequestId: ns.creatorRequestId })
    })
  }
  let id = namespaceIdFor(name)
  for (let i = 1; state.namespaces.has(id); i++) id = deterministicId("ns-", `namespace:${name}#${i}`)
  // Cloud Map appends a hash to HttpName when the name is already in use.
  const httpName = state.namespaceByHttpName.has(name) ? `${name}-${id.slice(3, 11)}` : name
  const ns: NamespaceRecord = {
    id,
    arn: namespaceArn(state, id),
    name,
    httpName,
    description,
    serviceIds: [],
    createDate: ctx.now,
    creatorRequestId
  }
  const namespaces = new Map(state.namespaces)
  namespaces.set(id, ns)
  const namespaceByName = new Map(state.namespaceByName)
  namespaceByName.set(name, id)
  const namespaceByHttpName = new Map(state.namespaceByHttpName)
  namespaceByHttpName.set(httpName, id)
  const next: MockState = {
    ...state,
    namespaces,
    namespaceOrder: [...state.namespaceOrder, id],
    namespaceByName,
    namespaceByHttpName
  }
  const op = startOperation(next, "CREATE_NAMESPACE", { NAMESPACE: id }, ctx)
  return Result.succeed({ state: op.state, output: { OperationId: op.operationId } })
})
