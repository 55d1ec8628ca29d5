/**
 * deploy/ is a package of its own: its CDK dependencies never reach the agent's package, its
 * source, or the image's build context.
 */
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { expect, it } from "vitest"

const ROOT = new URL("../..", import.meta.url).pathname
const json = (file: string) => JSON.parse(readFileSync(join(ROOT, file), "utf8"))
const CDK = ["aws-cdk-lib", "constructs", "cdk-nag"]

it("deploy/ has its own package.json and lock with aws-cdk-lib v2, constructs and cdk-nag", () => {
  const pkg = json("deploy/package.json")
  expect(pkg.private).toBe(true)
  expect(pkg.dependencies["aws-cdk-lib"]).toMatch(/^\^2\./)
  for (const name of CDK) expect(pkg.dependencies[name], name).toBeDefined()
  const lock = json("deploy/package-lock.json")
  for (const name of CDK) expect(lock.packages[`node_modules/${name}`]?.version, name).toBeDefined()
})

it("the agent's package, lock and source name none of deploy/'s dependencies", () => {
  const pkg = json("package.json")
  for (const name of CDK) {
    expect({ ...pkg.dependencies, ...pkg.devDependencies }[name], name).toBeUndefined()
    expect(json("package-lock.json").packages[`node_modules/${name}`], name).toBeUndefined()
  }
  const sources = readdirSync(join(ROOT, "src"), { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts"))
  for (const f of sources) expect(readFileSync(join(ROOT, "src", f), "utf8"), f).not.toMatch(/from "(aws-cdk-lib|constructs|cdk-nag)|deploy\//)
})

it("the image's build context leaves deploy/ out", () => {
  expect(readFileSync(join(ROOT, ".dockerignore"), "utf8").split("\n")).toContain("deploy")
})
