/** The benches' one door to src/apply/files.ts: the agent's atomic writer for a set of files. */
import { Effect } from "effect"
import { writeFileSet } from "../../../src/apply/files.ts"

/** Writes every file into `dir` (each in full to a temporary name, then renamed); throws on failure. */
export const writeFilesAtomically = (dir: string, files: Readonly<Record<string, string>>): void =>
  Effect.runSync(writeFileSet(dir, files))
