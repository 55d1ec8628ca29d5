/** editDistance (Levenshtein) and closest (the "did you mean" hint for mistyped names). */
import { describe, expect, it } from "vitest"
import { closest, editDistance, typoDistance } from "../../src/model/closest.ts"

describe("editDistance", () => {
  it.each([
    ["", "", 0],
    ["", "abc", 3],
    ["abc", "", 3],
    ["abc", "abc", 0],
    ["kitten", "sitting", 3],
    ["flaw", "lawn", 2],
    ["check", "chek", 1], // deletion
    ["chek", "check", 1], // insertion
    ["check", "chack", 1], // substitution
    ["ab", "ba", 2], // a transposition is two edits (no Damerau)
    ["haproxy.timeout.sever", "haproxy.timeout.server", 1]
  ] as const)("%j -> %j is %i", (a, b, d) => {
    expect(editDistance(a, b)).toBe(d)
    expect(editDistance(b, a)).toBe(d)
  })

  it("is case-sensitive", () => {
    expect(editDistance("Check", "check")).toBe(1)
    expect(editDistance("CHECK", "check")).toBe(5)
  })

  it("counts UTF-16 code units", () => {
    expect(editDistance("é", "e")).toBe(1)
    expect(editDistance("😀", "")).toBe(2)
  })
})

describe("closest", () => {
  const known = ["haproxy.check", "haproxy.check.path", "haproxy.cookie", "haproxy.hosts"]

  it("suggests the nearest candidate for a typo", () => {
    expect(closest("haproxy.chek", known)).toBe("haproxy.check")
    expect(closest("haproxy.check.pth", known)).toBe("haproxy.check.path")
    expect(closest("haproxy.cokie", known)).toBe("haproxy.cookie")
    expect(closest("haproxy.host", known)).toBe("haproxy.hosts")
  })

  it("an exact match is its own suggestion", () => {
    expect(closest("haproxy.hosts", known)).toBe("haproxy.hosts")
  })

  it("ignores case when measuring, and returns the candidate as spelled", () => {
    expect(closest("HAPROXY.CHECK", known)).toBe("haproxy.check")
    expect(closest("abc", ["ABD"])).toBe("ABD")
  })

  it("threshold: at most a third of the name's length, at least 1 and at most 3 edits", () => {
    // 2 characters: the limit is 1.
    expect(closest("ab", ["ax"])).toBe("ax")
    expect(closest("ab", ["xy"])).toBeUndefined()
    // 6 characters: the limit is 2.
    expect(closest("abcdef", ["abcdxy"])).toBe("abcdxy")
    expect(closest("abcdef", ["abcxyz"])).toBeUndefined()
    // 9 characters: the limit is 3.
    expect(closest("abcdefghi", ["abcdefxyz"])).toBe("abcdefxyz")
    expect(closest("abcdefghi", ["abcdewxyz"])).toBeUndefined()
    // Long names: still at most 3.
    const long = "a".repeat(30)
    expect(closest(long, ["a".repeat(27) + "bbb"])).toBe("a".repeat(27) + "bbb")
    expect(closest(long, ["a".repeat(26) + "bbbb"])).toBeUndefined()
  })

  it("the limit is measured on the name typed, not on the candidate", () => {
    // "abc" allows 1 edit however long the candidate is; "abcdef" allows 2.
    expect(closest("abc", ["abcd"])).toBe("abcd")
    expect(closest("abc", ["abcde"])).toBeUndefined()
    expect(closest("abcde", ["abc"])).toBeUndefined()
    expect(closest("abcdef", ["abcd"])).toBe("abcd")
  })

  it("ties go to the first candidate", () => {
    expect(closest("abc", ["abd", "abe"])).toBe("abd")
    expect(closest("abc", ["abe", "abd"])).toBe("abe")
    // A nearer candidate later in the list still wins.
    expect(closest("abcdef", ["abcdxx", "abcdex"])).toBe("abcdex")
  })

  it("nothing near, or no candidates at all: undefined", () => {
    expect(closest("haproxy.zzzzzzzz", known)).toBeUndefined()
    expect(closest("anything", [])).toBeUndefined()
    expect(closest("", [])).toBeUndefined()
  })

  it("two swapped neighbours count as one edit (\"mdoe\" → \"mode\")", () => {
    expect(typoDistance("mdoe", "mode")).toBe(1)
    expect(typoDistance("ab", "ba")).toBe(1)
    expect(typoDistance("kitten", "sitting")).toBe(3)
    expect(closest("mdoe", ["namespace", "domainname", "mode"])).toBe("mode")
    expect(closest("chekc", ["run", "check", "config"])).toBe("check")
    // Still a typo of the name typed, not any anagram.
    expect(closest("edom", ["mode"])).toBeUndefined()
  })

  it("an empty name is near a one-character candidate only", () => {
    expect(closest("", ["a"])).toBe("a")
    expect(closest("", ["ab"])).toBeUndefined()
  })
})
