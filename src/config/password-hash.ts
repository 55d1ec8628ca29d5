/**
 * SHA-512-crypt (`$6$`) hashes for HAProxy userlists, so the plaintext password never reaches
 * a file. The salt is random per agent start: the rendered file stays identical within a run.
 *
 * HAProxy verifies the hash on every request that carries credentials, so it uses 1,000 rounds
 * (the scheme's minimum; 0.4 ms here) rather than the default 5,000 (2.3 ms). HAProxy 3.4 warns
 * at parse time about any hash that takes 10 ms or more to verify; the default reached that on a
 * loaded 2-CPU machine, so every `haproxy -c` of the agent printed the warning.
 */
import { randomBytes } from "node:crypto"
import { Redacted } from "effect"
import { encrypt } from "unixcrypt"

const SALT_ALPHABET = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

const randomSalt = (): string =>
  Array.from(randomBytes(16), (b) => SALT_ALPHABET[b % SALT_ALPHABET.length]).join("")

/** SHA-512-crypt rounds: the minimum the scheme allows. */
export const SHA512_CRYPT_ROUNDS = 1000

export const sha512Crypt = (password: Redacted.Redacted<string>, salt: string = randomSalt()): string =>
  encrypt(Redacted.value(password), `$6$rounds=${SHA512_CRYPT_ROUNDS}$${salt}`)
