import { Redacted, Result } from "effect"
import { describe, expect, it } from "vitest"
import { formatConfigProblems, logLevelOf, readAgentConfig, VARIABLES } from "../../src/config/agent-config.ts"
import { variablesHelp } from "../../src/config/variables-doc.ts"

const base = {
  AWS_REGION: "us-east-1",
  NAMESPACE_MAP: JSON.stringify([{ namespace: "apps", domainname: "Example.COM", mode: "host" }]),
  STATS_PASSWD: "s3cret-stats",
  PROM_PASSWD: "s3cret-prom"
}

const problems = (env: Record<string, string>) => {
  const r = readAgentConfig(env)
  if (Result.isSuccess(r)) throw new Error("expected problems")
  return r.failure
}

describe("readAgentConfig", () => {
  it("reads the original image's variables with documented defaults", () => {
    const r = readAgentConfig(base)
    if (Result.isFailure(r)) throw new Error(formatConfigProblems(r.failure))
    const c = r.success
    expect(c.region).toBe("us-east-1")
    expect(c.namespaces).toEqual([{ namespace: "apps", domain: "example.com", mode: "host" }])
    expect(c.refreshSeconds).toBe(30)
    expect(c.applyMode).toBe("on")
    expect(c.listenPort).toBe(80)
    expect(c.healthPort).toBe(3000)
    expect(c.healthAddress).toBe("127.0.0.1")
    expect(c.healthFilter).toBe("HEALTHY_OR_ELSE_ALL")
    expect(c.stats?.user).toBe("stats_user")
    expect(c.metrics?.user).toBe("stats")
    expect(Redacted.value(c.stats!.password)).toBe("s3cret-stats")
    expect(String(c.stats!.password)).not.toContain("s3cret")
    expect(c.cloudMap.endpoint).toBeUndefined()
    expect(c.defaultDomain).toBeUndefined()
  })

  it("defaults mode to host and accepts path mode", () => {
    const r = readAgentConfig({
      ...base,
      NAMESPACE_MAP: JSON.stringify([{ namespace: "a", domainname: "a.example.com" }, { namespace: "b", domainname: "b.example.com", mode: "path" }])
    })
    expect(Result.isSuccess(r) && r.success.namespaces.map((n) => n.mode)).toEqual(["host", "path"])
  })

  it("reports every bad variable at once, naming the variable, the value and what is expected", () => {
    const found = problems({
      NAMESPACE_MAP: "[{\"namespace\": \"apps\"}]",
      REFRESH_RATE: "soon",
      LISTEN_PORT: "70000",
      APPLY_MODE: "maybe",
      DEFAULT_DOMAIN: "bad domain",
      HEALTH_FILTER: "UNHEALTHY",
      AWS_ENDPOINT_URL_SERVICEDISCOVERY: "not a url"
    })
    const vars = found.map((p) => p.variable)
    expect(vars).toEqual(expect.arrayContaining([
      "AWS_REGION",
      "NAMESPACE_MAP",
      "REFRESH_RATE",
      "LISTEN_PORT",
      "APPLY_MODE",
      "DEFAULT_DOMAIN",
      "HEALTH_FILTER",
      "AWS_ENDPOINT_URL_SERVICEDISCOVERY",
      "STATS_PASSWD",
      "PROM_PASSWD"
    ]))
    const port = found.find((p) => p.variable === "LISTEN_PORT")!
    expect(port.value).toBe("70000")
    expect(port.expected).toContain("1 to 65535")
    const text = formatConfigProblems(found)
    expect(text).toContain("REFRESH_RATE=\"soon\" is invalid")
    expect(text).toContain("STATS_PASSWD is not set")
    expect(text).toContain("STATS_ENABLED=false")
  })

  it("refuses HAPROXY_WATCHDOG_LIVENESS below HAPROXY_WATCHDOG (liveness would fail before readiness), naming the fix", () => {
    const found = problems({ ...base, HAPROXY_WATCHDOG: "20", HAPROXY_WATCHDOG_LIVENESS: "10" })
    expect(found).toHaveLength(1)
    expect(found[0]).toMatchObject({ variable: "HAPROXY_WATCHDOG_LIVENESS", value: "10" })
    expect(found[0]!.expected).toContain("at least HAPROXY_WATCHDOG (20)")
    // 0 switches either off; equal is fine.
    for (const [w, l] of [["20", "0"], ["0", "5"], ["20", "20"]] as const) {
      expect(Result.isSuccess(readAgentConfig({ ...base, HAPROXY_WATCHDOG: w, HAPROXY_WATCHDOG_LIVENESS: l }))).toBe(true)
    }
  })

  it("quotes offending values printable and single-line, like every other message", () => {
    const text = formatConfigProblems(problems({ ...base, LOG_LEVEL: "info\u202e\nx" }))
    expect(text).toContain("LOG_LEVEL=\"info\\u202e\\nx\" is invalid: expected one of debug, info, warn, error")
    expect(text.split("\n")).toHaveLength(1)
  })

  it("never echoes a secret", () => {
    const found = problems({ ...base, AWS_REGION: "nowhere", STATS_USER: "bad user", STATS_PASSWD: "hunter2" })
    expect(JSON.stringify(found)).not.toContain("hunter2")
  })

  it("rejects hostnames that would be unsafe in a config or map", () => {
    for (const domain of ["example.com\nlisten pwn", "exa mple.com", "ex#ample.com", "exämple.com", "-bad.com", `${"a".repeat(64)}.com`]) {
      const found = problems({ ...base, NAMESPACE_MAP: JSON.stringify([{ namespace: "apps", domainname: domain }]) })
      expect(found.map((p) => p.variable)).toContain("NAMESPACE_MAP[0].domainname")
    }
  })

  it("refuses a NAMESPACE_MAP entry given twice", () => {
    const entry = { namespace: "apps", domainname: "example.com", mode: "path" }
    const text = formatConfigProblems(problems({ ...base, NAMESPACE_MAP: JSON.stringify([entry, { ...entry, domainname: "EXAMPLE.com." }]) }))
    // A value longer than 80 characters is cut in the message, like every quoted value.
    expect(text).toMatch(/^NAMESPACE_MAP="\[\{.{70,}"\.\.\. \(\d+ characters\) is invalid: expected no duplicate entries \("apps" → example\.com twice\)$/)
  })

  it("turns pages off without passwords", () => {
    const r = readAgentConfig({ ...base, STATS_PASSWD: "", PROM_PASSWD: "", STATS_ENABLED: "false", METRICS_ENABLED: "false" })
    expect(Result.isSuccess(r) && r.success.stats === undefined && r.success.metrics === undefined).toBe(true)
  })

  it("uses a custom endpoint from AWS_ENDPOINT_URL_SERVICEDISCOVERY or AWS_ENDPOINT_URL", () => {
    const a = readAgentConfig({ ...base, AWS_ENDPOINT_URL: "http://127.0.0.1:4566" })
    const b = readAgentConfig({ ...base, AWS_ENDPOINT_URL: "http://x:1", AWS_ENDPOINT_URL_SERVICEDISCOVERY: "http://127.0.0.1:9999" })
    expect(Result.isSuccess(a) && a.success.cloudMap.endpoint).toBe("http://127.0.0.1:4566")
    expect(Result.isSuccess(b) && b.success.cloudMap.endpoint).toBe("http://127.0.0.1:9999")
  })

  it("says what is wrong with each variable in the same words as before the table", () => {
    const text = formatConfigProblems(problems({
      ...base,
      REFRESH_RATE: "soon",
      LISTEN_PORT: "8080",
      HEALTH_PORT: "8080",
      APPLY_MODE: "maybe",
      HAPROXY_RESTART: "sometimes",
      CONFIG_DIR: "relative/dir",
      DEFAULT_DOMAIN: "bad domain",
      STATS_PASSWD: ""
    })).split("\n")
    expect(text).toEqual([
      "DEFAULT_DOMAIN=\"bad domain\" is invalid: expected a DNS hostname (it contains a space)",
      "REFRESH_RATE=\"soon\" is invalid: expected a number from 1 to 86400",
      "APPLY_MODE=\"maybe\" is invalid: expected one of on, off",
      "STATS_PASSWD is not set: expected a password (or set STATS_ENABLED=false to turn that page off)",
      "CONFIG_DIR=\"relative/dir\" is invalid: expected an absolute path made of A-Z a-z 0-9 _ . - /",
      "HEALTH_PORT=\"8080\" is invalid: expected a port other than LISTEN_PORT",
      "HAPROXY_RESTART=\"sometimes\" is invalid: expected true or false"
    ])
  })

  it("MONITORING_PORT: unset by default, a port of its own when set", () => {
    const unset = readAgentConfig(base)
    expect(Result.isSuccess(unset) && unset.success.monitoringPort).toBeUndefined()
    const set = readAgentConfig({ ...base, MONITORING_PORT: "8404" })
    expect(Result.isSuccess(set) && set.success.monitoringPort).toBe(8404)
    expect(formatConfigProblems(problems({ ...base, LISTEN_PORT: "8080", MONITORING_PORT: "8080" })))
      .toBe("MONITORING_PORT=\"8080\" is invalid: expected a port other than LISTEN_PORT")
    expect(formatConfigProblems(problems({ ...base, HEALTH_PORT: "3000", MONITORING_PORT: "3000" })))
      .toBe("MONITORING_PORT=\"3000\" is invalid: expected a port other than HEALTH_PORT")
    expect(problems({ ...base, MONITORING_PORT: "70000" }).map((p) => p.variable)).toEqual(["MONITORING_PORT"])
  })

  it("checks a page's user only while the page is on", () => {
    const off = readAgentConfig({ ...base, STATS_ENABLED: "false", STATS_USER: "bad user", STATS_PASSWD: "" })
    expect(Result.isSuccess(off) && off.success.stats).toBeUndefined()
    expect(problems({ ...base, STATS_USER: "bad user" }).map((p) => [p.variable, p.value])).toEqual([["STATS_USER", "bad user"]])
  })

  it("reads AWS_DEFAULT_REGION when AWS_REGION is unset, and names it when it is wrong", () => {
    const { AWS_REGION: _, ...withoutRegion } = base
    const r = readAgentConfig({ ...withoutRegion, AWS_DEFAULT_REGION: "eu-west-1" })
    expect(Result.isSuccess(r) && r.success.region).toBe("eu-west-1")
    expect(problems({ ...withoutRegion, AWS_DEFAULT_REGION: "nowhere" }).map((p) => p.variable)).toEqual(["AWS_DEFAULT_REGION"])
  })

  it("REJECTED_RETRY_INTERVAL defaults to 10 seconds, whatever REFRESH_RATE", () => {
    const seconds = (env: Record<string, string>) => {
      const r = readAgentConfig({ ...base, ...env })
      if (Result.isFailure(r)) throw new Error(formatConfigProblems(r.failure))
      return r.success.rejectedRetrySeconds
    }
    expect(seconds({})).toBe(10)
    expect(seconds({ REFRESH_RATE: "300" })).toBe(10)
    expect(seconds({ REFRESH_RATE: "30", REJECTED_RETRY_INTERVAL: "3" })).toBe(3)
    expect(formatConfigProblems(problems({ ...base, REJECTED_RETRY_INTERVAL: "0" })))
      .toBe("REJECTED_RETRY_INTERVAL=\"0\" is invalid: expected a number from 1 to 86400")
  })

  it("computes HAPROXY_NBTHREAD's default from the CPUs, at most 4", () => {
    const r = readAgentConfig(base)
    expect(Result.isSuccess(r) && r.success.nbthread).toBeGreaterThanOrEqual(1)
    expect(Result.isSuccess(r) && r.success.nbthread).toBeLessThanOrEqual(4)
  })
})

