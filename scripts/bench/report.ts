/** BENCHMARKS.md: each bench owns one `## <Title>` section and replaces only that one. */
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { ROOT } from "./agent-binary.ts"

export const BENCHMARKS_MD = join(ROOT, "BENCHMARKS.md")

const headingOf = (title: string) => new RegExp(`^## ${title.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\s*$`)

/** The line index where the section starting at `start` ends (the next `## ` heading, or the end). */
const sectionEnd = (lines: ReadonlyArray<string>, start: number): number => {
  const end = lines.findIndex((l, i) => i > start && /^## /.test(l))
  return end < 0 ? lines.length : end
}

/**
 * Replaces the `## <title>` section of the Markdown file at `path` with `section` (which starts
 * with that heading). A new section goes right after the `## <after>` section when `after` is
 * given and present (a list: the first of them present), otherwise at the end. The file is
 * re-read right before writing: the other sections belong to other people.
 */
export const writeSection = (path: string, title: string, section: string, after?: string | ReadonlyArray<string>): void => {
  const current = existsSync(path) ? readFileSync(path, "utf8") : ""
  const lines = current.split("\n")
  const start = lines.findIndex((l) => headingOf(title).test(l))
  const afters = after === undefined ? [] : typeof after === "string" ? [after] : after
  const afterStart = afters.map((a) => lines.findIndex((l) => headingOf(a).test(l))).find((i) => i >= 0) ?? -1
  let next: string
  if (start < 0 && afterStart >= 0) {
    const end = sectionEnd(lines, afterStart)
    const head = lines.slice(0, end).join("\n")
    const tail = lines.slice(end).join("\n")
    next = `${head.replace(/\n*$/, "\n\n")}${section}\n${tail === "" ? "" : `\n${tail}`}`
  } else if (start < 0) {
    next = current === "" ? `# Benchmarks\n\n${section}\n` : `${current.replace(/\n*$/, "\n")}\n${section}\n`
  } else {
    const end = sectionEnd(lines, start)
    const head = lines.slice(0, start).join("\n")
    const tail = lines.slice(end).join("\n")
    next = `${head.replace(/\n*$/, "\n\n")}${section}\n${tail === "" ? "" : `\n${tail}`}`
  }
  writeFileSync(path, next.replace(/\n{3,}/g, "\n\n"))
}
