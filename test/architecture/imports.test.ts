import { describe, expect, it } from "vitest"
import { fileURLToPath } from "node:url"
import { cycles, importsOf, layeringViolations, readGraph } from "./import-graph.ts"

const src = fileURLToPath(new URL("../../src", import.meta.url))
const graph = readGraph(src)

describe("imports run one way (docs/architecture.md)", () => {
  it("reads the imports of a file, multi-line, type-only and dynamic ones included", () => {
    const text = [
      `import { a } from "./a.ts"`,
      `import type {`,
      `  B`,
      `} from "../model/b.ts"`,
      `export { c } from "../plan/c.ts"`,
      `// import { x } from "../agent/x.ts"`,
      `const d = await import("../render/d.ts")`,
      `import "../status/e.ts"`,
      `import { Effect } from "effect"`
    ].join("\n")
    expect(importsOf("apply/f.ts", text)).toEqual([
      "apply/a.ts",
      "model/b.ts",
      "plan/c.ts",
      "render/d.ts",
      "status/e.ts"
    ])
  })

  it("finds an upward import, a pure folder importing an effectful one, and a cycle", () => {
    const bad = new Map([
      ["haproxy/supervisor.ts", ["reconcile/status-store.ts"]],
      ["render/render.ts", ["config/agent-config.ts"]],
      ["plan/plan.ts", ["model/desired.ts"]],
      ["config/a.ts", ["config/b.ts"]],
      ["config/b.ts", ["config/a.ts"]]
    ])
    expect(layeringViolations(bad)).toEqual([
      "haproxy/supervisor.ts → reconcile/status-store.ts: haproxy/ may not import reconcile/ (same level or above it)",
      "render/render.ts → config/agent-config.ts: render/ is pure and may not import config/"
    ])
    expect(cycles(bad, "config")).toEqual(["config/a.ts → config/b.ts → config/a.ts"])
  })

  it("src/ has many files and imports (the reader found them)", () => {
    expect(graph.size).toBeGreaterThan(100)
    expect(graph.get("reconcile/reconciler.ts")?.length).toBeGreaterThan(5)
  })

  it("no file imports a folder at its own level or above it", () => {
    expect(layeringViolations(graph)).toEqual([])
  })

  it("no import cycle among the files of src/", () => {
    expect(cycles(graph)).toEqual([])
  })
})
