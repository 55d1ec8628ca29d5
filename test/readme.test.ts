import { readFileSync } from "node:fs"
import { expect, it } from "vitest"
import { VARIABLES } from "../src/config/agent-config.ts"

it("the README's configuration table lists every variable with its default", () => {
  const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8")
  for (const v of VARIABLES) expect(readme).toContain(`| \`${v.name}\` | ${v.default} |`)
  expect(readme.split("\n").slice(0, 12).join("\n")).toMatch(/npm run demo[\s\S]*npm test/)
})
