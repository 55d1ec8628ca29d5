/**
 * HAProxy's live server states for the status page (src/http/live-servers.ts): `show stat` rows
 * into backends and servers, and the read cached for LIVE_TTL (one read however many pages ask).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { liveStateOf, liveStateReader, stateOf } from "../../src/http/live-servers.ts"
import { RuntimeCommandFailed } from "../../src/haproxy/runtime-errors.ts"
import { parseShowStat, type StatRecord } from "../../src/haproxy/runtime-parse.ts"

// HAProxy 2.6's leading columns, in its order (addr further right), as `show stat` prints them.
const HEADER = "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck," +
  "chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,addr"
const line = (px: string, sv: string, scur: number, status: string, weight: string, bck: string, lastchg: string, type: number, check: string, addr: string, code = "") =>
  [px, sv, 0, 0, scur, 0, "", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, status, weight, bck === "1" ? 0 : 1, bck, 0, 0, lastchg, 0, "", 1, 3, 1, "", 0, "", type, 0, "", 0, check, code, addr]
    .join(",")
const SHOW_STAT = [
  HEADER,
  line("fe_http", "FRONTEND", 2, "OPEN", "", "", "", 0, "", ""),
  line("be_web.example.test", "i-web-1", 2, "UP", "1", "0", "12", 2, "L4OK", "127.0.0.1:9001"),
  line("be_web.example.test", "i-web-2", 0, "DOWN 1/2", "1", "0", "3", 2, "L7STS", "127.0.0.1:9002", "500"),
  line("be_web.example.test", "i-web-3", 0, "MAINT", "0", "0", "40", 2, "", "127.0.0.1:9003"),
  line("be_web.example.test", "i-web-4", 0, "DRAIN", "0", "1", "5", 2, "* L7OK", "127.0.0.1:9004", "200"),
  line("be_web.example.test", "i-web-5", 0, "DOWN", "1", "0", "5", 2, "L4CON", "127.0.0.1:9005"),
  line("be_web.example.test", "BACKEND", 2, "UP", "2", "", "12", 1, "", ""),
  line("be_api.example.test", "i-api-1", 0, "no check", "10", "0", "7", 2, "", "[::1]:8080"),
  line("be_api.example.test", "BACKEND", 0, "UP", "10", "", "7", 1, "", "")
].join("\n") + "\n\n"

const rows = (): ReadonlyArray<StatRecord> => {
  const parsed = parseShowStat(SHOW_STAT)
  if (typeof parsed === "string") throw new Error(parsed)
  return parsed
}

describe("live server states", () => {
  it("turns show stat rows into backends with their servers' state, weight and sessions", () => {
    const live = liveStateOf(rows(), Date.UTC(2025, 0, 2, 3, 4, 5))
    assert.strictEqual(live.at, "2025-01-02T03:04:05.000Z")
    assert.isTrue(live.available)
    assert.deepStrictEqual(live.backends.map((b) => [b.backend, b.status, b.sessions, b.servers.length]), [
      ["be_web.example.test", "UP", 2, 5],
      ["be_api.example.test", "UP", 0, 1]
    ])
    assert.deepStrictEqual(
      live.backends[0]!.servers.map((s) => [s.server, s.state, s.status, s.weight, s.sessions, s.backup, s.check, s.lastChangeSeconds, s.address]),
      [
        ["i-web-1", "UP", "UP", 1, 2, false, "L4OK", 12, "127.0.0.1:9001"],
        // A failed HTTP check with its status, as HAProxy's stats page shows it; a running check without its "* ".
        ["i-web-2", "DOWN", "DOWN 1/2", 1, 0, false, "L7STS/500", 3, "127.0.0.1:9002"],
        ["i-web-3", "MAINT", "MAINT", 0, 0, false, null, 40, "127.0.0.1:9003"],
        ["i-web-4", "DRAIN", "DRAIN", 0, 0, true, "L7OK/200", 5, "127.0.0.1:9004"],
        ["i-web-5", "DOWN", "DOWN", 1, 0, false, "L4CON", 5, "127.0.0.1:9005"]
      ]
    )
    assert.deepStrictEqual(live.backends[1]!.servers.map((s) => [s.state, s.weight]), [["UP", 10]])
  })

  it("names HAProxy's states", () => {
    const cases: ReadonlyArray<[string, string]> = [
      ["UP", "UP"], ["UP 1/3", "UP"], ["DOWN", "DOWN"], ["DOWN 1/2", "DOWN"], ["MAINT", "MAINT"], ["MAINT (resolution)", "MAINT"],
      ["MAINT(via)", "MAINT"], ["DRAIN", "DRAIN"], ["DRAIN (agent)", "DRAIN"], ["NOLB", "NOLB"], ["no check", "UP"], ["", "UNKNOWN"], ["?", "UNKNOWN"]
    ]
    for (const [status, state] of cases) assert.strictEqual(stateOf(status), state, status)
  })

  it.effect("reads HAProxy at most once per second however many pages ask, and shows a failed read with its reason", () =>
    Effect.gen(function*() {
      let reads = 0
      let fail = false
      const showStat = Effect.suspend(() => {
        reads++
        return fail
          ? Effect.fail(new RuntimeCommandFailed({ socketPath: "/run/admin.sock", command: "show stat", answer: "Unknown command" }))
          : Effect.succeed(rows())
      })
      const reader = yield* liveStateReader(showStat)
      // What the HTTP handler does: ask with a plain Promise.
      const current = Effect.promise(() => reader.current())
      const many = yield* Effect.forkChild(Effect.all(Array.from({ length: 20 }, () => current), { concurrency: "unbounded" }))
      const answers = yield* Fiber.join(many)
      assert.strictEqual(reads, 1)
      assert.isTrue(answers.every((a) => a === answers[0]))
      yield* TestClock.adjust("999 millis")
      yield* current
      assert.strictEqual(reads, 1)
      yield* TestClock.adjust("1 millis")
      fail = true
      const failed = yield* current
      assert.strictEqual(reads, 2)
      assert.isFalse(failed.available)
      assert.include(failed.error ?? "", "show stat")
      assert.deepStrictEqual(failed.backends, [])
    }).pipe(Effect.scoped))
})
