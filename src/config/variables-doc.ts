/**
 * The variable table for people: the README's configuration table (rewritten by
 * `npm run docs:config`, checked by test/readme.test.ts) and the lists every command's `--help` prints.
 * Both come from VARIABLES, so a default or a meaning is written once, in ./variables.ts.
 */
import { VARIABLES } from "./agent-config.ts"
import { wrapWords } from "./flags.ts"
import type { Variables } from "./variables.ts"

/** The first line of the README's configuration table. */
export const README_TABLE_HEADER = "| variable | default | meaning |"

const cell = (text: string): string => text.replace(/\|/g, "\\|")

/** The README's configuration table, one line per variable. */
export const readmeConfigTable = (): string =>
  [README_TABLE_HEADER, "|---|---|---|", ...VARIABLES.map((v) => `| \`${v.name}\` | ${cell(v.default)} | ${cell(v.meaning)} |`)]
    .join("\n") + "\n"

/** `readme` with its configuration table (the header line and every table line after it) replaced. */
export const withReadmeConfigTable = (readme: string): string => {
  const lines = readme.split("\n")
  const start = lines.indexOf(README_TABLE_HEADER)
  if (start === -1) throw new Error(`README.md has no line "${README_TABLE_HEADER}"`)
  let end = start
  while (end < lines.length && lines[end]!.startsWith("|")) end++
  return [...lines.slice(0, start), ...readmeConfigTable().trimEnd().split("\n"), ...lines.slice(end)].join("\n")
}

/**
 * Variables for a terminal (every one, or those of `keys`): name and default on one line, the
 * meaning wrapped below it.
 */
export const variablesHelp = (width = 80, keys?: ReadonlyArray<keyof Variables>): string => {
  const shown = keys === undefined ? VARIABLES : VARIABLES.filter((v) => keys.includes(v.key))
  if (shown.length === 0) return "Environment variables: none\n"
  const lines = ["Environment variables:"]
  for (const v of shown) {
    const fallback = v.default.startsWith("required") ? v.default : `default: ${v.default}`
    lines.push(`  ${v.name} (${fallback})`, ...wrapWords(v.meaning, width - 6).map((l) => `      ${l}`))
  }
  return lines.join("\n") + "\n"
}
