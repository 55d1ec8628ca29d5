/**
 * Fixtures for the src/haproxy tests: a hand-written minimal HAProxy config
 * generator (deliberately independent of src/render), tiny named HTTP
 * backends, an HTTP client, temp dirs and /proc helpers.
 *
 * Everything listens on 127.0.0.1 only.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createServer, request, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, type Scope } from "effect"

/** The HAProxy binary: $HAPROXY_BIN, else the Debian location (/usr/sbin), else /usr/bin, else PATH. */
export const haproxyBin: string = process.env["HAPROXY_BIN"] ??
  ["/usr/sbin/haproxy", "/usr/bin/haproxy", "/usr/local/sbin/haproxy"].find((p) => existsSync(p)) ??
  "haproxy"

// ---------------------------------------------------------------------------
// Config generator

export interface ServerSpec {
  readonly name: string
  readonly addr: string
  readonly port: number
  /** Extra server keywords, e.g. "disabled" or "check inter 1s". */
  readonly extra?: string
}

export interface BackendSpec {
  readonly name: string
  readonly servers?: ReadonlyArray<ServerSpec>
  /** `balance` algorithm, default roundrobin (dynamic servers need a dynamic one). */
  readonly balance?: string
  /** Extra lines inside the backend section. */
  readonly lines?: ReadonlyArray<string>
}

export interface FrontendSpec {
  readonly name: string
  readonly port: number
  /** Route everything to one backend. */
  readonly backend?: string
  /** Route by Host through an exact-match map file (absolute path), falling back to `mapDefault`. */
  readonly map?: { readonly path: string; readonly fallback: string }
}

export interface ConfigSpec {
  readonly adminSocket?: string
  readonly frontends: ReadonlyArray<FrontendSpec>
  readonly backends: ReadonlyArray<BackendSpec>
  readonly globalLines?: ReadonlyArray<string>
  readonly defaultsLines?: ReadonlyArray<string>
}

/** Renders a small, valid haproxy.cfg (2.6 and 3.x). */
export const renderConfig = (spec: ConfigSpec): string => {
  const out: Array<string> = []
  out.push("global")
  out.push("    nbthread 1")
  if (spec.adminSocket !== undefined) out.push(`    stats socket ${spec.adminSocket} mode 600 level admin`)
  out.push("    hard-stop-after 30s")
  for (const l of spec.globalLines ?? []) out.push(`    ${l}`)
  out.push("")
  out.push("defaults")
  out.push("    mode http")
  out.push("    timeout connect 2s")
  out.push("    timeout client 15s")
  out.push("    timeout server 15s")
  for (const l of spec.defaultsLines ?? []) out.push(`    ${l}`)
  out.push("")
  for (const fe of spec.frontends) {
    out.push(`frontend ${fe.name}`)
    out.push(`    bind 127.0.0.1:${fe.port}`)
    if (fe.map !== undefined) {
      out.push(`    use_backend %[req.hdr(host),lower,word(1,:),map(${fe.map.path},${fe.map.fallback})]`)
      out.push(`    default_backend ${fe.map.fallback}`)
    } else if (fe.backend !== undefined) {
      out.push(`    default_backend ${fe.backend}`)
    }
    out.push("")
  }
  for (const be of spec.backends) {
    out.push(`backend ${be.name}`)
    out.push(`    balance ${be.balance ?? "roundrobin"}`)
    for (const l of be.lines ?? []) out.push(`    ${l}`)
    for (const s of be.servers ?? []) {
      out.push(`    server ${s.name} ${s.addr}:${s.port}${s.extra === undefined ? "" : ` ${s.extra}`}`)
    }
    out.push("")
  }
  return out.join("\n")
}

// ---------------------------------------------------------------------------
// Files

/** A fresh directory under the OS temp dir, removed when the scope closes. Short path: unix sockets live here. */
export const tempDir: Effect.Effect<string, never, Scope.Scope> = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "hx-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

export const writeFile = (path: string, text: string): Effect.Effect<void> =>
  Effect.sync(() => writeFileSync(path, text))

// ---------------------------------------------------------------------------
// HTTP backends and client

export interface NamedBackend {
  readonly name: string
  readonly port: number
}

