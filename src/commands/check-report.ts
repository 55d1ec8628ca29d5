/**
 * The lines of `cloudmap-haproxy check`: one per item, passed (✓), failed (✗, with the fix) or
 * skipped (-, with the reason: an earlier item it needs failed, or there is nothing to try it
 * on). The exit code is 0 only when nothing failed. Pure.
 */

export type CheckLine =
  | { readonly _tag: "Pass"; readonly item: string; readonly detail?: string }
  | { readonly _tag: "Fail"; readonly item: string; readonly problem: string; readonly fix: string }
  | { readonly _tag: "Skip"; readonly item: string; readonly reason: string }

export const pass = (item: string, detail?: string): CheckLine =>
  detail === undefined ? { _tag: "Pass", item } : { _tag: "Pass", item, detail }

export const fail = (item: string, problem: string, fix: string): CheckLine => ({ _tag: "Fail", item, problem, fix })

export const skip = (item: string, reason: string): CheckLine => ({ _tag: "Skip", item, reason })

export const formatLine = (line: CheckLine): string => {
  switch (line._tag) {
    case "Pass":
      return `✓ ${line.item}${line.detail === undefined ? "" : ` (${line.detail})`}`
    case "Fail":
      return `✗ ${line.item}: ${line.problem}. Fix: ${line.fix}`
    case "Skip":
      return `- ${line.item}: skipped: ${line.reason}`
  }
}

/** 0 when no line failed, else 1. */
export const checkExitCode = (lines: ReadonlyArray<CheckLine>): number => (lines.some((l) => l._tag === "Fail") ? 1 : 0)

export const summary = (lines: ReadonlyArray<CheckLine>): string => {
  const count = (tag: CheckLine["_tag"]) => lines.filter((l) => l._tag === tag).length
  return `${count("Pass")} passed, ${count("Fail")} failed, ${count("Skip")} skipped`
}

/** `"2.6.12-1+deb12u4"` → [2, 6]; undefined when it does not start with major.minor. */
export const majorMinor = (version: string): readonly [number, number] | undefined => {
  const m = /^(\d+)\.(\d+)/.exec(version)
  return m === null ? undefined : [Number(m[1]), Number(m[2])]
}

/** The HAProxy the agent needs at least. */
export const MIN_HAPROXY: readonly [number, number] = [2, 6]

export const haproxyRecentEnough = (version: string): boolean => {
  const v = majorMinor(version)
  return v !== undefined && (v[0] > MIN_HAPROXY[0] || (v[0] === MIN_HAPROXY[0] && v[1] >= MIN_HAPROXY[1]))
}
