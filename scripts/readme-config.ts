/**
 * Rewrites the configuration table of README.md from the variable table in src/config
 * (`npm run docs:config`). test/readme.test.ts fails while the README's table differs.
 */
import { readFileSync, writeFileSync } from "node:fs"
import process from "node:process"
import { withReadmeConfigTable } from "../src/config/variables-doc.ts"

const path = new URL("../README.md", import.meta.url)
const before = readFileSync(path, "utf8")
const after = withReadmeConfigTable(before)
if (after !== before) writeFileSync(path, after)
process.stdout.write(`README.md: configuration table ${after === before ? "already up to date" : "rewritten"}\n`)
