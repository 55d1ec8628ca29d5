/** The scale run's shared state: its clock and progress lines, its work directory, its cleanups. */
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { timestamped } from "../bench/log.ts"
import { Cleanups } from "../bench/process.ts"

/** A progress line on stdout: `[  12s] …`. */
export const say = timestamped(Date.now())
/** Agent logs and raw results of this run; kept after the run (its path is printed). */
export const WORK = mkdtempSync(join(tmpdir(), "bench-scale-"))
export const cleanups = new Cleanups()
