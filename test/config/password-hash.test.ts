/**
 * The userlist hashes are light enough for HAProxy to verify on every request: SHA-512-crypt at
 * 1,000 rounds (HAProxy 3.4 warns about hashes that take 10 ms or more; the default 5,000 rounds
 * reached that on a loaded machine). The expected value is glibc's crypt(3) output
 * (`openssl passwd -6 -rounds 1000 -salt somesalt secret`), the function HAProxy calls.
 */
import { Redacted } from "effect"
import { describe, expect, it } from "vitest"
import { sha512Crypt } from "../../src/config/password-hash.ts"

describe("sha512Crypt", () => {
  it("hashes at 1,000 rounds, the same as glibc's crypt(3)", () => {
    expect(sha512Crypt(Redacted.make("secret"), "somesalt")).toBe(
      "$6$rounds=1000$somesalt$sG2CgP/G77CW5hH.43hUvIrpmMRs5RVNvOAsHtUzZ.Q3cMJkdokVTwmYfkuDdCgHqpOl4ilmdi7CCajxXR.fE0"
    )
  })

  it("draws a new 16-character salt per call", () => {
    const a = sha512Crypt(Redacted.make("secret"))
    const b = sha512Crypt(Redacted.make("secret"))
    expect(a).toMatch(/^\$6\$rounds=1000\$[./A-Za-z0-9]{16}\$[./A-Za-z0-9]{86}$/)
    expect(a).not.toBe(b)
  })
})
