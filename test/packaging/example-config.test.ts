/**
 * haproxy.cfg.example is what the agent renders for the sample topology in
 * scripts/render-example.ts: regenerated here and compared byte for byte, and the same rendering
 * (written into a temp dir: map paths are relative to the config file) passes `haproxy -c`.
 */
import { execFileSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { EXAMPLE_ENV, EXAMPLE_FILE, exampleDesired, renderExample, renderExampleFiles } from "../../scripts/render-example.ts"
import { RENDERED_FILE_NAMES } from "../../src/render/render.ts"
import { configProblems } from "../support/haproxy-process.ts"

const ROOT = new URL("../..", import.meta.url).pathname
const HAPROXY = process.env["HAPROXY_BIN"] ?? "haproxy"
const work = mkdtempSync(join(tmpdir(), "cmh-example-"))
afterAll(() => rmSync(work, { recursive: true, force: true }))

const committed = readFileSync(join(ROOT, EXAMPLE_FILE), "utf8")

describe(EXAMPLE_FILE, () => {
  it("is up to date with the renderer", () => {
    const fresh = renderExample()
    if (fresh !== committed) {
      const a = committed.split("\n")
      const b = fresh.split("\n")
      const line = a.findIndex((l, i) => l !== b[i])
      expect.fail(
        `${EXAMPLE_FILE} is stale: run \`npm run example:render\` and commit it ` +
          `(first difference at line ${line + 1}: ${JSON.stringify(a[line])} vs ${JSON.stringify(b[line])})`
      )
    }
  })

  it("covers host mode, path mode, an SRV-style name, an empty service and a quarantined record", () => {
    const desired = exampleDesired()
    expect(desired.hostRoutes.length).toBeGreaterThanOrEqual(2)
    expect(desired.pathRoutes.length).toBeGreaterThanOrEqual(2)
    expect(desired.backends.some((b) => b.servers.length === 0)).toBe(true)
    expect(desired.backends.some((b) => b.serviceId === "srv-api0000000000001" && b.route === "api.example.com")).toBe(true)
    expect(desired.quarantined.length).toBeGreaterThanOrEqual(1)
    expect(committed).toContain("backend be_web.example.com")
    expect(committed).toContain("/var/lib/cloudmap-haproxy/hosts.map")
  })

  it("holds password hashes, never the passwords", () => {
    expect(committed).not.toContain(EXAMPLE_ENV["STATS_PASSWD"])
    expect(committed).not.toContain(EXAMPLE_ENV["PROM_PASSWD"])
    expect(committed.match(/password '\$6\$/g)).toHaveLength(2)
  })

  it("shows exactly the rendered haproxy.cfg and maps, with only the directory differing", () => {
    const files = renderExampleFiles(work)
    const swapped = committed.replaceAll("/var/lib/cloudmap-haproxy", work)
    expect(swapped).toContain(files["haproxy.cfg"].trimEnd())
    for (const map of ["hosts.map", "paths.map"] as const) {
      const commentedMap = files[map].trimEnd().split("\n").map((l) => `# ${l}`).join("\n")
      expect(swapped).toContain(commentedMap)
    }
  })

  it("passes haproxy -c", () => {
    const files = renderExampleFiles(work)
    for (const name of RENDERED_FILE_NAMES) writeFileSync(join(work, name), files[name])
    let output = ""
    try {
      output = execFileSync(HAPROXY, ["-c", "-f", join(work, "haproxy.cfg")], { encoding: "utf8", stdio: "pipe" })
    } catch (e) {
      const err = e as { status: number; stdout: string; stderr: string }
      expect.fail(`haproxy -c exited ${err.status}:\n${err.stdout}${err.stderr}`)
    }
    expect(configProblems(output)).toEqual([])
  })
})
