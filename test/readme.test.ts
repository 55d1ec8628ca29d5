import { readFileSync } from "node:fs"
import { expect, it } from "vitest"
import { readmeConfigTable, README_TABLE_HEADER, withReadmeConfigTable } from "../src/config/variables-doc.ts"

const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8")

it("the README's configuration table is the one generated from the variable table", () => {
  const start = readme.indexOf(README_TABLE_HEADER)
  expect(start, `README.md has no "${README_TABLE_HEADER}" table`).toBeGreaterThan(-1)
  expect(
    readme.slice(start, start + readmeConfigTable().length),
    "README.md's configuration table is out of date: run `npm run docs:config`"
  ).toBe(readmeConfigTable())
  expect(withReadmeConfigTable(readme), "README.md's configuration table is out of date: run `npm run docs:config`")
    .toBe(readme)
})

it("the README starts with how to run the demo and the tests", () => {
  expect(readme.split("\n").slice(0, 12).join("\n")).toMatch(/npm run demo[\s\S]*npm test/)
})
