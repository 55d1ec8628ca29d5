/**
 * Paging of the List* operations and GetInstancesHealthStatus: `MaxResults` (1..100, default
 * 100), an opaque `NextToken` (base64url JSON bound to the operation and its filters), and Cloud
 * Map's documented empty pages: with `emptyPages` set, filtered ListNamespaces/ListServices look
 * at a window of entries per page and filter afterwards, so a page can be empty while NextToken
 * is set.
 */
import { Buffer } from "node:buffer"
import { createHash } from "node:crypto"
import { Result, Schema } from "effect"
import { type CloudMapError, invalidInput } from "./cloudmap-error.ts"
import { IntBetween, NonEmptyString } from "./request.ts"
import type { InstanceRecord, MockState, ServiceRecord } from "./state-model.ts"

/** `MaxResults` of the paginated operations. */
export const MaxResults = IntBetween(1, 100)
export const DEFAULT_MAX_RESULTS = 100
/** `NextToken` as a request member. */
export const NextToken = NonEmptyString(4096)

// ---------------------------------------------------------------------------------------------
// Empty pages

/** `emptyPages` (fixture, control API) → the state's `emptyPagesWindow`. */
export const emptyPagesWindow = (emptyPages: boolean | number | undefined): number | undefined =>
  emptyPages === undefined || emptyPages === false
    ? undefined
    : emptyPages === true
    ? Number.POSITIVE_INFINITY
    : Math.max(1, Math.floor(emptyPages))

/** The state's `emptyPagesWindow` → `emptyPages` as the fixture writes it. */
export const emptyPagesSetting = (state: MockState): boolean | number =>
  state.emptyPagesWindow === undefined
    ? false
    : state.emptyPagesWindow === Number.POSITIVE_INFINITY
    ? true
    : state.emptyPagesWindow

/** Changes the empty-pages behaviour of an existing state (control API). */
export const withEmptyPages = (state: MockState, emptyPages: boolean | number): MockState => ({
  ...state,
  emptyPagesWindow: emptyPagesWindow(emptyPages)
})

// ---------------------------------------------------------------------------------------------
// Tokens

const PageToken = Schema.Struct({
  op: Schema.String,
  /** Position in the underlying ordered list where the next page starts. */
  pos: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
  /** Fingerprint of the request parameters the token belongs to. */
  fp: Schema.String,
  /** Key of the last item returned (lets instance pagination survive deregistrations). */
  last: Schema.optionalKey(Schema.String)
})
export type PageToken = typeof PageToken.Type

const decodePageToken = Schema.decodeUnknownResult(Schema.fromJsonString(PageToken))

/** A short digest of the request parameters a token is bound to. */
export const fingerprint = (value: unknown): string =>
  createHash("sha1").update(JSON.stringify(value) ?? "").digest("base64url").slice(0, 12)

export const encodeToken = (token: PageToken): string => Buffer.from(JSON.stringify(token)).toString("base64url")

/** Reads a request's NextToken; it must have been issued for the same operation and parameters. */
export const decodeToken = (
  raw: string | undefined,
  op: string,
  fp: string
): Result.Result<PageToken | undefined, CloudMapError> => {
  if (raw === undefined) return Result.succeed(undefined)
  const token = decodePageToken(Buffer.from(raw, "base64url").toString("utf8"))
  if (Result.isFailure(token)) return invalidInput("The NextToken is not valid")
  if (token.success.op !== op || token.success.fp !== fp) return invalidInput("The NextToken is not valid for this request")
  return Result.succeed(token.success)
}

// ---------------------------------------------------------------------------------------------
// Pages

/**
 * One page over an ordered list (the first `length` entries of `order`) with a filter. `window`
 * (empty-pages mode) caps how many entries are examined; otherwise the page is filled with up to
 * `max` matches and the token points at the next match (no trailing empty page).
 */
export const scanPage = <K, T>(
  order: ReadonlyArray<K>,
  start: number,
  max: number,
  window: number | undefined,
  select: (key: K) => T | undefined,
  length: number = order.length
): { items: Array<T>; next: number | undefined } => {
  const items: Array<T> = []
  if (window !== undefined) {
    const end = Math.min(length, start + Math.min(max, window))
    for (let i = start; i < end; i++) {
      const item = select(order[i]!)
      if (item !== undefined) items.push(item)
    }
    return { items, next: end < length ? end : undefined }
  }
  let i = start
  for (; i < length && items.length < max; i++) {
    const item = select(order[i]!)
    if (item !== undefined) items.push(item)
  }
  for (; i < length; i++) {
    if (select(order[i]!) !== undefined) return { items, next: i }
  }
  return { items, next: undefined }
}

/** Pages over a service's instances in registration order. */
export const instancePage = (
  svc: ServiceRecord,
  op: string,
  fp: string,
  token: PageToken | undefined,
  max: number
): { page: Array<InstanceRecord>; nextToken: string | undefined } => {
  const all = [...svc.instances.values()]
  let start = 0
  if (token !== undefined) {
    start = Math.min(token.pos, all.length)
    // An instance before the position was deregistered: resume right after the last one returned.
    if (token.last !== undefined && all[start - 1]?.id !== token.last) {
      const idx = all.findIndex((i) => i.id === token.last)
      if (idx >= 0) start = idx + 1
      else start = Math.max(0, Math.min(start - 1, all.length))
    }
  }
  const page = all.slice(start, start + max)
  const end = start + page.length
  const nextToken = end < all.length
    ? encodeToken({ op, pos: end, fp, last: page[page.length - 1]?.id ?? token?.last ?? "" })
    : undefined
  return { page, nextToken }
}
