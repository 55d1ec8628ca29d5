/**
 * Golden renders, compared byte for byte with test/golden/*. After an intended change, rewrite
 * them with `UPDATE_GOLDEN=1 npx vitest run test/render/golden.test.ts` and review the diff.
 * Each golden config is also validated with the installed `haproxy -c`.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import type { RenderSettings } from "../../src/model/render-settings.ts"
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

describe("golden comparison", () => {
  it("fails on a one-byte difference", () => {
    const desired = plan(hostModeSnapshot(), { defaultInstancePort: undefined })
    const cfg = render(desired, cases[0]!.settings)["haproxy.cfg"]
    const stored = readFileSync(join(GOLDEN_DIR, "host-mode.cfg"), "utf8")
    expect(() => expect(cfg.replace("timeout client 65s", "timeout client 66s")).toBe(stored)).toThrow()
    expect(() => expect(`${cfg} `).toBe(stored)).toThrow()
  })
})
