/**
 * Out of file descriptors, the agent's Cloud Map calls say so, on both of its HTTP paths: the SDK's
 * (node:http, which under Bun reports `connect ECONNREFUSED`) and fetch (which says EMFILE, "Was
 * there a typo in the url or port?"). Run for real: a child process under `ulimit -n 64`.
 */
import { execFile } from "node:child_process"
import { promisify } from "node:util"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { demoFixture } from "../../src/mock/fixture.ts"
import { type MockCloudMapHandle, startMockCloudMap } from "../../src/mock/server.ts"
import { BUN, ROOT } from "../support/agent.ts"

let mock: MockCloudMapHandle
beforeAll(async () => {
  mock = await startMockCloudMap({ port: 0, fixture: demoFixture })
})
afterAll(async () => {
  await mock?.close()
})

describe("Cloud Map calls out of file descriptors", () => {
  it("name the cause on the SDK's path and on fetch's, and work with descriptors to spare", async () => {
    const script = join(ROOT, "test/cloudmap/fixtures/out-of-descriptors.ts")
    // Not execFileSync: the mock answers from this process's event loop.
    const { stdout: out } = await promisify(execFile)("bash", ["-c", `ulimit -n 64 && exec "${BUN}" "${script}" "${mock.url}"`], { encoding: "utf8", timeout: 30_000 })
    const lines = out.trim().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l))
    const spare = lines.filter((l) => l.label === "spare")
    expect(spare.find((l) => l.operation === "ListNamespaces"), out).toMatchObject({ ok: true })
    // The service does not exist: Cloud Map's answer, not a connection failure.
    expect(spare.find((l) => l.operation === "GetServiceAttributes")).toMatchObject({ ok: false, code: "ServiceNotFound" })
    const exhausted = lines.filter((l) => l.label === "exhausted")
    expect(exhausted.map((l) => l.operation).sort()).toEqual(["GetServiceAttributes", "ListNamespaces"])
    for (const l of exhausted) {
      expect(l, JSON.stringify(l)).toMatchObject({ ok: false, code: "EMFILE" })
      expect(l.message).toContain("run out of file descriptors")
      expect(l.message).not.toContain("typo")
    }
  })
})
