/**
 * Rewrites the generated variable tables from the variable table in src/config
 * (`npm run docs:config`): README.md's short table and docs/configuration.md's grouped reference.
 * test/readme.test.ts fails while either differs.
 */
import { readFileSync, writeFileSync } from "node:fs"
import process from "node:process"
import { configurationReference, readmeVariableTable, withGenerated } from "../src/config/variables-doc.ts"

for (const [file, generated] of [["README.md", readmeVariableTable()], ["docs/configuration.md", configurationReference()]] as const) {
  const path = new URL(`../${file}`, import.meta.url)
  const before = readFileSync(path, "utf8")
  const after = withGenerated(before, generated, file)
  if (after !== before) writeFileSync(path, after)
  process.stdout.write(`${file}: variable table ${after === before ? "already up to date" : "rewritten"}\n`)
}
