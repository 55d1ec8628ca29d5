/** A stack with CloudMapHaproxyService on an imported VPC and cluster, as a user's app would have. */
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Stack } from "aws-cdk-lib"
import { Template } from "aws-cdk-lib/assertions"
import * as ec2 from "aws-cdk-lib/aws-ec2"
import * as ecs from "aws-cdk-lib/aws-ecs"
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager"
import * as ssm from "aws-cdk-lib/aws-ssm"
import { CloudMapHaproxyService, type CloudMapHaproxyServiceProps } from "../lib/cloudmap-haproxy-service.ts"
import { quietApp } from "../lib/synthesize.ts"

export const STATS_SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:cloudmap-haproxy/stats-AbCdEf"
export const METRICS_SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:cloudmap-haproxy/prom-AbCdEf"
export const CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/0b5e2b8c-1111-2222-3333-444455556666"
export const NAMESPACES = [
  { namespace: "prod.local", domainname: "example.com", mode: "host" as const },
  { namespace: "internal.local", domainname: "internal.example.com", mode: "path" as const }
]

export const newStack = () => {
  const app = quietApp(mkdtempSync(join(tmpdir(), "cloudmap-haproxy-test-")))
  const stack = new Stack(app, "Edge", { env: { account: "123456789012", region: "us-east-1" } })
  const vpc = ec2.Vpc.fromVpcAttributes(stack, "Vpc", {
    vpcId: "vpc-0123456789abcdef0",
    availabilityZones: ["us-east-1a", "us-east-1b"],
    publicSubnetIds: ["subnet-0a000000000000001", "subnet-0a000000000000002"],
    privateSubnetIds: ["subnet-0b000000000000001", "subnet-0b000000000000002"],
    publicSubnetRouteTableIds: ["rtb-0a000000000000001", "rtb-0a000000000000002"],
    privateSubnetRouteTableIds: ["rtb-0b000000000000001", "rtb-0b000000000000002"]
  })
  const cluster = ecs.Cluster.fromClusterAttributes(stack, "Cluster", { clusterName: "prod", vpc })
  return { app, stack, vpc, cluster }
}

/** The construct with the given props over sensible required ones, not synthesized yet. */
export const build = (props: Partial<CloudMapHaproxyServiceProps> = {}, ssmStats = false) => {
  const { app, stack, vpc, cluster } = newStack()
  const edge = new CloudMapHaproxyService(stack, "Router", {
    vpc,
    cluster,
    image: ecs.ContainerImage.fromRegistry("registry.example.com/cloudmap-haproxy:0.1.0"),
    namespaceMap: NAMESPACES,
    certificateArn: CERTIFICATE,
    statsPassword: ssmStats
      ? ecs.Secret.fromSsmParameter(ssm.StringParameter.fromSecureStringParameterAttributes(stack, "StatsParameter", { parameterName: "/cloudmap-haproxy/stats-password" }))
      : ecs.Secret.fromSecretsManager(secretsmanager.Secret.fromSecretCompleteArn(stack, "Stats", STATS_SECRET)),
    metricsPassword: ecs.Secret.fromSecretsManager(secretsmanager.Secret.fromSecretCompleteArn(stack, "Metrics", METRICS_SECRET)),
    ...props
  })
  return { app, stack, edge }
}

/** The same, and its stack's template. */
export const synthesize = (props: Partial<CloudMapHaproxyServiceProps> = {}, ssmStats = false) => {
  const built = build(props, ssmStats)
  return { ...built, template: Template.fromStack(built.stack) }
}

/** The one resource of a type in a template, with its properties. */
export const only = (template: Template, type: string): Record<string, any> => {
  const all = Object.values(template.findResources(type))
  if (all.length !== 1) throw new Error(`expected one ${type}, found ${all.length}`)
  return all[0]!.Properties
}

/** The agent's container definition. */
export const containerOf = (template: Template): Record<string, any> => only(template, "AWS::ECS::TaskDefinition").ContainerDefinitions[0]

export const environmentOf = (template: Template): Record<string, string> =>
  Object.fromEntries((containerOf(template).Environment as Array<{ Name: string; Value: string }>).map((e) => [e.Name, e.Value]))
