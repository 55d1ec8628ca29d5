/**
 * The Dockerfile agrees with the binary it packages: the config directory it creates is the
 * agent's default CONFIG_DIR, EXPOSE matches the default ports, the copied artefact is what
 * `npm run build` writes, the container runs unprivileged, stops with SIGTERM and health-checks
 * with the `healthcheck` subcommand. Nothing here is hard-coded from the agent's side: defaults
 * come from src/config/agent-config.ts and the build output from package.json.
 */
import { readdirSync, readFileSync } from "node:fs"
import { basename, dirname, posix } from "node:path"
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { COMMANDS } from "../../src/commands/dispatch.ts"
import { readAgentConfig, VARIABLES } from "../../src/config/agent-config.ts"
import { all, execForm, last, parseDockerfile, type Stage } from "./dockerfile.ts"

const ROOT = new URL("../..", import.meta.url).pathname
const dockerfile = parseDockerfile(readFileSync(`${ROOT}/Dockerfile`, "utf8"))
const pkg = JSON.parse(readFileSync(`${ROOT}/package.json`, "utf8")) as { scripts: Record<string, string> }

/** The agent's defaults: a minimal valid environment, everything else left to the defaults. */
const defaults = (() => {
  const result = readAgentConfig({
    AWS_REGION: "us-east-1",
    NAMESPACE_MAP: JSON.stringify([{ namespace: "apps", domainname: "example.com" }]),
    STATS_ENABLED: "false",
    METRICS_ENABLED: "false"
  })
  if (Result.isFailure(result)) throw new Error(`minimal environment rejected: ${JSON.stringify(result.failure)}`)
  return result.success
})()

const finalStage = dockerfile.stages.at(-1)!
const buildStage = dockerfile.stages.find((s) => s.name === "build")
const runs = (stage: Stage) => all(stage, "RUN").map((i) => i.args)

const outfile = (() => {
  const match = /--outfile\s+(\S+)/.exec(pkg.scripts.build ?? "")
  if (match === null) throw new Error("package.json's build script has no --outfile")
  return match[1]!
})()

/** `COPY --from=build <src> <dest>` in the final stage. */
const copyFromBuild = (() => {
  const copies = all(finalStage, "COPY").filter((c) => /--from=build\b/.test(c.args))
  if (copies.length !== 1) throw new Error(`expected one COPY --from=build in the final stage, found ${copies.length}`)
  const paths = copies[0]!.args.split(/\s+/).filter((t) => !t.startsWith("--"))
  if (paths.length !== 2) throw new Error(`COPY --from=build should name one source and one destination: ${copies[0]!.args}`)
  return { src: paths[0]!, dest: paths[1]! }
})()

