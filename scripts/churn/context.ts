/** The churn run's shared state: its clock and progress lines, its work directory, its cleanups. */
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { timestamped } from "../bench/log.ts"
import { Cleanups } from "../bench/process.ts"

export const started = Date.now()
/** A progress line on stdout: `[  12s] …`. */
export const say = timestamped(started)
/** Logs and raw results of this run; kept after the run (its path is printed). */
export const WORK = mkdtempSync(join(tmpdir(), "bench-churn-"))
export const cleanups = new Cleanups()
