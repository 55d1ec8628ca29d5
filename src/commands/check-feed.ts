/**
 * The change feed's items of `cloudmap-haproxy check`, skipped when CHANGE_FEED=false:
 * ListOperations over the last 15 minutes (at most three pages), with UPDATE_DATE sent in seconds
 * and, when that lists nothing, in milliseconds: which unit Cloud Map reads is not published, and
 * the line says what the account's recent operations show (the agent learns it by itself too);
 * and GetOperation on an operation id that cannot exist
 * (Cloud Map answers OperationNotFound only to a caller allowed to ask), through the agent's
 * client. The agent runs without them (it falls back to revision polling by itself), so a denial's
 * fix offers both ways: grant the action, or set CHANGE_FEED=false.
 */
import { Clock, Effect } from "effect"
import { CloudMap, type CloudMapError, type DateUnit, isActionDenied } from "../cloudmap/client.ts"
import type { AgentConfig } from "../config/agent-config.ts"
import { action, count, fixFor, problemOf } from "./check-calls.ts"
import { type CheckLine, fail, pass, skip } from "./check-report.ts"

export const FEED_ACTIONS = ["ListOperations", "GetOperation"] as const

/** An OperationId no operation has (Cloud Map's ids are made of lowercase letters and digits). */
export const NO_SUCH_OPERATION = "cloudmap-haproxy-check-no-such-operation"

/** How far back the ListOperations item looks. */
const WINDOW_MS = 15 * 60_000
/** Pages the ListOperations item walks at most, per unit. */
const PAGES = 3

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
    const recent = (unit: DateUnit): Effect.Effect<{ readonly operations: number; readonly more: boolean }, CloudMapError> =>
      Effect.gen(function*() {
        let operations = 0
        let token: string | undefined
        for (let pages = 1; pages <= PAGES; pages++) {
          const page = yield* cloudMap.listOperationsPage({ from: now - WINDOW_MS, to: now, unit }, token)
          operations += page.operations.length
          token = page.nextToken
          if (token === undefined) break
        }
        return { operations, more: token !== undefined }
      })
    type Recent = { readonly operations: number; readonly more: boolean; readonly unit: DateUnit }
    const eitherUnit: Effect.Effect<Recent, CloudMapError> = Effect.gen(function*() {
      const seconds = yield* recent("seconds")
      return seconds.operations > 0 ? { ...seconds, unit: "seconds" } : { ...(yield* recent("milliseconds")), unit: "milliseconds" }
    })
    const listed = yield* Effect.match(eitherUnit,
      {
        onFailure: failed,
        onSuccess: ({ operations, more, unit }): CheckLine =>
          pass(
            action("ListOperations"),
            `${count(operations, "instance operation")} in the last 15 minutes${more ? ` on the first ${PAGES} pages` : ""}` +
              (operations === 0
                ? "; the UPDATE_DATE unit is learnt at run time"
                : unit === "seconds"
                ? "; Cloud Map reads UPDATE_DATE in seconds"
                : "; Cloud Map reads UPDATE_DATE in milliseconds (the agent switches to them by itself)")
          )
      }
    )
    // Asked about an operation that does not exist, an allowed caller hears OperationNotFound.
    const looked = yield* Effect.match(cloudMap.getOperation(NO_SUCH_OPERATION), {
      onFailure: (e): CheckLine =>
        e.kind === "notFound" ? pass(action("GetOperation"), `${e.code} for an operation id that does not exist`) : failed(e),
      onSuccess: (): CheckLine => pass(action("GetOperation"))
    })
    return [listed, looked]
  })
