/**
 * A bad environment stops every command that reads it with exit 78 and each problem printed once,
 * naming the variable and what it expects: on stderr, nothing on stdout; `check` prints its report
 * (one line per item, the problems among them) on stdout and nothing more.
 */
import { spawnSync } from "node:child_process"
import { join } from "node:path"
import { expect, it } from "vitest"
import { BUN, ROOT } from "../support/agent.ts"

const BAD = {
  AWS_REGION: "us-east-1",
  NAMESPACE_MAP: "[{\"namespace\":\"apps\",\"domainname\":\"apps.test\",\"mdoe\":\"path\"}]",
  LISTEN_PORT: "99999",
  STATS_ENABLED: "false",
  METRICS_ENABLED: "false"
}

it.each(["run", "render", "config", "check"])("%s: every configuration error printed once, exit 78", (command) => {
  const r = spawnSync(BUN, [join(ROOT, "src/main.ts"), command], {
    env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "/root", ...BAD },
    encoding: "utf8",
    timeout: 20_000
  })
  const output = r.stdout + r.stderr
  expect(r.status, output).toBe(78)
  if (command !== "check") expect(r.stdout).toBe("")
  const lines = output.split("\n")
  expect(lines.filter((l) => l.includes("NAMESPACE_MAP")).length, output).toBe(1)
  expect(lines.filter((l) => l.includes("LISTEN_PORT")).length, output).toBe(1)
  expect(output).toContain("did you mean \"mode\"?")
})