describe("Dockerfile", () => {
  it("has a build stage and a final stage", () => {
    expect(dockerfile.stages).toHaveLength(2)
    expect(buildStage).toBeDefined()
    expect(finalStage.name).toBeUndefined()
  })

  it("pins both base images to a release tag (no latest, no bare major), a digest only next to its tag", () => {
    for (const stage of dockerfile.stages) {
      expect(stage.image, "ARG substitution left a variable").not.toMatch(/\$/)
      const [named, digest] = stage.image.split("@")
      const [repo, tag] = named!.split(":")
      expect(tag, `${stage.image} has no tag`).toBeDefined()
      expect(tag).not.toMatch(/latest|lts/)
      expect(tag, `${stage.image}: pin major.minor.patch`).toMatch(/^\d+\.\d+\.\d+(-[a-z0-9.-]+)?$/)
      expect(repo).toMatch(/^[a-z0-9./-]+$/)
      if (digest !== undefined) expect(digest, `${stage.image}: a digest is sha256:<64 hex>`).toMatch(/^sha256:[0-9a-f]{64}$/)
    }
  })

  it("runs on the official HAProxy image, an LTS release from 3.4 on (runtime backends), Debian-based", () => {
    const match = /^haproxy:(\d+)\.(\d+)\.(\d+)(-[a-z]+)?$/.exec(finalStage.image)
    expect(match, finalStage.image).not.toBeNull()
    expect(Number(match![1])).toBe(3)
    expect(Number(match![2]), "3.4 is the first line that adds backends at runtime").toBeGreaterThanOrEqual(4)
    expect(Number(match![2]) % 2, "LTS branches have an even minor version").toBe(0)
    expect(finalStage.image).not.toContain("alpine") // the bun binary is linked against glibc
  })

  it("builds with npm ci and npm run build, and smoke-tests the binary", () => {
    const buildRuns = runs(buildStage!)
    expect(buildRuns.some((r) => /\bnpm ci\b/.test(r))).toBe(true)
    // The development tools (Node, Deno, test tools: most of npm ci's 600 MB) stay out: runtime
    // dependencies and bun at the lock's version only.
    const install = buildRuns.find((r) => /\bnpm ci\b/.test(r))!
    expect(install).toMatch(/npm ci --omit=dev\b/)
    expect(install).toContain("bun@$(node -p \"require('./package-lock.json').packages['node_modules/bun'].version\")")
    const build = buildRuns.find((r) => /\bnpm run build\b/.test(r))
    expect(build).toBeDefined()
    expect(build).toContain(`./${outfile} version`)
    expect(buildStage!.image).toMatch(/^node:22\./)
  })

  it("copies exactly the artefact package.json's build --outfile writes", () => {
    const workdir = last(buildStage!, "WORKDIR")?.args
    expect(workdir).toBeDefined()
    expect(copyFromBuild.src).toBe(posix.join(workdir!, outfile))
    expect(copyFromBuild.dest).toBe("/usr/local/bin/cloudmap-haproxy")
    // Only the binary: no other COPY in the final stage.
    expect(all(finalStage, "COPY")).toHaveLength(1)
  })

  it("ENTRYPOINT is the copied binary and CMD is `run`", () => {
    const entrypoint = execForm(last(finalStage, "ENTRYPOINT")!.args)
    expect(entrypoint).toHaveLength(1)
    const bin = entrypoint[0]!
    // Either the absolute path, or its name resolved through PATH (/usr/local/bin is in it).
    expect([copyFromBuild.dest, basename(copyFromBuild.dest)]).toContain(bin)
    if (!bin.startsWith("/")) expect(dirname(copyFromBuild.dest)).toBe("/usr/local/bin")
    expect(execForm(last(finalStage, "CMD")!.args)).toEqual(["run"])
  })

  it("creates the agent's default CONFIG_DIR, owned by the user it runs as", () => {
    expect(VARIABLES.find((v) => v.name === "CONFIG_DIR")?.default).toBe(defaults.configDir)
    const user = last(finalStage, "USER")!.args
    const creating = runs(finalStage).filter((r) => r.split(/\s+/).includes(defaults.configDir))
    expect(creating, `no RUN creates ${defaults.configDir}`).toHaveLength(1)
    const run = creating[0]!
    const owned = new RegExp(`install -d -o ${user} -g ${user}\\b`).test(run) ||
      new RegExp(`chown (-R )?${user}(:${user})? `).test(run)
    expect(owned, `${defaults.configDir} is not owned by ${user}: ${run}`).toBe(true)
    expect(last(finalStage, "WORKDIR")?.args).toBe(defaults.configDir)
    // Root is needed to create it; the USER switch back must come after that RUN.
    const order = finalStage.instructions
    const runIndex = order.findIndex((i) => i.keyword === "RUN" && i.args === run)
    const userIndex = order.map((i) => i.keyword).lastIndexOf("USER")
    expect(userIndex).toBeGreaterThan(runIndex)
  })

  it("runs as the image's unprivileged user", () => {
    const user = last(finalStage, "USER")!.args
    expect(user).toBe("haproxy")
    expect(user).not.toMatch(/^(root|0)(:|$)/)
  })

  it("EXPOSEs the default LISTEN_PORT and HEALTH_PORT, and every port the example task definitions map", () => {
    const exposed = all(finalStage, "EXPOSE").flatMap((e) => e.args.split(/\s+/)).map((p) => Number(p.replace(/\/tcp$/, "")))
    const examples = readdirSync(`${ROOT}/examples`).filter((f) => f.startsWith("ecs-task-definition."))
    const mapped = examples.flatMap((f) =>
      (JSON.parse(readFileSync(`${ROOT}/examples/${f}`, "utf8")).containerDefinitions[0].portMappings as Array<{ containerPort: number }>).map((m) => m.containerPort)
    )
    expect(mapped).toEqual(expect.arrayContaining([8080, 8404, 3000]))
    expect([...new Set(exposed)].sort((a, b) => a - b)).toEqual([...new Set([defaults.listenPort, defaults.healthPort, ...mapped])].sort((a, b) => a - b))
  })

  it("stops with SIGTERM (the agent drains HAProxy itself)", () => {
    expect(last(finalStage, "STOPSIGNAL")?.args).toBe("SIGTERM")
  })

  it("HEALTHCHECK runs the binary's healthcheck subcommand", () => {
    const hc = last(finalStage, "HEALTHCHECK")!.args
    const cmd = /^(?:--\S+\s+)*CMD\s+(.*)$/.exec(hc)
    expect(cmd, hc).not.toBeNull()
    const argv = execForm(cmd![1]!)
    expect([copyFromBuild.dest, basename(copyFromBuild.dest)]).toContain(argv[0])
    expect(argv.slice(1)).toEqual(["healthcheck"])
    // The subcommand exists in the binary's table of commands.
    expect(COMMANDS.map((c) => c.spec.name)).toContain("healthcheck")
    // Start period long enough for a first discovery of a big account.
    expect(hc).toMatch(/--start-period=\d+s/)
  })

  it(".dockerignore keeps node_modules, dist and .git out of the context but not what the build needs", () => {
    const ignored = readFileSync(`${ROOT}/.dockerignore`, "utf8").split("\n").map((l) => l.trim())
      .filter((l) => l !== "" && !l.startsWith("#"))
    for (const p of ["node_modules", "dist", ".git", ".run"]) expect(ignored).toContain(p)
    const copied = all(buildStage!, "COPY").flatMap((c) => c.args.split(/\s+/).slice(0, -1))
    for (const p of copied) expect(ignored, `${p} is copied but ignored`).not.toContain(p.replace(/\/$/, ""))
    expect(copied).toEqual(expect.arrayContaining(["package.json", "package-lock.json", "src"]))
  })
})
