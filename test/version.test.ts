import { readFileSync } from "node:fs"
import { expect, it } from "vitest"
import { VERSION } from "../src/version.ts"

it("VERSION matches package.json", () => {
  expect(VERSION).toBe(JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")).version)
})
