/** NAMESPACE_MAP keys: an unknown key is an error naming it and the closest known key, never dropped. */
import { Result } from "effect"
import { expect, it } from "vitest"
import { formatConfigProblems, readAgentConfig } from "../../src/config/agent-config.ts"

const env = (map: unknown) => ({
  AWS_REGION: "us-east-1",
  NAMESPACE_MAP: JSON.stringify(map),
  STATS_PASSWD: "s",
  PROM_PASSWD: "p"
})

const problems = (map: unknown) => {
  const r = readAgentConfig(env(map))
  if (Result.isSuccess(r)) return expect.unreachable(`accepted ${JSON.stringify(map)}`)
  return r.failure
}

it("a misspelt key is reported with the key and the closest known key", () => {
  const found = problems([{ namespace: "apps", domainname: "x.test", mdoe: "path" }])
  expect(found).toEqual([{
    variable: "NAMESPACE_MAP[0]",
    value: "mdoe",
    expected: 'one of the keys namespace, domainname, mode: "mdoe" is unknown, did you mean "mode"?'
  }])
  expect(formatConfigProblems(found)).toBe(
    'NAMESPACE_MAP[0]="mdoe" is invalid: expected one of the keys namespace, domainname, mode: "mdoe" is unknown, did you mean "mode"?'
  )
})

it("every unknown key of every entry is reported; one far from all keys gets no guess", () => {
  const found = problems([
    { namespace: "a", domainname: "a.test" },
    { namespace: "b", domainname: "b.test", namespcae: "b", priority: 1 }
  ])
  expect(found.map((p) => [p.variable, p.value, p.expected.endsWith("?")])).toEqual([
    ["NAMESPACE_MAP[1]", "namespcae", true],
    ["NAMESPACE_MAP[1]", "priority", false]
  ])
  expect(found[0]!.expected).toContain('did you mean "namespace"?')
})

it("an unknown key standing for a missing required one is reported with the missing one", () => {
  const found = problems([{ namespace: "apps", domainame: "x.test" }])
  expect(found[0]).toMatchObject({ variable: "NAMESPACE_MAP[0]", value: "domainame" })
  expect(found[0]!.expected).toContain('did you mean "domainname"?')
  expect(found[1]).toMatchObject({ variable: "NAMESPACE_MAP" })
  expect(found[1]!.expected).toContain("domainname")
})

it("the known keys alone are accepted", () => {
  const r = readAgentConfig(env([{ namespace: "apps", domainname: "x.test", mode: "path" }]))
  expect(Result.isSuccess(r) && r.success.namespaces).toEqual([{ namespace: "apps", domain: "x.test", mode: "path" }])
})
