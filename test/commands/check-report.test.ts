/** The lines of `cloudmap-haproxy check`, its exit code and the HAProxy version rule. */
import { describe, expect, it } from "vitest"
import { checkExitCode, fail, formatLine, haproxyRecentEnough, majorMinor, pass, skip, summary } from "../../src/commands/check-report.ts"

describe("check lines", () => {
  it("one line per item: ✓ with a detail, ✗ with the problem and the fix, - with the reason", () => {
    expect(formatLine(pass("CONFIG_DIR writable", "/var/lib/x"))).toBe("✓ CONFIG_DIR writable (/var/lib/x)")
    expect(formatLine(pass("AWS credentials found"))).toBe("✓ AWS credentials found")
    expect(formatLine(fail("HEALTH_PORT free", "in use", "stop it"))).toBe("✗ HEALTH_PORT free: in use. Fix: stop it")
    expect(formatLine(skip("servicediscovery:DiscoverInstances allowed", "no service"))).toBe(
      "- servicediscovery:DiscoverInstances allowed: skipped: no service"
    )
  })

  it("exit 0 only when no item failed (skipped items do not fail)", () => {
    expect(checkExitCode([pass("a"), skip("b", "no service")])).toBe(0)
    expect(checkExitCode([pass("a"), fail("b", "x", "y")])).toBe(1)
    expect(summary([pass("a"), fail("b", "x", "y"), skip("c", "z"), pass("d")])).toBe("2 passed, 1 failed, 1 skipped")
  })
})

describe("HAProxy version", () => {
  it.each([
    ["2.6.12-1+deb12u4", true],
    ["2.6.0", true],
    ["2.8.5", true],
    ["3.0.0-dev1", true],
    ["2.5.14", false],
    ["1.8.30", false],
    ["unknown", false]
  ] as const)("%s: 2.6 or later is %s", (version, ok) => {
    expect(haproxyRecentEnough(version)).toBe(ok)
  })

  it("reads major.minor", () => {
    expect(majorMinor("2.10.1")).toEqual([2, 10])
    expect(majorMinor("x2.6")).toBeUndefined()
  })
})
