/**
 * Golden renders, compared byte for byte with test/golden/*. After an intended change, rewrite
 * them with `UPDATE_GOLDEN=1 npx vitest run test/render/golden.test.ts` and review the diff.
 * Each golden config is also validated with the installed `haproxy -c`.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import type { RenderSettings } from "../../src/render/settings.ts"
import type { Snapshot } from "../../src/model/snapshot.ts"
import { plan } from "../../src/plan/plan.ts"
import { render, RENDERED_FILE_NAMES, renderSummary } from "../../src/render/render.ts"
import { checkConfig, configProblems } from "../support/haproxy-process.ts"
import { hostModeSnapshot, pathModeSnapshot, removeTempDirs, settings, tempDir, writeRendered } from "./fixtures.ts"
import { GOLDEN_CONFIG_DIR, GOLDEN_DIR, golden } from "./golden-files.ts"

afterAll(removeTempDirs)


interface Case {
  readonly name: string
  readonly snapshot: () => Snapshot
  readonly defaultInstancePort: number | undefined
  readonly settings: RenderSettings
}

const cases: ReadonlyArray<Case> = [
  {
    name: "host-mode",
    snapshot: hostModeSnapshot,
    defaultInstancePort: undefined,
    settings: settings({ configDir: GOLDEN_CONFIG_DIR, listenAddress: "*", listenPort: 80, defaultDomain: "www.example.com" })
  },
  {
    name: "path-mode",
    snapshot: pathModeSnapshot,
    defaultInstancePort: 8000,
    settings: settings({ configDir: GOLDEN_CONFIG_DIR, listenAddress: "*", listenPort: 80, stats: undefined, nbthread: 4 })
  }
]

describe.each(cases)("golden $name", (c) => {
  const desired = plan(c.snapshot(), { defaultInstancePort: c.defaultInstancePort })
  const files = render(desired, c.settings)

  it.each(RENDERED_FILE_NAMES)("%s matches the golden bytes", (file) => {
    const name = file === "haproxy.cfg" ? `${c.name}.cfg` : `${c.name}.${file}`
    expect(files[file]).toBe(golden(name, files[file]))
  })

  it("summary matches the golden text", () => {
    const summary = renderSummary(desired)
    expect(summary).toBe(golden(`${c.name}.summary.txt`, summary))
  })

  it("the golden files pass haproxy -c (moved to a temp configDir)", () => {
    const dir = tempDir(`golden-${c.name}`)
    const relocated = Object.fromEntries(
      RENDERED_FILE_NAMES.map((file) => {
        const name = file === "haproxy.cfg" ? `${c.name}.cfg` : `${c.name}.${file}`
        return [file, readFileSync(join(GOLDEN_DIR, name), "utf8").replaceAll(`${GOLDEN_CONFIG_DIR}/`, `${dir}/`)]
      })
    ) as Record<(typeof RENDERED_FILE_NAMES)[number], string>
    expect(relocated["haproxy.cfg"]).toContain(`stats socket ${dir}/admin.sock`)
    expect(relocated["haproxy.cfg"]).toContain(",map(hosts.map)")
    const result = checkConfig(writeRendered(dir, relocated))
    // nbthread 4 on a machine with fewer CPUs draws a warning from 3.x: about the machine, not the file.
    const problems = configProblems(result.output)
    expect(problems).toEqual([])
    expect(result.ok, result.output).toBe(true)
  })
})

/** The same snapshot with every list (namespaces, services, instances) in the opposite order. */
const reversed = (snapshot: Snapshot): Snapshot => ({
  ...snapshot,
  namespaces: [...snapshot.namespaces].reverse().map((ns) =>
    ns._tag === "Ok"
      ? { ...ns, services: [...ns.services].reverse().map((svc) => svc._tag === "Ok" ? { ...svc, instances: [...svc.instances].reverse() } : svc) }
      : ns
  )
})

describe("the golden bytes pin the renderer", () => {
  it("Cloud Map answering in another order renders the same bytes (replicas agree)", () => {
    for (const c of cases) {
      expect(reversed(c.snapshot())).not.toEqual(c.snapshot())
      const files = render(plan(reversed(c.snapshot()), { defaultInstancePort: c.defaultInstancePort }), c.settings)
      for (const file of RENDERED_FILE_NAMES) {
        const name = file === "haproxy.cfg" ? `${c.name}.cfg` : `${c.name}.${file}`
        expect(files[file]).toBe(readFileSync(join(GOLDEN_DIR, name), "utf8"))
      }
    }
  })

  it("one setting changed changes exactly the lines it renders, so the comparison would catch it", () => {
    const desired = plan(hostModeSnapshot(), { defaultInstancePort: undefined })
    const stored = readFileSync(join(GOLDEN_DIR, "host-mode.cfg"), "utf8").split("\n")
    const moved = render(desired, { ...cases[0]!.settings, listenPort: 81 })["haproxy.cfg"].split("\n")
    expect(moved.length).toBe(stored.length)
    const changed = moved.flatMap((line, i) => line === stored[i] ? [] : [[stored[i], line]])
    expect(changed.length).toBeGreaterThan(0)
    for (const [before, after] of changed) expect(after).toBe(before!.replace(":80", ":81"))
  })
})
