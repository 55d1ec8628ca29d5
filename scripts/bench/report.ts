/** BENCHMARKS.md: each bench owns one `## <Title>` section and replaces only that one. */
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { ROOT } from "./agent-binary.ts"

export const BENCHMARKS_MD = join(ROOT, "BENCHMARKS.md")

/**
 * Replaces the `## <title>` section of the Markdown file at `path` with `section` (which starts
 * with that heading), or appends it. The file is re-read right before writing: the other sections
 * belong to other people.
 */
export const writeSection = (path: string, title: string, section: string): void => {
  const current = existsSync(path) ? readFileSync(path, "utf8") : ""
  const lines = current.split("\n")
  const heading = new RegExp(`^## ${title.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\s*$`)
  const start = lines.findIndex((l) => heading.test(l))
  let next: string
  if (start < 0) {
    next = current === "" ? `# Benchmarks\n\n${section}\n` : `${current.replace(/\n*$/, "\n")}\n${section}\n`
  } else {
    let end = lines.findIndex((l, i) => i > start && /^## /.test(l))
    if (end < 0) end = lines.length
    const head = lines.slice(0, start).join("\n")
    const tail = lines.slice(end).join("\n")
    next = `${head.replace(/\n*$/, "\n\n")}${section}\n${tail === "" ? "" : `\n${tail}`}`
  }
  writeFileSync(path, next.replace(/\n{3,}/g, "\n\n"))
}
