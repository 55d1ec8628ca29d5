/**
 * examples/: every JSON parses; the IAM policy grants exactly the Cloud Map calls the client
 * makes; the task definitions only use variables the agent knows, keep passwords in `secrets`,
 * form a configuration the agent accepts, and agree with the image (health check command, ports,
 * stop timeout vs DRAIN_SECONDS).
 */
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { readAgentConfig, VARIABLES } from "../../src/config/agent-config.ts"

const ROOT = new URL("../..", import.meta.url).pathname
const EXAMPLES = join(ROOT, "examples")

const jsonFiles = readdirSync(EXAMPLES, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".json")).sort()
const load = (file: string): any => JSON.parse(readFileSync(join(EXAMPLES, file), "utf8"))

interface Statement {
  readonly Effect: string
  readonly Action: string | ReadonlyArray<string>
  readonly Resource: string | ReadonlyArray<string>
  readonly Condition?: Record<string, Record<string, string | ReadonlyArray<string>>>
}
const actionsOf = (policy: { Statement: ReadonlyArray<Statement> }): Array<string> =>
  policy.Statement.flatMap((s) => (typeof s.Action === "string" ? [s.Action] : [...s.Action]))
const list = <A>(x: A | ReadonlyArray<A>): Array<A> => (Array.isArray(x) ? [...x] : [x as A])

