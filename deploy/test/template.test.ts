/**
 * The committed CloudFormation template: current (a fresh synthesis equals it), deployable with
 * `aws cloudformation deploy` and no bootstrap, its parameters documented in deploy/README.md, and
 * the construct's promises kept where values became parameters.
 */
import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { synthesizeTemplate, type Template, TEMPLATE_FILE } from "../lib/synthesize.ts"
import { TEMPLATE_PARAMETERS } from "../lib/template-stack.ts"

const committed = JSON.parse(readFileSync(TEMPLATE_FILE, "utf8")) as Template
const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8")
const resources = (type: string) => Object.values(committed.Resources).filter((r) => r.Type === type)
const one = (type: string): Record<string, any> => {
  const all = resources(type)
  expect(all, type).toHaveLength(1)
  return all[0]!.Properties!
}

it("the committed template is what the code synthesizes (else: npm run synth in deploy/)", () => {
  expect(JSON.stringify(synthesizeTemplate(), null, 2), "cloudformation/cloudmap-haproxy.template.json is stale: run `npm run synth` in deploy/")
    .toBe(JSON.stringify(committed, null, 2))
})

describe("deployable with aws cloudformation deploy", () => {
  it("needs no CDK bootstrap: no BootstrapVersion, no assets, no CDK metadata, no account or Region written in", () => {
    expect(Object.keys(committed.Parameters)).not.toContain("BootstrapVersion")
    expect(committed.Rules).toBeUndefined()
    const text = JSON.stringify(committed)
    expect(text).not.toMatch(/cdk-hnb659fds|AWS::CDK::Metadata|aws:cdk:path|\b\d{12}\b|us-east-1/)
  })

  it("its parameters are the documented ones: every name, default and required one in deploy/README.md", () => {
    expect(Object.keys(committed.Parameters).sort()).toEqual(Object.keys(TEMPLATE_PARAMETERS).sort())
    for (const [name, p] of Object.entries(committed.Parameters)) {
      const row = readme.split("\n").find((l) => l.startsWith(`| \`${name}\` |`))
      expect(row, `deploy/README.md documents no parameter ${name}`).toBeDefined()
      const shown = row!.split("|")[2]!.trim()
      expect(shown, name).toBe(p.Default === undefined ? "required" : p.Default === "" ? "empty" : `\`${p.Default}\``)
    }
  })

  it("the README's deploy command names every required parameter", () => {
    const command = /```sh\n[^`]*?(aws cloudformation deploy[^`]*)```/.exec(readme)?.[1]
    expect(command).toBeDefined()
    for (const [name, p] of Object.entries(committed.Parameters)) if (p.Default === undefined) expect(command, name).toContain(`${name}=`)
    expect(command).toContain("--capabilities CAPABILITY_IAM")
  })
})

it("outputs what the next steps need: the ALB's DNS name, the tasks' security group, the log group", () => {
  expect(Object.keys(committed.Outputs as object).sort()).toEqual(["LoadBalancerDnsName", "LogGroupName", "ServiceSecurityGroupId"])
})

describe("the promises, with values from parameters", () => {
  const container = one("AWS::ECS::TaskDefinition").ContainerDefinitions[0]

  it("passwords come from the secrets given, never the environment", () => {
    expect(container.Secrets).toEqual([
      { Name: "STATS_PASSWD", ValueFrom: { Ref: "StatsPasswordSecretArn" } },
      { Name: "PROM_PASSWD", ValueFrom: { Ref: "MetricsPasswordSecretArn" } }
    ])
    expect(JSON.stringify(container.Environment)).not.toMatch(/PASSWD|SecretArn/)
  })

  it("NAMESPACE_MAP and the IAM condition's namespaces are the parameters", () => {
    expect(container.Environment).toContainEqual({ Name: "NAMESPACE_MAP", Value: { Ref: "NamespaceMap" } })
    const policies = resources("AWS::IAM::Policy").flatMap((p) => (p.Properties as any).PolicyDocument.Statement as Array<any>)
    const discover = policies.find((s: any) => s.Sid === "ReadInstancesOfTheMappedNamespaces")
    expect(discover.Condition).toEqual({ StringEquals: { "servicediscovery:NamespaceName": { Ref: "NamespaceNames" } } })
  })

  it("the ALB's scheme and subnets and the tasks' subnets are the parameters", () => {
    expect(one("AWS::ElasticLoadBalancingV2::LoadBalancer")).toMatchObject({ Scheme: { Ref: "LoadBalancerScheme" }, Subnets: { Ref: "LoadBalancerSubnetIds" } })
    expect(one("AWS::ECS::Service").NetworkConfiguration.AwsvpcConfiguration.Subnets).toEqual({ Ref: "TaskSubnetIds" })
    expect(JSON.stringify(committed)).not.toContain("subnet-0000000000000000")
  })

  it("autoscaling exists only when EnableAutoScaling is true", () => {
    expect(committed.Conditions).toEqual({ AutoScaling: { "Fn::Equals": [{ Ref: "EnableAutoScaling" }, "true"] } })
    for (const type of ["AWS::ApplicationAutoScaling::ScalableTarget", "AWS::ApplicationAutoScaling::ScalingPolicy"]) {
      expect(resources(type).map((r) => r.Condition), type).toEqual(["AutoScaling"])
    }
  })

  it("health check on /readyz at the agent's port, stop timeout above the drain", () => {
    expect(one("AWS::ElasticLoadBalancingV2::TargetGroup")).toMatchObject({ HealthCheckPath: "/readyz", HealthCheckPort: "3000", Port: 8080 })
    const drain = Number(container.Environment.find((e: any) => e.Name === "DRAIN_SECONDS").Value)
    expect(container.StopTimeout).toBeGreaterThan(drain)
  })
})
