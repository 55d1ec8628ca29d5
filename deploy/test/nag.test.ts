/**
 * cdk-nag's AwsSolutions pack on the construct (default props, and with an ECR image) and on the
 * template's stack: no finding is left unacknowledged, every acknowledgment has its reason in the
 * code, and each one answers a finding the rule really makes (no stale suppression).
 */
import { existsSync, mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type App, CfnResource, type Stack, Validations } from "aws-cdk-lib"
import * as ecr from "aws-cdk-lib/aws-ecr"
import * as ecs from "aws-cdk-lib/aws-ecs"
import * as ssm from "aws-cdk-lib/aws-ssm"
import { AwsSolutionsChecks, NagRuleCompliance, rules } from "cdk-nag"
import type { IConstruct } from "constructs"
import { describe, expect, it } from "vitest"
import { CloudMapHaproxyService } from "../lib/cloudmap-haproxy-service.ts"
import { quietApp } from "../lib/synthesize.ts"
import { CloudMapHaproxyTemplateStack } from "../lib/template-stack.ts"
import { build, newStack } from "./fixture.ts"

/** The AwsSolutions rules this project acknowledges, by id. */
const RULES: Record<string, (node: CfnResource) => NagRuleCompliance | Array<string>> = {
  "AwsSolutions-IAM5": rules.iam.IAMNoWildcardPermissions,
  "AwsSolutions-ECS2": rules.ecs.ECSTaskDefinitionNoEnvironmentVariables,
  "AwsSolutions-EC23": rules.ec2.EC2RestrictedInbound,
  "AwsSolutions-ELB2": rules.elb.ELBLoggingEnabled
}

/** Every acknowledgment in a tree: the construct, the rule id (with its finding) and the reason. */
const acknowledgments = (root: IConstruct) =>
  root.node.findAll().flatMap((c) =>
    c.node.metadata.filter((m) => m.type === "aws:cdk:acknowledged-rules").flatMap((m) =>
      Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({ construct: c, id: id.replace(/^Annotation::/, ""), reason }))
    )
  )

/**
 * Synthesizes with the pack; every violation the validation report lists, warnings included
 * (cdk-nag reports some AwsSolutions rules, ECS2 among them, as warnings).
 */
const nag = (stack: Stack): Array<string> => {
  // A stack synthesized before (Template.fromStack) would not be validated again.
  const app = stack.node.root as App
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app))
  let error: unknown
  try {
    app.synth()
  } catch (e) {
    error = e
  }
  const file = join(app.outdir, "validation-report.json")
  const report = existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : { pluginReports: [] }
  const violations: Array<string> = report.pluginReports.flatMap((p: any) =>
    p.violations.map((v: any) => `${p.pluginName} ${v.severity} ${v.ruleName}: ${v.violatingConstructs.map((c: any) => c.constructPath).join(", ")}`)
  )
  return error === undefined || violations.length > 0 ? violations : [String(error)]
}

const withEcrImage = () => {
  const { stack, vpc, cluster } = newStack()
  new CloudMapHaproxyService(stack, "Router", {
    vpc, cluster,
    image: ecs.ContainerImage.fromEcrRepository(ecr.Repository.fromRepositoryName(stack, "Repo", "cloudmap-haproxy"), "0.1.0"),
    namespaceMap: [{ namespace: "prod.local", domainname: "example.com" }],
    certificateArn: "arn:aws:acm:us-east-1:123456789012:certificate/x",
    statsPassword: ecs.Secret.fromSsmParameter(ssm.StringParameter.fromSecureStringParameterAttributes(stack, "S", { parameterName: "/cloudmap-haproxy/stats" })),
    metricsPassword: ecs.Secret.fromSsmParameter(ssm.StringParameter.fromSecureStringParameterAttributes(stack, "M", { parameterName: "/cloudmap-haproxy/prom" }))
  })
  return stack
}

const templateStack = () => new CloudMapHaproxyTemplateStack(quietApp(mkdtempSync(join(tmpdir(), "cloudmap-haproxy-nag-"))), "CloudMapHaproxy")

const cases: Array<[string, () => Stack]> = [
  ["the construct with its defaults", () => build().stack],
  ["the construct with an ECR image", withEcrImage],
  ["the template's stack", templateStack]
]

describe.each(cases)("AwsSolutions on %s", (_name, build) => {
  it("leaves no finding unacknowledged", () => {
    expect(nag(build())).toEqual([])
  })

  it("each acknowledgment has a reason and answers a finding the rule makes", () => {
    const stack = build()
    const found = acknowledgments(stack).filter((a) => a.id.startsWith("AwsSolutions-"))
    expect(found.length).toBeGreaterThan(0)
    for (const { construct: c, id, reason } of found) {
      expect(reason.length, id).toBeGreaterThan(40)
      const [, rule, finding] = /^(AwsSolutions-[A-Z0-9]+)(?:\[(.+)\])?$/.exec(id)!
      const check = RULES[rule!]
      expect(check, `no check listed for ${rule}`).toBeDefined()
      // A rule that cannot decide (a CloudFormation parameter where it needs a literal) is reported
      // by the pack as a finding of that rule, to acknowledge like one.
      const results = c.node.findAll().filter((n): n is CfnResource => n instanceof CfnResource).map((n) => {
        try {
          return check!(n)
        } catch (e) {
          if (/could not be validated/.test(String(e))) return NagRuleCompliance.NON_COMPLIANT
          throw e
        }
      })
      const made = finding === undefined
        ? results.includes(NagRuleCompliance.NON_COMPLIANT)
        : results.some((r) => Array.isArray(r) && r.includes(finding))
      expect(made, `${id} on ${c.node.path} is acknowledged but the rule finds nothing there`).toBe(true)
    }
  })
})
