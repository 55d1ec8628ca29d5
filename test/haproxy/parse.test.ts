/** Pure parsing/encoding tests plus socket-client behaviour against fake unix-socket servers. */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { createServer, type Server, type Socket } from "node:net"
import { join } from "node:path"
import { parseReloadAnswer, parseShowProc } from "../../src/haproxy/master-cli.ts"
import { adminStateOf, parseServersState, parseShowStat } from "../../src/haproxy/runtime-parse.ts"
import { encodeCommand, MAX_REQUEST_BYTES, sendCommand } from "../../src/haproxy/socket-client.ts"
import { summarizeCheckOutput } from "../../src/haproxy/validate.ts"
import { tempDir } from "../support/haproxy-fixtures.ts"

// Captured from haproxy 2.6.12-1+deb12u4 (`echo 'show proc' | socat master.sock stdio`).
const SHOW_PROC_26 = [
  "#<PID>          <type>          <reloads>       <uptime>        <version>      ",
  "3941            master          1 [failed: 0]   0d00h00m04s     2.6.12-1+deb12u4",
  "# workers",
  "3979            worker          0               0d00h00m00s     2.6.12-1+deb12u4",
  "# old workers",
  "3950            worker          1               0d00h00m04s     2.6.12-1+deb12u4",
  "# programs",
  "",
  ""
].join("\n")

// Layout of 2.0-2.4 (extra <relative PID> column, `[was: N]` for old workers).
const SHOW_PROC_OLD = [
  "#<PID>          <type>          <relative PID>  <reloads>       <uptime>        <version>      ",
  "100             master          0               3               0d00h01m00s     2.4.22",
  "# workers",
  "104             worker          1               0               0d00h00m10s     2.4.22",
  "# old workers",
  "102             worker          [was: 1]        1               0d00h00m50s     2.4.22",
  "# programs",
  "200             dataplane       -               0               0d00h01m00s     -",
  ""
].join("\n")

describe("parseShowProc", () => {
  it("parses the 2.6 layout with workers and old workers", () => {
    const p = parseShowProc(SHOW_PROC_26)
    assert.deepStrictEqual(p, {
      master: { pid: 3941, reloads: 1, failed: 0, uptime: "0d00h00m04s", version: "2.6.12-1+deb12u4" },
      workers: [{ pid: 3979, reloads: 0, uptime: "0d00h00m00s", version: "2.6.12-1+deb12u4" }],
      oldWorkers: [{ pid: 3950, reloads: 1, uptime: "0d00h00m04s", version: "2.6.12-1+deb12u4" }]
    })
  })

  it("reads [failed: N]", () => {
    const p = parseShowProc(SHOW_PROC_26.replace("1 [failed: 0]", "7 [failed: 2]"))
    assert.isObject(p)
    if (typeof p === "string") return
    assert.strictEqual(p.master.reloads, 7)
    assert.strictEqual(p.master.failed, 2)
  })

  it("parses the older layout with a relative PID column", () => {
    const p = parseShowProc(SHOW_PROC_OLD)
    assert.isObject(p)
    if (typeof p === "string") return
    assert.deepStrictEqual(p.master, { pid: 100, reloads: 3, failed: 0, uptime: "0d00h01m00s", version: "2.4.22" })
    assert.deepStrictEqual(p.workers.map((w) => w.pid), [104])
    assert.deepStrictEqual(p.oldWorkers.map((w) => [w.pid, w.reloads]), [[102, 1]])
  })

  it("explains what is wrong with other text", () => {
    assert.isString(parseShowProc("Unknown command, but maybe ..."))
    assert.isString(parseShowProc("#<PID> <type>\ngarbage row\n"))
  })
})

describe("parseReloadAnswer", () => {
  it("is undefined for the empty 2.6 answer", () => assert.isUndefined(parseReloadAnswer("")))
  it("reads 3.x Success=1/0 and busy", () => {
    assert.deepStrictEqual(parseReloadAnswer("Success=1\n--\n[NOTICE] ... Loading success.\n"), {
      success: true,
      busy: false
    })
    assert.deepStrictEqual(parseReloadAnswer("Success=0\n--\n[ALERT] ... Loading failure!\n"), {
      success: false,
      busy: false
    })
    assert.deepStrictEqual(parseReloadAnswer("Success=0\n--\nAnother reload is still in progress.\n"), {
      success: false,
      busy: true
    })
  })
})

// Captured from 2.6.12 `show servers state be` after `set server be/s1 state drain`.
const SERVERS_STATE = [
  "1",
  "# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port",
  "3 be 1 s1 127.0.0.1 2 8 1 1 0 1 0 0 0 0 0 0 - 19002 - 0 0 - - 0",
  "3 be 3 s3 ::1 0 1 50 50 0 1 0 0 6 0 0 0 - 19001 - 0 0 - - 0",
  "",
  ""
].join("\n")

