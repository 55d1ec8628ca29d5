/**
 * A small Dockerfile reader for the packaging tests: joins continuation lines, drops comments,
 * splits into stages and substitutes ARG defaults declared before the first FROM.
 */
export interface Instruction {
  readonly keyword: string
  /** Everything after the keyword, continuations joined with a space. */
  readonly args: string
  readonly line: number
}

export interface Stage {
  /** The image after ARG substitution, e.g. `haproxy:3.2.21-trixie`. */
  readonly image: string
  readonly name: string | undefined
  readonly instructions: ReadonlyArray<Instruction>
}

export interface Dockerfile {
  readonly globalArgs: ReadonlyMap<string, string>
  readonly stages: ReadonlyArray<Stage>
}

export const parseInstructions = (text: string): Array<Instruction> => {
  const out: Array<Instruction> = []
  const lines = text.split("\n")
  let buffer = ""
  let start = 0
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!
    const trimmed = raw.trim()
    if (buffer === "" && (trimmed === "" || trimmed.startsWith("#"))) continue
    if (buffer !== "" && trimmed.startsWith("#")) continue // comment inside a continued RUN
    if (buffer === "") start = i + 1
    if (trimmed.endsWith("\\")) {
      buffer += trimmed.slice(0, -1).trim() + " "
      continue
    }
    buffer += trimmed
    const match = /^(\S+)\s*(.*)$/s.exec(buffer)!
    out.push({ keyword: match[1]!.toUpperCase(), args: match[2]!.trim(), line: start })
    buffer = ""
  }
  if (buffer !== "") throw new Error(`Dockerfile ends inside a continued line (from line ${start})`)
  return out
}

const substitute = (value: string, args: ReadonlyMap<string, string>): string =>
  value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (whole, a, b) => args.get(a ?? b) ?? whole)

export const parseDockerfile = (text: string): Dockerfile => {
  const instructions = parseInstructions(text)
  const globalArgs = new Map<string, string>()
  const stages: Array<{ image: string; name: string | undefined; instructions: Array<Instruction> }> = []
  for (const ins of instructions) {
    if (ins.keyword === "FROM") {
      const [image, as, name] = ins.args.split(/\s+/)
      stages.push({
        image: substitute(image!, globalArgs),
        name: as?.toUpperCase() === "AS" ? name : undefined,
        instructions: []
      })
    } else if (stages.length === 0) {
      if (ins.keyword !== "ARG") throw new Error(`line ${ins.line}: only ARG may come before FROM`)
      const [key, value] = ins.args.split("=", 2)
      if (value !== undefined) globalArgs.set(key!, value)
    } else {
      stages[stages.length - 1]!.instructions.push(ins)
    }
  }
  return { globalArgs, stages }
}

/** The JSON (exec) form of ENTRYPOINT/CMD/HEALTHCHECK CMD; throws on the shell form. */
export const execForm = (args: string): Array<string> => {
  const parsed: unknown = JSON.parse(args)
  if (!Array.isArray(parsed) || !parsed.every((x) => typeof x === "string")) throw new Error(`not an exec form: ${args}`)
  return parsed
}

export const last = (stage: Stage, keyword: string): Instruction | undefined =>
  stage.instructions.filter((i) => i.keyword === keyword).at(-1)

export const all = (stage: Stage, keyword: string): Array<Instruction> =>
  stage.instructions.filter((i) => i.keyword === keyword)
