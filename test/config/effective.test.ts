/** `cloudmap-haproxy config`: every variable, its value in effect, secrets redacted, default or set. */
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { VARIABLES } from "../../src/config/agent-config.ts"
import { effectiveConfig, effectiveJson, formatEffective } from "../../src/config/effective.ts"

const base = {
  AWS_DEFAULT_REGION: "eu-west-1",
  NAMESPACE_MAP: "[{\"namespace\":\"apps\",\"domainname\":\"Example.COM\"}]",
  STATS_PASSWD: "stats-s3cret",
  PROM_PASSWD: "prom-s3cret",
  LISTEN_PORT: " 8080 ",
  HAPROXY_NBTHREAD: "3"
}

const entries = (env: Record<string, string>) => Result.getOrThrow(effectiveConfig(env))
const lineOf = (text: string, name: string) => text.split("\n").find((l) => l.startsWith(`${name}=`) || l.startsWith(`${name} `))

describe("the configuration in effect", () => {
  it("lists every variable of the table, in its order", () => {
    expect(entries(base).map((e) => e.name)).toEqual(VARIABLES.map((v) => v.name))
    const text = formatEffective(entries(base))
    for (const v of VARIABLES) expect(lineOf(text, v.name), v.name).toBeDefined()
  })

  it("marks defaults and set values, with the value in effect", () => {
    const text = formatEffective(entries(base))
    expect(lineOf(text, "LISTEN_PORT")).toMatch(/^LISTEN_PORT=8080 +\(set\)$/)
    expect(lineOf(text, "REFRESH_RATE")).toMatch(/^REFRESH_RATE=30 +\(default\)$/)
    expect(lineOf(text, "HAPROXY_NBTHREAD")).toMatch(/^HAPROXY_NBTHREAD=3 +\(set\)$/)
    expect(lineOf(text, "DEFAULT_DOMAIN")).toMatch(/^DEFAULT_DOMAIN unset +\(default\)$/)
    expect(lineOf(text, "AWS_REGION")).toMatch(/^AWS_REGION=eu-west-1 +\(set as AWS_DEFAULT_REGION\)$/)
    // Parsed and normalised, in the shape it is written in.
    expect(lineOf(text, "NAMESPACE_MAP")).toMatch(
      /^NAMESPACE_MAP=\[\{"namespace":"apps","domainname":"example.com","mode":"host"\}\] +\(set\)$/
    )
  })

  it("computed defaults show the value computed", () => {
    const { HAPROXY_NBTHREAD: _, ...env } = base
    const nbthread = entries(env).find((e) => e.name === "HAPROXY_NBTHREAD")!
    expect(typeof nbthread.value).toBe("number")
    expect(nbthread.source).toEqual({ read: true, givenAs: undefined })
  })

  it("never shows a secret, in text or JSON", () => {
    const text = formatEffective(entries(base))
    const json = effectiveJson(entries(base))
    for (const out of [text, json]) {
      expect(out).not.toContain("s3cret")
      expect(out).toContain("<redacted>")
    }
    expect(lineOf(text, "STATS_PASSWD")).toMatch(/^STATS_PASSWD=<redacted> +\(set\)$/)
  })

  it("a variable that is not read (its page is off) is marked so", () => {
    const { STATS_PASSWD: _, ...env } = base
    const text = formatEffective(entries({ ...env, STATS_ENABLED: "off" }))
    expect(lineOf(text, "STATS_PASSWD")).toMatch(/^STATS_PASSWD unset +\(not used\)$/)
    expect(lineOf(text, "STATS_USER")).toMatch(/^STATS_USER unset +\(not used\)$/)
  })

  it("--json: typed values, null when unset, default and used flags", () => {
    const doc = JSON.parse(effectiveJson(entries(base))) as { variables: Array<Record<string, unknown>> }
    const byName = new Map(doc.variables.map((v) => [v.name, v]))
    expect(byName.get("LISTEN_PORT")).toEqual({ name: "LISTEN_PORT", value: 8080, default: false, used: true })
    expect(byName.get("STATS_ENABLED")).toEqual({ name: "STATS_ENABLED", value: true, default: true, used: true })
    expect(byName.get("DEFAULT_DOMAIN")).toEqual({ name: "DEFAULT_DOMAIN", value: null, default: true, used: true })
    expect(byName.get("AWS_REGION")).toEqual({ name: "AWS_REGION", value: "eu-west-1", default: false, setAs: "AWS_DEFAULT_REGION", used: true })
    expect(byName.get("NAMESPACE_MAP")?.value).toEqual([{ namespace: "apps", domainname: "example.com", mode: "host" }])
    expect(doc.variables).toHaveLength(VARIABLES.length)
  })

  it("an invalid variable gives the same problems as run, secrets redacted", () => {
    const r = effectiveConfig({ ...base, LISTEN_PORT: "70000", NAMESPACE_MAP: "[]" })
    if (Result.isSuccess(r)) return expect.unreachable()
    expect(r.failure.map((p) => p.variable)).toEqual(["NAMESPACE_MAP", "LISTEN_PORT"])
  })
})