describe("runtime API parsers", () => {
  it("parses show servers state", () => {
    const rows = parseServersState(SERVERS_STATE)
    assert.isArray(rows)
    if (typeof rows === "string") return
    assert.strictEqual(rows.length, 2)
    assert.deepInclude(rows[0]!, {
      backendId: 3,
      backendName: "be",
      serverId: 1,
      serverName: "s1",
      address: "127.0.0.1",
      port: 19002,
      operationalState: "running",
      adminState: "drain",
      adminStateCode: 8,
      fqdn: undefined
    })
    assert.deepInclude(rows[1]!, { serverName: "s3", address: "::1", adminState: "maint", userWeight: 50 })
    assert.isString(parseServersState("Can't find backend.\n\n"))
  })

  it("decodes admin state bits", () => {
    assert.strictEqual(adminStateOf(0), "ready")
    assert.strictEqual(adminStateOf(0x08), "drain")
    assert.strictEqual(adminStateOf(0x10), "drain")
    assert.strictEqual(adminStateOf(0x01 | 0x08), "maint")
    assert.strictEqual(adminStateOf(0x20), "maint")
  })

  it("parses show stat", () => {
    const stat = parseShowStat("# pxname,svname,qcur,qmax,scur,smax,status,\nbe,s1,0,0,3,4,UP,\nbe,BACKEND,0,0,3,4,UP,\n\n")
    assert.deepStrictEqual(typeof stat === "string" ? stat : stat.map((r) => [r.proxy, r.service, r.scur, r.status]), [
      ["be", "s1", 3, "UP"],
      ["be", "BACKEND", 3, "UP"]
    ])
    assert.isString(parseShowStat("Unknown command\n"))
  })
})

describe("socket-client encoding", () => {
  it.effect("refuses ';', line breaks and control characters", () =>
    Effect.gen(function*() {
      for (const bad of ["show info;show stat", "show info\nshow stat", "show\rinfo", "show\u0000", "", " show info"]) {
        const e = yield* Effect.flip(encodeCommand(bad))
        assert.strictEqual(e._tag, "CommandRejected")
      }
      assert.strictEqual(yield* encodeCommand("show info"), "show info\n")
    }))

  it.effect("refuses a command that would not fit in HAProxy's request buffer", () =>
    Effect.gen(function*() {
      const e = yield* Effect.flip(encodeCommand(`show servers state ${"b".repeat(MAX_REQUEST_BYTES)}`))
      assert.strictEqual(e._tag, "CommandRejected")
      if (e._tag === "CommandRejected") assert.include(e.reason, "longer than")
    }))
})

/** A unix-socket server with a custom connection handler, closed with the scope. */
const fakeSocket = (path: string, onConnection: (socket: Socket) => void) =>
  Effect.acquireRelease(
    Effect.callback<Server>((resume) => {
      const server = createServer(onConnection)
      server.listen(path, () => resume(Effect.succeed(server)))
    }),
    (server) => Effect.callback<void>((resume) => {
        server.close(() => resume(Effect.void))
      })
  )

describe("socket-client transport", () => {
  it.live("reads until the peer closes, after a half-close", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = join(dir, "s.sock")
      let received = ""
      // Like the master CLI: answers, then stays open until the client half-closes.
      yield* fakeSocket(path, (socket) => {
        socket.on("data", (d) => {
          received += d.toString()
          socket.write("answer line 1\n")
        })
        socket.on("end", () => socket.end("answer line 2\n\n"))
      })
      const answer = yield* sendCommand(path, "show proc")
      assert.strictEqual(received, "show proc\n")
      assert.strictEqual(answer, "answer line 1\nanswer line 2\n\n")
    }))

  it.live("times out a silent peer with SocketTimeout(response)", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = join(dir, "s.sock")
      const held: Array<Socket> = []
      yield* fakeSocket(path, (socket) => void held.push(socket))
      const e = yield* Effect.flip(sendCommand(path, "show proc", { responseTimeout: "200 millis" }))
      held.forEach((s) => s.destroy())
      assert.strictEqual(e._tag, "SocketTimeout")
      if (e._tag === "SocketTimeout") assert.strictEqual(e.phase, "response")
    }))

  it.live("reports a missing socket as SocketUnavailable(connect)", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const e = yield* Effect.flip(sendCommand(join(dir, "none.sock"), "show proc"))
      assert.strictEqual(e._tag, "SocketUnavailable")
      if (e._tag === "SocketUnavailable") {
        assert.strictEqual(e.phase, "connect")
        assert.strictEqual(e.code, "ENOENT")
      }
    }))
})

describe("validate output summary", () => {
  it("keeps ALERT/WARNING lines only", () => {
    const out = "[NOTICE]   (1) : haproxy version is 2.6.12\n[ALERT]    (1) : config : parsing [x.cfg:4] : unknown keyword 'x'\n[ALERT]    (1) : config : Fatal errors found in configuration.\n"
    assert.strictEqual(
      summarizeCheckOutput(out),
      "[ALERT]    (1) : config : parsing [x.cfg:4] : unknown keyword 'x'\n[ALERT]    (1) : config : Fatal errors found in configuration."
    )
  })
})