/** The Cloud Map operations the client sends (`new XCommand(` in src/cloudmap/client.ts). */
// The SDK commands the client sends, and the data-plane operations it signs itself.
const operationsUsed = (() => {
  const client = readFileSync(join(ROOT, "src/cloudmap/client.ts"), "utf8")
  const dataPlane = readFileSync(join(ROOT, "src/cloudmap/data-plane.ts"), "utf8")
  return [...new Set([
    ...[...client.matchAll(/new (\w+)Command\(/g)].map((m) => m[1]!),
    ...[...dataPlane.matchAll(/post\(\s*"(\w+)"/g)].map((m) => m[1]!)
  ])].sort()
})()

const TASK_DEFINITIONS = jsonFiles.filter((f) => f.startsWith("ecs-task-definition."))
const KNOWN = new Set(VARIABLES.map((v) => v.name))
const SECRET_NAMES = new Set(["STATS_PASSWD", "PROM_PASSWD"])

interface Container {
  readonly name: string
  readonly image: string
  readonly environment: ReadonlyArray<{ name: string; value: string }>
  readonly secrets: ReadonlyArray<{ name: string; valueFrom: string }>
  readonly portMappings: ReadonlyArray<{ containerPort: number; hostPort?: number }>
  readonly healthCheck: { command: ReadonlyArray<string>; startPeriod?: number }
  readonly stopTimeout: number
  readonly logConfiguration: { logDriver: string; options: Record<string, string> }
  readonly linuxParameters?: { initProcessEnabled?: boolean }
}
const agentContainer = (file: string): Container => {
  const containers = load(file).containerDefinitions as ReadonlyArray<Container>
  expect(containers).toHaveLength(1)
  return containers[0]!
}
const envRecord = (c: Container): Record<string, string> => Object.fromEntries(c.environment.map((e) => [e.name, e.value]))

describe("examples/", () => {
  it("contains the IAM policies and both task definitions, all valid JSON", () => {
    expect(jsonFiles).toEqual(expect.arrayContaining([
      "iam-policy.json",
      "iam-execution-role-secrets.json",
      "ecs-task-definition.awsvpc.json",
      "ecs-task-definition.bridge.json"
    ]))
    for (const f of jsonFiles) expect(() => load(f), f).not.toThrow()
  })
})

describe("iam-trust-policy-ecs-tasks.json (both roles)", () => {
  it("lets ECS tasks of one account assume the role, and nothing else", () => {
    const trust = load("iam-trust-policy-ecs-tasks.json")
    expect(trust.Statement).toHaveLength(1)
    const [s] = trust.Statement
    expect(s).toMatchObject({ Effect: "Allow", Principal: { Service: "ecs-tasks.amazonaws.com" }, Action: "sts:AssumeRole" })
    expect(s.Condition.StringEquals["aws:SourceAccount"]).toMatch(/^\d{12}$/)
  })
})

describe("iam-policy.json (task role)", () => {
  const policy = load("iam-policy.json")

  it("grants exactly the seven Cloud Map read actions", () => {
    expect(actionsOf(policy).sort()).toEqual([
      "servicediscovery:DiscoverInstances",
      "servicediscovery:DiscoverInstancesRevision",
      "servicediscovery:GetOperation",
      "servicediscovery:GetServiceAttributes",
      "servicediscovery:ListNamespaces",
      "servicediscovery:ListOperations",
      "servicediscovery:ListServices"
    ])
    for (const s of policy.Statement as ReadonlyArray<Statement>) expect(s.Effect).toBe("Allow")
  })

  it("matches the operations the Cloud Map client actually calls", () => {
    expect(actionsOf(policy).map((a) => a.replace(/^servicediscovery:/, "")).sort()).toEqual(operationsUsed)
  })

  it("scopes the Discover* actions to the namespaces the task definitions map", () => {
    const discover = (policy.Statement as ReadonlyArray<Statement>).find((s) => list(s.Action).includes("servicediscovery:DiscoverInstances"))!
    expect(list(discover.Action)).toContain("servicediscovery:DiscoverInstancesRevision")
    const names = list(discover.Condition!["StringEquals"]!["servicediscovery:NamespaceName"]!).sort()
    for (const file of TASK_DEFINITIONS) {
      const mapped = [...new Set((JSON.parse(envRecord(agentContainer(file))["NAMESPACE_MAP"]!) as Array<{ namespace: string }>)
        .map((m) => m.namespace))].sort()
      expect(mapped, file).toEqual(names)
    }
  })
})

describe("iam-execution-role-secrets.json (execution role)", () => {
  const policy = load("iam-execution-role-secrets.json")

  it("lets ECS read exactly the secrets the task definitions reference", () => {
    expect(actionsOf(policy).sort()).toEqual(["secretsmanager:GetSecretValue", "ssm:GetParameters"])
    const resources = (policy.Statement as ReadonlyArray<Statement>).flatMap((s) => list(s.Resource)).sort()
    for (const file of TASK_DEFINITIONS) {
      const referenced = [...new Set(agentContainer(file).secrets.map((s) => s.valueFrom))].sort()
      expect(referenced, file).toEqual(resources)
    }
  })
})

describe.each(TASK_DEFINITIONS)("%s", (file) => {
  const td = load(file)
  const c = agentContainer(file)
  const env = envRecord(c)

  it("uses only variables the agent reads (or standard AWS_* ones)", () => {
    for (const { name } of [...c.environment, ...c.secrets]) {
      expect(KNOWN.has(name) || /^AWS_[A-Z0-9_]+$/.test(name), `${name} is not in VARIABLES`).toBe(true)
    }
    expect(new Set(c.environment.map((e) => e.name)).size).toBe(c.environment.length)
  })

  it("keeps passwords in secrets (SSM Parameter Store or Secrets Manager), never in environment", () => {
    for (const { name } of c.environment) {
      expect(SECRET_NAMES.has(name) || /PASSW|SECRET|TOKEN|ACCESS_KEY/.test(name), `${name} belongs in secrets`).toBe(false)
    }
    expect(c.secrets.map((s) => s.name).sort()).toEqual([...SECRET_NAMES].sort())
    for (const s of c.secrets) {
      expect(s.valueFrom).toMatch(/^arn:aws:(ssm:[a-z0-9-]+:\d{12}:parameter\/|secretsmanager:[a-z0-9-]+:\d{12}:secret:)/)
    }
    expect(c.secrets.some((s) => s.valueFrom.includes(":ssm:"))).toBe(true)
    expect(c.secrets.some((s) => s.valueFrom.includes(":secretsmanager:"))).toBe(true)
  })

  it("is a configuration the agent accepts", () => {
    const withSecrets = { ...env, ...Object.fromEntries(c.secrets.map((s) => [s.name, "from-the-secret-store"])) }
    const result = readAgentConfig(withSecrets)
    expect(Result.isSuccess(result) ? [] : result.failure).toEqual([])
  })

  it("maps the traffic, monitoring (8404) and agent ports, and the agent port is reachable from the ALB", () => {
    const config = Result.getOrThrow(readAgentConfig({ ...env, STATS_PASSWD: "x", PROM_PASSWD: "x" }))
    const ports = c.portMappings.map((p) => p.containerPort).sort((a, b) => a - b)
    // /stats and /metrics on a port of their own: an application's /metrics stays reachable.
    expect(config.monitoringPort).toBe(8404)
    expect(ports).toEqual([config.listenPort, config.monitoringPort!, config.healthPort].sort((a, b) => a - b))
    expect(config.healthAddress).toBe("0.0.0.0")
    // Non-root HAProxy cannot rely on the unprivileged-port sysctl everywhere: use a high port.
    expect(config.listenPort).toBeGreaterThanOrEqual(1024)
  })

  it("health-checks with the binary's healthcheck subcommand", () => {
    expect(c.healthCheck.command).toEqual(["CMD", "cloudmap-haproxy", "healthcheck"])
    expect(c.healthCheck.startPeriod).toBeGreaterThanOrEqual(30)
  })

  it("gives the agent time to drain: stopTimeout ≥ DRAIN_SECONDS + 10 s, within ECS's 120 s", () => {
    const config = Result.getOrThrow(readAgentConfig({ ...env, STATS_PASSWD: "x", PROM_PASSWD: "x" }))
    expect(c.stopTimeout).toBeGreaterThanOrEqual(config.drainSeconds + 10)
    expect(c.stopTimeout).toBeLessThanOrEqual(120)
  })

  it("logs to CloudWatch with awslogs and runs an init process", () => {
    expect(c.logConfiguration.logDriver).toBe("awslogs")
    for (const k of ["awslogs-group", "awslogs-region", "awslogs-stream-prefix"]) expect(c.logConfiguration.options[k]).toBeDefined()
    expect(c.linuxParameters?.initProcessEnabled).toBe(true)
  })

  it("polls at the documented REFRESH_RATE (the default every sizing figure assumes)", () => {
    const documented = VARIABLES.find((v) => v.name === "REFRESH_RATE")!.default
    expect(env.REFRESH_RATE ?? documented).toBe(documented)
  })

  it("writes to a log group, and assumes roles, that docs/deployment-ecs.md creates", () => {
    const guide = readFileSync(join(ROOT, "docs/deployment-ecs.md"), "utf8")
    expect(guide).toContain(`aws logs create-log-group --log-group-name ${c.logConfiguration.options["awslogs-group"]}`)
    expect(guide).toContain(`aws logs put-retention-policy --log-group-name ${c.logConfiguration.options["awslogs-group"]}`)
    for (const arn of [td.taskRoleArn, td.executionRoleArn]) {
      const role = String(arn).split(":role/")[1]
      expect(guide).toMatch(new RegExp(`aws iam create-role --role-name ${role} \\\\\n\\s+--assume-role-policy-document file://examples/iam-trust-policy-ecs-tasks.json`))
    }
  })

  it("matches its network mode", () => {
    const config = Result.getOrThrow(readAgentConfig({ ...env, STATS_PASSWD: "x", PROM_PASSWD: "x" }))
    if (td.networkMode === "awsvpc") {
      expect(file).toContain("awsvpc")
      for (const p of c.portMappings) expect(p.hostPort === undefined || p.hostPort === p.containerPort).toBe(true)
      // awsvpc backends registered with A records only carry no port.
      expect(config.defaultInstancePort).toBeDefined()
    } else {
      expect(td.networkMode).toBe("bridge")
      expect(file).toContain("bridge")
      // Traffic on a dynamic host port; the agent port fixed so the ALB health check can name it.
      expect(c.portMappings.find((p) => p.containerPort === config.listenPort)?.hostPort).toBe(0)
      expect(c.portMappings.find((p) => p.containerPort === config.healthPort)?.hostPort).toBe(config.healthPort)
    }
  })
})
