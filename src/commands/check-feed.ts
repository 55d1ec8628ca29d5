/**
 * The change feed's items of `cloudmap-haproxy check`, skipped when CHANGE_FEED=false: one page of
 * ListOperations over the last minute, and GetOperation on an operation id that cannot exist
 * (Cloud Map answers OperationNotFound only to a caller allowed to ask), through the agent's
 * client. The agent runs without them (it falls back to revision polling by itself), so a denial's
 * fix offers both ways: grant the action, or set CHANGE_FEED=false.
 */
import { Clock, Effect } from "effect"
import { CloudMap, type CloudMapError, isActionDenied } from "../cloudmap/client.ts"
import type { AgentConfig } from "../config/agent-config.ts"
import { action, count, fixFor, problemOf } from "./check-calls.ts"
import { type CheckLine, fail, pass, skip } from "./check-report.ts"

export const FEED_ACTIONS = ["ListOperations", "GetOperation"] as const

/** An OperationId no operation has (Cloud Map's ids are made of lowercase letters and digits). */
export const NO_SUCH_OPERATION = "cloudmap-haproxy-check-no-such-operation"

/** How far back the ListOperations item looks. */
const WINDOW_MS = 60_000

/** What to do about a failed feed call: a denied action can be granted, or the feed turned off. */
const feedFix = (e: CloudMapError): string =>
  isActionDenied(e)
    ? `grant the IAM action servicediscovery:${e.operation} to the task role, or set CHANGE_FEED=false to poll revisions ` +
      "instead (without the action the agent falls back to revision polling by itself, and says so in its log and /status)"
    : fixFor(e)

const failed = (e: CloudMapError): CheckLine => fail(action(e.operation), problemOf(e), feedFix(e))

export const feedChecks = (config: AgentConfig): Effect.Effect<ReadonlyArray<CheckLine>, never, CloudMap> =>
  Effect.gen(function*() {
    if (!config.changeFeed) return FEED_ACTIONS.map((op) => skip(action(op), "CHANGE_FEED=false (revision polling)"))
    const cloudMap = yield* CloudMap
    const now = yield* Clock.currentTimeMillis
    const listed = yield* Effect.match(cloudMap.listOperationsPage({ from: now - WINDOW_MS, to: now }, undefined), {
      onFailure: failed,
      onSuccess: (page): CheckLine =>
        pass(
          action("ListOperations"),
          `${count(page.operations.length, "instance operation")} in the last minute${page.nextToken === undefined ? "" : " on the first page"}`
        )
    })
    // Asked about an operation that does not exist, an allowed caller hears OperationNotFound.
    const looked = yield* Effect.match(cloudMap.getOperation(NO_SUCH_OPERATION), {
      onFailure: (e): CheckLine =>
        e.kind === "notFound" ? pass(action("GetOperation"), `${e.code} for an operation id that does not exist`) : failed(e),
      onSuccess: (): CheckLine => pass(action("GetOperation"))
    })
    return [listed, looked]
  })
