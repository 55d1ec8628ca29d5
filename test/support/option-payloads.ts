/**
 * The injection corpus (test/render/injection.test.ts) carried over to the per-service options:
 * hostile values and key suffixes for attributes under `haproxy.`. Every one is invalid for
 * every option (except that `0x10`, `1e3` and `-5s`, aimed at the number and duration parsers,
 * are fine cookie names), so each must be ignored with a reason and none may reach haproxy.cfg.
 */

/** Values for service attributes (any string Cloud Map stores: control characters included). */
export const HOSTILE_VALUES: ReadonlyArray<string> = [
  "1s\n    server evil 10.9.9.9:80",
  "http\nlisten pwn\n    bind 127.0.0.1:8094\n    stats enable\n    stats admin if TRUE",
  "/health HTTP/1.0\r\nHost: evil.example",
  "/ok\n    http-request redirect location https://evil.example",
  "/ok#comment",
  "/ok backup",
  "/ok?q=%[src]",
  "500ms backup",
  "roundrobin;del server x/y",
  "leastconn\u0000",
  "%[req.hdr(x-evil)]",
  "/${HOME}",
  "'quoted-evil'",
  "\"dq-evil\"",
  "evil\\x",
  "évil",
  "ｗｅｂ",
  "evil\u2028line",
  "9".repeat(1000),
  "0x10",
  "1e3",
  "-5s",
  "evil.example.test.attacker.net,x.example.test",
  " roundrobin",
  "200-399 backup"
]

/** Values for the instance attribute `haproxy.weight` (Cloud Map allows printable ASCII only here). */
export const HOSTILE_WEIGHTS: ReadonlyArray<string> = [
  "3 backup",
  "1;set server x/y state maint",
  "-1",
  "257",
  "0x10",
  "2.5",
  "1e2",
  "%[src]",
  "3#x",
  "${W}"
]

/**
 * Values specific enough that finding one in haproxy.cfg means it got there: a character outside
 * what a config holds anyway, or long. (Short ones such as `1e3` could occur by chance in a
 * random temp directory name or password hash; the per-key reports cover those.)
 */
export const distinctive = (value: string): boolean => value.length >= 12 || /[^A-Za-z0-9.\/-]/.test(value)
