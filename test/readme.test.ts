/**
 * The README is a ten-minute read that points to docs/ for the reference: its short variable
 * table and docs/configuration.md's grouped reference are generated from the variable table
 * (`npm run docs:config`), and every link between them resolves.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { VARIABLES } from "../src/config/agent-config.ts"
import {
  configurationReference,
  generatedPart,
  README_VARIABLES,
  readmeVariableTable,
  UNGROUPED_TITLE,
  VARIABLE_GROUPS,
  VARIABLE_TABLE_HEADER
} from "../src/config/variables-doc.ts"

const read = (file: string) => readFileSync(new URL(`../${file}`, import.meta.url), "utf8")
const readme = read("README.md")
const configuration = read("docs/configuration.md")
const MARKDOWN = ["README.md", ...readdirSync(new URL("../docs", import.meta.url)).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)]

const OUT_OF_DATE = "is out of date: run `npm run docs:config`"

describe("the variable tables are generated from the code", () => {
  it("the README's short table is the generated one", () => {
    expect(generatedPart(readme), `README.md's variable table ${OUT_OF_DATE}`).toBe(readmeVariableTable())
  })

  it("docs/configuration.md's grouped reference is the generated one", () => {
    expect(generatedPart(configuration), `docs/configuration.md's variable tables ${OUT_OF_DATE}`).toBe(configurationReference())
  })

  it("every variable is in exactly one group of docs/configuration.md, once", () => {
    const grouped = VARIABLE_GROUPS.flatMap((g) => g.names)
    for (const v of VARIABLES) {
      expect(grouped.filter((name) => name === v.name), `${v.name}: add it to one group of VARIABLE_GROUPS (src/config/variables-doc.ts), then run npm run docs:config`)
        .toHaveLength(1)
      expect(configuration.split("\n").filter((l) => l.startsWith(`| \`${v.name}\` |`)), v.name).toHaveLength(1)
    }
    expect(grouped.filter((name) => !VARIABLES.some((v) => v.name === name)), "groups naming no variable").toEqual([])
    expect(configuration).not.toContain(`### ${UNGROUPED_TITLE}`)
    expect(configuration.split("\n").filter((l) => l === VARIABLE_TABLE_HEADER)).toHaveLength(VARIABLE_GROUPS.length)
  })

  it("the README's table has every required variable, and its defaults and meanings are the code's", () => {
    const required = VARIABLES.filter((v) => v.default.startsWith("required")).map((v) => v.name)
    expect(required).toEqual(expect.arrayContaining(["AWS_REGION", "NAMESPACE_MAP", "STATS_PASSWD", "PROM_PASSWD"]))
    for (const name of required) expect(README_VARIABLES, name).toContain(name)
    for (const name of README_VARIABLES) {
      const v = VARIABLES.find((x) => x.name === name)
      expect(v, `${name} in README_VARIABLES is not a variable`).toBeDefined()
      expect(readme).toContain(`| \`${name}\` | ${v!.default.replace(/\|/g, "\\|")} |`)
    }
    expect(readme).toContain("](docs/configuration.md)")
  })
})

describe("the README is a ten-minute read", () => {
  it("starts with how to run the demo and the tests", () => {
    expect(readme.split("\n").slice(0, 12).join("\n")).toMatch(/npm run demo[\s\S]*npm test/)
  })

  it("is at most 2,500 words (ten minutes at 250 a minute) and links every document in docs/", () => {
    expect(readme.split(/\s+/).filter(Boolean).length).toBeLessThanOrEqual(2500)
    for (const doc of MARKDOWN.filter((f) => f.startsWith("docs/"))) expect(readme, doc).toContain(`](${doc})`)
  })
})

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes. */
const anchor = (heading: string) =>
  heading.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, "").replace(/ /g, "-")

const anchors = (markdown: string) =>
  new Set(markdown.split("\n").filter((l) => /^#{1,6} /.test(l)).map((l) => anchor(l.replace(/^#+ /, ""))))

it("every relative link of README.md and docs/*.md reaches a file, and its #anchor a heading there", () => {
  const broken: Array<string> = []
  for (const file of MARKDOWN) {
    const text = read(file).replace(/```[\s\S]*?```/g, "")
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target!)) continue
      const [path, hash] = target!.split("#")
      const resolved = path === "" ? new URL(`../${file}`, import.meta.url) : new URL(path!, new URL(`../${file}`, import.meta.url))
      if (!existsSync(resolved)) {
        broken.push(`${file}: ${target} (no such file)`)
        continue
      }
      if (hash !== undefined && resolved.pathname.endsWith(".md") && !anchors(readFileSync(resolved, "utf8")).has(hash)) {
        broken.push(`${file}: ${target} (no such heading)`)
      }
    }
  }
  expect(broken).toEqual([])
})