/**
 * An HTTP server on 127.0.0.1 (kernel-chosen port) answering `<name>\n`;
 * `?ms=N` delays the answer by N ms. Closed (connections dropped) with the scope.
 */
export const namedBackend = (name: string): Effect.Effect<NamedBackend, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.callback<{ server: Server; port: number }>((resume) => {
      const server = createServer((req, res) => {
        const ms = Number(new URL(req.url ?? "/", "http://x").searchParams.get("ms") ?? "0")
        const timer = setTimeout(() => res.end(`${name}\n`), Math.min(Math.max(ms, 0), 30_000))
        res.on("close", () => clearTimeout(timer))
      })
      server.listen(0, "127.0.0.1", () => {
        resume(Effect.succeed({ server, port: (server.address() as AddressInfo).port }))
      })
    }),
    ({ server }) =>
      Effect.callback<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ port }) => ({ name, port })))

export interface HttpReply {
  readonly status: number
  readonly body: string
}

/** GET http://127.0.0.1:<port><path> with `Connection: close` (no keep-alive reuse between calls). */
export const httpGet = (
  port: number,
  path = "/",
  options?: { readonly host?: string; readonly timeoutMs?: number }
): Effect.Effect<HttpReply, Error> =>
  Effect.callback<HttpReply, Error>((resume) => {
    const req = request({
      host: "127.0.0.1",
      port,
      path,
      method: "GET",
      agent: false,
      headers: { connection: "close", ...(options?.host === undefined ? {} : { host: options.host }) },
      timeout: options?.timeoutMs ?? 10_000
    }, (res) => {
      const chunks: Array<Buffer> = []
      res.on("data", (c: Buffer) => chunks.push(c))
      res.on("end", () =>
        resume(Effect.succeed({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") })))
      res.on("error", (e) => resume(Effect.fail(e)))
    })
    req.on("timeout", () => req.destroy(new Error(`GET ${path} timed out`)))
    req.on("error", (e) => resume(Effect.fail(e)))
    req.end()
    return Effect.sync(() => req.destroy())
  })

/** The trimmed bodies of `n` sequential GETs. */
export const httpBodies = (
  port: number,
  n: number,
  options?: { readonly host?: string; readonly path?: string }
): Effect.Effect<Array<string>, Error> =>
  Effect.forEach(
    Array.from({ length: n }, (_, i) => i),
    () => Effect.map(httpGet(port, options?.path ?? "/", options), (r) => `${r.status} ${r.body.trim()}`)
  )

// ---------------------------------------------------------------------------
// /proc

/** State letter and parent PID from /proc/<pid>/stat, or undefined when the PID does not exist. */
export const procStat = (pid: number): { readonly state: string; readonly ppid: number; readonly pgrp: number } | undefined => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return { state: rest[0] ?? "?", ppid: Number(rest[1]), pgrp: Number(rest[2]) }
  } catch {
    return undefined
  }
}

/** Exists and is not a zombie. */
export const isAlive = (pid: number): boolean => {
  const s = procStat(pid)
  return s !== undefined && s.state !== "Z" && s.state !== "X"
}

/** Polls until none of the PIDs is alive, or the timeout passes; returns the ones still alive. */
export const waitGone = (pids: ReadonlyArray<number>, timeoutMs = 5_000): Effect.Effect<Array<number>> =>
  Effect.gen(function*() {
    const deadline = Date.now() + timeoutMs
    while (true) {
      const alive = pids.filter(isAlive)
      if (alive.length === 0 || Date.now() >= deadline) return alive
      yield* Effect.sleep("20 millis")
    }
  })

/** Last-resort cleanup: SIGKILL each PID that is still alive (by PID only). */
export const killPids = (pids: ReadonlyArray<number>): Effect.Effect<void> =>
  Effect.sync(() => {
    for (const pid of pids) {
      if (!isAlive(pid)) continue
      try {
        process.kill(pid, "SIGKILL")
      } catch {
        // gone meanwhile
      }
    }
  })

/** Prints a measured duration in the test output (`[timing] label: N ms`). */
export const timing = (label: string, ms: number): Effect.Effect<void> =>
  Effect.sync(() => console.log(`[timing] ${label}: ${ms} ms`))
