/**
 * Runtime API commands for whole backends and map entries (HAProxy 3.4: `add backend`, `publish
 * backend`, `unpublish backend`, `del backend`; maps on every version), with the read-backs that
 * verify them: `show backend`, the backend's status in `show stat` (`UP (UNPUB)` while
 * unpublished) and `show map`. docs/haproxy-runtime-backends.md has what 3.4.7 accepts and refuses.
 *
 * As in runtime-api.ts, every identifier is checked before anything is sent: backend and defaults
 * names `[a-z0-9_.-]`, map keys of the planner's grammar (`host` or `domain/segment`), and only the
 * two map files the configuration names.
 */
import { Effect } from "effect"
import { assertName, reject, type RuntimeError } from "./runtime-errors.ts"
import type { RuntimeTransport } from "./runtime-transport.ts"

/** The map files haproxy.cfg routes through (src/render/render.ts); their runtime IDs are these names. */
export type RouteMap = "hosts.map" | "paths.map"

const MAP_KEY = /^[a-z0-9.-]{1,253}(?:\/[a-z0-9-]{1,63})?$/

const assertMap = (map: string) =>
  map === "hosts.map" || map === "paths.map" ? Effect.succeed(map) : reject("map", map, "hosts.map or paths.map")

const assertKey = (key: string) =>
  typeof key === "string" && MAP_KEY.test(key) ? Effect.succeed(key) : reject("map key", key, "a host or domain/segment of [a-z0-9.-]")

/** `major.minor` of an HAProxy version string (`3.4.7-1` -> [3, 4]); undefined when unreadable. Pure. */
export const versionOf = (version: string): readonly [number, number] | undefined => {
  const m = /^(\d+)\.(\d+)/.exec(version.trim())
  return m === null ? undefined : [Number(m[1]), Number(m[2])]
}

/** HAProxy adds and deletes backends at runtime from 3.4 on. Pure. */
export const supportsRuntimeBackends = (version: string): boolean => {
  const v = versionOf(version)
  return v !== undefined && (v[0] > 3 || (v[0] === 3 && v[1] >= 4))
}

/** `show map <map>` lines (`0x55d0... key value`) as [key, value] pairs, in HAProxy's order. Pure. */
export const parseShowMap = (text: string): ReadonlyArray<readonly [string, string]> | string => {
  const entries: Array<readonly [string, string]> = []
  for (const line of text.split("\n")) {
    const l = line.trim()
    if (l === "") continue
    const m = /^0x[0-9a-f]+ (\S+) (\S+)$/.exec(l)
    if (m === null) return `unexpected line ${JSON.stringify(l.slice(0, 200))}`
    entries.push([m[1]!, m[2]!])
  }
  return entries
}

/** `show backend`: one name a line after the `# name` header. Pure. */
export const parseShowBackend = (text: string): ReadonlyArray<string> | string => {
  const lines = text.split("\n").map((l) => l.trim()).filter((l) => l !== "")
  if (lines[0] !== "# name") return "no `# name` header"
  return lines.slice(1)
}

export interface RuntimeBackendApi {
  /** The running worker's version (`show info`). */
  readonly version: Effect.Effect<string, RuntimeError>
  readonly showBackends: Effect.Effect<ReadonlyArray<string>, RuntimeError>
  /** `add backend <name> from <defaults>`: the backend starts unpublished and without servers. */
  readonly addBackend: (name: string, defaults: string) => Effect.Effect<void, RuntimeError>
  readonly publishBackend: (name: string) => Effect.Effect<void, RuntimeError>
  readonly unpublishBackend: (name: string) => Effect.Effect<void, RuntimeError>
  /** Needs an unpublished backend without servers or streams. */
  readonly delBackend: (name: string) => Effect.Effect<void, RuntimeError>
  /** Whether the backend takes traffic: its `show stat` status has no `(UNPUB)`. */
  readonly isPublished: (name: string) => Effect.Effect<boolean, RuntimeError>
  readonly showMap: (map: RouteMap) => Effect.Effect<ReadonlyArray<readonly [string, string]>, RuntimeError>
  readonly addMapEntry: (map: RouteMap, key: string, value: string) => Effect.Effect<void, RuntimeError>
  /** Re-points every entry of the key. */
  readonly setMapEntry: (map: RouteMap, key: string, value: string) => Effect.Effect<void, RuntimeError>
  readonly delMapEntry: (map: RouteMap, key: string) => Effect.Effect<void, RuntimeError>
}

/** Over the transport runtime-api.ts uses for the same socket: one connection bound for both. */
export const makeRuntimeBackendApi = (transport: RuntimeTransport): RuntimeBackendApi => {
  const { failed, runExpect, runExpectEmpty, runParsed } = transport
  // The answer may start with messages HAProxy queued for the CLI meanwhile (3.4.7 answered
  // `del backend` with "Server ... is going DOWN for maintenance. ...\nBackend deleted."): the
  // verdict is the last line.
  const answer = (re: RegExp) => (text: string) => re.test(text.trim().split("\n").pop()?.trim() ?? "")

  const version = runParsed("show info", (text) => /^Version: (\S+)$/m.exec(text)?.[1] ?? "no Version line")

  const addBackend = (name: string, defaults: string) =>
    Effect.gen(function*() {
      const b = yield* assertName("backend", name)
      const d = yield* assertName("defaults", defaults)
      yield* runExpect(`add backend ${b} from ${d}`, answer(/^New backend registered\.?$/))
    })

  const simple = (verb: string, ok: RegExp) => (name: string) =>
    Effect.flatMap(assertName("backend", name), (b) => Effect.asVoid(runExpect(`${verb} backend ${b}`, answer(ok))))

  const isPublished = (name: string) =>
    Effect.gen(function*() {
      const b = yield* assertName("backend", name)
      const command = `show stat ${b} 2 -1`
      const row = yield* runParsed(command, (text) => {
        const lines = text.split("\n").filter((l) => l.trim() !== "")
        const header = lines[0]?.replace(/^# /, "").split(",") ?? []
        const status = header.indexOf("status")
        const backend = lines.slice(1).map((l) => l.split(",")).find((c) => c[0] === b && c[1] === "BACKEND")
        // (a string result is runParsed's failure: the status goes in an object)
        return backend === undefined || status < 0 ? "no BACKEND row" : { status: backend[status] ?? "" }
      })
      if (row.status === "") return yield* Effect.fail(failed(command, "empty status"))
      return !row.status.includes("UNPUB")
    })

  const mapCommand = (verb: "add" | "set", map: RouteMap, key: string, value: string) =>
    Effect.gen(function*() {
      const m = yield* assertMap(map)
      const k = yield* assertKey(key)
      const v = yield* assertName("backend", value)
      yield* runExpectEmpty(`${verb} map ${m} ${k} ${v}`)
    })

  return {
    version,
    showBackends: runParsed("show backend", parseShowBackend),
    addBackend,
    publishBackend: simple("publish", /^Backend published\.?$/),
    unpublishBackend: simple("unpublish", /^Backend unpublished\.?$/),
    delBackend: simple("del", /^Backend deleted\.?$/),
    isPublished,
    showMap: (map) => Effect.flatMap(assertMap(map), (m) => runParsed(`show map ${m}`, parseShowMap)),
    addMapEntry: (map, key, value) => mapCommand("add", map, key, value),
    setMapEntry: (map, key, value) => mapCommand("set", map, key, value),
    delMapEntry: (map, key) =>
      Effect.gen(function*() {
        const m = yield* assertMap(map)
        const k = yield* assertKey(key)
        yield* runExpectEmpty(`del map ${m} ${k}`)
      })
  }
}