describe("the variable table", () => {
  it("documents each variable once, with its default as people read it", () => {
    const names = VARIABLES.map((v) => v.name)
    expect(new Set(names).size).toBe(names.length)
    const shown = Object.fromEntries(VARIABLES.map((v) => [v.name, v.default]))
    expect(shown).toMatchObject({
      AWS_REGION: "required",
      REFRESH_RATE: "30",
      STATS_ENABLED: "true",
      STATS_PASSWD: "required when stats enabled",
      DEFAULT_DOMAIN: "unset",
      READY_MAX_STALENESS: "unset (off)",
      HAPROXY_NBTHREAD: "CPUs this process may use, at most 4",
      REJECTED_RETRY_INTERVAL: "10",
      HAPROXY_RESTART: "false"
    })
  })

  it("prints every variable for --help, meanings wrapped to the terminal", () => {
    const help = variablesHelp()
    for (const v of VARIABLES) {
      expect(help).toContain(`\n  ${v.name} (${v.default.startsWith("required") ? "" : "default: "}${v.default})\n`)
    }
    for (const line of help.split("\n")) expect(line.length).toBeLessThanOrEqual(80)
  })
})

describe("ALLOW_INSTANCE_NETWORKS", () => {
  it("is empty by default and reads comma-separated CIDRs", () => {
    const unset = readAgentConfig(base)
    expect(Result.isSuccess(unset) && unset.success.allowInstanceNetworks).toEqual([])
    const set = readAgentConfig({ ...base, ALLOW_INSTANCE_NETWORKS: " 127.0.0.0/8, fd00::/8 " })
    expect(Result.isSuccess(set) && set.success.allowInstanceNetworks.map((n) => n.text)).toEqual(["127.0.0.0/8", "fd00::/8"])
  })
  it("a bad entry stops startup naming the variable and the entry", () => {
    const text = formatConfigProblems(problems({ ...base, ALLOW_INSTANCE_NETWORKS: "127.0.0.0/8,127.0.0.1/8,nope" }))
    expect(text).toContain("ALLOW_INSTANCE_NETWORKS=")
    expect(text).toContain("\"127.0.0.1/8\" has bits set after the /8 prefix")
    expect(text).toContain("\"nope\" is not an IPv4 or IPv6 network")
  })
})

describe("LOG_LEVEL before the command runs (the logger's level)", () => {
  it("is read by the table's own rule, with no other variable needed; info when unset or invalid", () => {
    expect(logLevelOf({ LOG_LEVEL: " DEBUG " })).toBe("debug")
    expect(logLevelOf({ LOG_LEVEL: "warn" })).toBe("warn")
    expect(logLevelOf({})).toBe("info")
    expect(logLevelOf({ LOG_LEVEL: "loud" })).toBe("info")
  })
})
