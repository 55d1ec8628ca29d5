// The import graph of src/, read from the source text: which file imports which, and the rules
// docs/architecture.md states about it (folders import only folders below them; the pure folders
// import nothing effectful; no file imports itself back through a cycle).
import { readdirSync, readFileSync } from "node:fs"
import { dirname, join, normalize } from "node:path"

/**
 * Each folder of src/ (and each file at its top) and its place in the flow: a file may import only
 * folders of a lower rank, never one beside or above its own.
 */
export const folderRank: Readonly<Record<string, number>> = {
  "version.ts": -1,
  model: 0,
  plan: 1,
  render: 1,
  config: 2,
  status: 2,
  observability: 3,
  cloudmap: 4,
  haproxy: 4,
  mock: 4,
  apply: 5,
  reconcile: 6,
  http: 7,
  agent: 8,
  commands: 9,
  "main.ts": 10
}

/** Folders with no effects: they import only one another. */
export const pureFolders: ReadonlyArray<string> = ["model", "plan", "render"]

export type Graph = ReadonlyMap<string, ReadonlyArray<string>>

const specifier = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)"(\.{1,2}\/[^"]+)"/g

/** The relative imports of one file's text, resolved against its path (paths relative to src/). */
export const importsOf = (file: string, text: string): ReadonlyArray<string> => {
  const withoutComments = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "")
  return [...withoutComments.matchAll(specifier)].map((m) => normalize(join(dirname(file), m[1]!)))
}

export const readGraph = (root: string): Graph => {
  const files = readdirSync(root, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts"))
  return new Map(files.map((f) => [f, importsOf(f, readFileSync(join(root, f), "utf8"))]))
}

/** The folder of src/ a file is in; a file at the top of src/ stands for itself. */
export const folderOf = (file: string): string => file.split("/")[0]!

/** Each import that runs sideways or upward, or from a pure folder into an effectful one. */
export const layeringViolations = (graph: Graph): ReadonlyArray<string> => {
  const found: Array<string> = []
  for (const [file, imports] of graph) {
    const from = folderOf(file)
    for (const target of imports) {
      const to = folderOf(target)
      if (to === from) continue
      const fromRank = folderRank[from]
      const toRank = folderRank[to]
      if (fromRank === undefined || toRank === undefined) {
        found.push(`${file} → ${target}: folder ${fromRank === undefined ? from : to} has no place in the layering`)
      } else if (pureFolders.includes(from) && !pureFolders.includes(to)) {
        found.push(`${file} → ${target}: ${from}/ is pure and may not import ${to}/`)
      } else if (toRank >= fromRank) {
        found.push(`${file} → ${target}: ${from}/ may not import ${to}/ (same level or above it)`)
      }
    }
  }
  return found
}

/** Each cycle among the files under `folder` (or all files), as the path that closes it. */
export const cycles = (graph: Graph, folder?: string): ReadonlyArray<string> => {
  const inScope = (f: string) => folder === undefined || folderOf(f) === folder
  const found: Array<string> = []
  const done = new Set<string>()
  const visit = (file: string, path: ReadonlyArray<string>): void => {
    const at = path.indexOf(file)
    if (at >= 0) {
      found.push([...path.slice(at), file].join(" → "))
      return
    }
    if (done.has(file)) return
    for (const next of graph.get(file) ?? []) if (inScope(next)) visit(next, [...path, file])
    done.add(file)
  }
  for (const file of [...graph.keys()].filter(inScope).sort()) visit(file, [])
  return found
}
