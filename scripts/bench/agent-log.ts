/**
 * Where a bench puts the agent's output: the whole log in a file (kept with the run), its last
 * lines for error messages, and the warning and error lines for the report.
 */
import { createWriteStream } from "node:fs"

export interface AgentLog {
  /** Hand this to `spawnAgent`'s `onOutput`. */
  readonly write: (chunk: Buffer) => void
  readonly path: string
  /** The last lines (at most `keep`), joined. */
  readonly lastLines: () => string
  /** Warning and error lines (JSON `"level"`), first ones, each cut at 400 characters. */
  readonly problems: () => ReadonlyArray<string>
  readonly close: () => Promise<void>
}

const PROBLEM = /"level":"(WARN|ERROR|FATAL|warn|error|fatal)"/

export const agentLog = (path: string, keep = 40, maxProblems = 200): AgentLog => {
  const file = createWriteStream(path)
  const last: Array<string> = []
  const problems: Array<string> = []
  let partial = ""
  return {
    path,
    write: (chunk) => {
      file.write(chunk)
      const lines = (partial + chunk.toString()).split("\n")
      partial = lines.pop() ?? ""
      for (const line of lines) {
        if (line === "") continue
        last.push(line)
        if (PROBLEM.test(line) && problems.length < maxProblems) problems.push(line.slice(0, 400))
      }
      if (last.length > keep) last.splice(0, last.length - keep)
    },
    lastLines: () => [...last, partial].filter(Boolean).join("\n"),
    problems: () => problems,
    close: () => new Promise<void>((done) => file.end(() => done()))
  }
}
