/** The footprint run's shared state: its work directory (removed at the end), its cleanups, its log. */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { toStderr } from "../bench/log.ts"
import { Cleanups } from "../bench/process.ts"

/** Progress goes to stderr; stdout carries the report. */
export const log = toStderr
export const workRoot = mkdtempSync(join(tmpdir(), "cmh-bench-"))
export const cleanups = new Cleanups()
cleanups.add(() => rmSync(workRoot, { recursive: true, force: true }))
