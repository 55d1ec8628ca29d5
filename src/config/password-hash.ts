/**
 * SHA-512-crypt (`$6$`) hashes for HAProxy userlists, so the plaintext password never reaches
 * a file. The salt is random per agent start: the rendered file stays identical within a run.
 */
import { randomBytes } from "node:crypto"
import { Redacted } from "effect"
import { encrypt } from "unixcrypt"

const SALT_ALPHABET = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

const randomSalt = (): string =>
  Array.from(randomBytes(16), (b) => SALT_ALPHABET[b % SALT_ALPHABET.length]).join("")

export const sha512Crypt = (password: Redacted.Redacted<string>, salt: string = randomSalt()): string =>
  encrypt(Redacted.value(password), `$6$${salt}`)
