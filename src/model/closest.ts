/**
 * The known name closest to a mistyped one (edit distance), for "did you mean" hints in errors
 * about unknown option keys, flags and NAMESPACE_MAP keys. Pure.
 */

/** Levenshtein distance (insertions, deletions, substitutions), case-sensitive. */
export const editDistance = (a: string, b: string): number => {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    previous = current
  }
  return previous[b.length]!
}

/**
 * The candidate nearest to `name` when it is near enough to be a typo (at most a third of its
 * length, and at most 3 edits, case ignored); ties go to the first candidate. Undefined otherwise.
 */
export const closest = (name: string, candidates: ReadonlyArray<string>): string | undefined => {
  const limit = Math.min(3, Math.max(1, Math.floor(name.length / 3)))
  let best: string | undefined
  let bestDistance = Number.POSITIVE_INFINITY
  for (const candidate of candidates) {
    const d = editDistance(name.toLowerCase(), candidate.toLowerCase())
    if (d < bestDistance) {
      best = candidate
      bestDistance = d
    }
  }
  return bestDistance <= limit ? best : undefined
}
