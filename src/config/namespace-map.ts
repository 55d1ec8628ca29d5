/**
 * NAMESPACE_MAP's kind: a JSON array of {namespace, domainname, mode} entries, each domain a
 * hostname, no entry twice, and every key it does not know reported with the closest known one.
 */
import { Result, Schema } from "effect"
import { closest } from "../model/closest.ts"
import { quote } from "../model/grammar.ts"
import { mappingKey, type NamespaceMapping } from "../model/snapshot.ts"
import { hostname, type Issue, type Kind } from "./table.ts"

const NamespaceMapEntry = Schema.Struct({
  namespace: Schema.NonEmptyString,
  domainname: Schema.NonEmptyString,
  mode: Schema.optionalKey(Schema.Literals(["host", "path"]))
})
const NamespaceMapJson = Schema.fromJsonString(Schema.Array(NamespaceMapEntry))
const NAMESPACE_MAP_KEYS = Object.keys(NamespaceMapEntry.fields)
/** The entries' keys, whatever their values: a key the struct does not know is reported, not dropped. */
const NamespaceMapKeys = Schema.fromJsonString(Schema.Array(Schema.Record(Schema.String, Schema.Unknown)))

/** One issue per key of an entry that NAMESPACE_MAP does not know (`mdoe`: did you mean "mode"?). */
const unknownKeys = (raw: string): Array<Issue> => {
  const entries = Schema.decodeUnknownResult(NamespaceMapKeys)(raw)
  if (Result.isFailure(entries)) return []
  return entries.success.flatMap((entry, i) =>
    Object.keys(entry).filter((key) => !NAMESPACE_MAP_KEYS.includes(key)).map((key) => {
      const near = closest(key, NAMESPACE_MAP_KEYS)
      return {
        variable: `NAMESPACE_MAP[${i}]`,
        value: key,
        expected: `one of the keys ${NAMESPACE_MAP_KEYS.join(", ")}: ${quote(key)} is unknown` +
          (near === undefined ? "" : `, did you mean ${quote(near)}?`)
      }
    })
  )
}

/** NAMESPACE_MAP: a JSON array of mappings, each domain a hostname, no entry twice, no unknown key. */
export const namespaceMap: Kind<ReadonlyArray<NamespaceMapping>> = {
  parse: (raw) => {
    const decoded = Schema.decodeUnknownResult(NamespaceMapJson)(raw)
    if (Result.isFailure(decoded)) {
      const why = decoded.failure.message.replace(/\s+/g, " ")
      return Result.fail([
        ...unknownKeys(raw),
        { expected: `a JSON array of {"namespace": string, "domainname": hostname, "mode": "host"|"path"} (${why})` }
      ])
    }
    const issues: Array<Issue> = unknownKeys(raw)
    if (decoded.success.length === 0) issues.push({ expected: "at least one namespace" })
    const mappings: Array<NamespaceMapping> = []
    decoded.success.forEach((entry, i) => {
      const domain = hostname.parse(entry.domainname)
      if (Result.isSuccess(domain)) mappings.push({ namespace: entry.namespace, domain: domain.success, mode: entry.mode ?? "host" })
      else issues.push(...domain.failure.map((issue) => ({ ...issue, variable: `NAMESPACE_MAP[${i}].domainname`, value: entry.domainname })))
    })
    const seen = new Set<string>()
    for (const m of mappings) {
      if (seen.has(mappingKey(m))) issues.push({ expected: `no duplicate entries (${quote(m.namespace)} → ${m.domain} twice)` })
      seen.add(mappingKey(m))
    }
    return issues.length > 0 ? Result.fail(issues) : Result.succeed(mappings)
  },
  encode: (mappings) => mappings.map((m) => ({ namespace: m.namespace, domainname: m.domain, mode: m.mode }))
}

