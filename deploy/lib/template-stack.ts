/**
 * The stack behind the committed CloudFormation template
 * (cloudformation/cloudmap-haproxy.template.json): CloudMapHaproxyService with every choice a
 * CloudFormation parameter, for users who deploy with `aws cloudformation deploy` and no CDK. It
 * synthesizes without bootstrap (no assets, no BootstrapVersion parameter) and names no account
 * or Region: they are the deploying stack's.
 */
import { BootstraplessSynthesizer, CfnCondition, CfnOutput, CfnParameter, Fn, Stack, type StackProps, Validations } from "aws-cdk-lib"
import * as appscaling from "aws-cdk-lib/aws-applicationautoscaling"
import * as ec2 from "aws-cdk-lib/aws-ec2"
import * as ecr from "aws-cdk-lib/aws-ecr"
import * as ecs from "aws-cdk-lib/aws-ecs"
import * as elbv2 from "aws-cdk-lib/aws-elasticloadbalancingv2"
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager"
import type { Construct } from "constructs"
import { CloudMapHaproxyService } from "./cloudmap-haproxy-service.ts"

/** The template's parameters: name → [type, default or undefined when required, description]. */
export const TEMPLATE_PARAMETERS = {
  VpcId: ["AWS::EC2::VPC::Id", undefined, "VPC of the cluster and of the backends."],
  TaskSubnetIds: ["List<AWS::EC2::Subnet::Id>", undefined, "Subnets of the tasks (private, with a route to Cloud Map: NAT or VPC endpoints)."],
  LoadBalancerSubnetIds: ["List<AWS::EC2::Subnet::Id>", undefined, "Subnets of the ALB, in two or more zones (public for an internet-facing ALB)."],
  LoadBalancerScheme: ["String", "internet-facing", "internet-facing or internal."],
  ClientCidr: ["String", "0.0.0.0/0", "Addresses that may reach the ALB on 443 (and 80, redirected to HTTPS)."],
  ClusterName: ["String", undefined, "Existing ECS cluster (Fargate capacity)."],
  ImageRepository: ["String", "cloudmap-haproxy", "ECR repository, in this account and Region, holding the agent's image (the repository's Dockerfile)."],
  ImageTag: ["String", undefined, "Tag of the image, e.g. 0.1.0."],
  NamespaceMap: ["String", undefined, "NAMESPACE_MAP, e.g. [{\"namespace\":\"prod.local\",\"domainname\":\"example.com\",\"mode\":\"host\"}]."],
  NamespaceNames: ["CommaDelimitedList", undefined, "The namespace names of NamespaceMap, comma-separated (they scope the DiscoverInstances permission)."],
  DefaultDomain: ["String", "", "DEFAULT_DOMAIN: unknown hosts are redirected there; empty gives 404."],
  CertificateArn: ["String", undefined, "ACM certificate of the HTTPS listener."],
  StatsPasswordSecretArn: ["String", undefined, "Complete ARN of the Secrets Manager secret holding STATS_PASSWD."],
  MetricsPasswordSecretArn: ["String", undefined, "Complete ARN of the Secrets Manager secret holding PROM_PASSWD."],
  DesiredCount: ["Number", "2", "Tasks to run (the initial count when autoscaling)."],
  TaskCpu: ["Number", "1024", "Fargate CPU units of a task (256, 512, 1024, 2048, 4096)."],
  TaskMemory: ["Number", "2048", "Fargate memory of a task in MiB (valid for TaskCpu)."],
  HaproxyThreads: ["Number", "1", "HAPROXY_NBTHREAD: one per vCPU of TaskCpu, at most 4."],
  LogRetentionDays: ["Number", "30", "Days the agent's logs are kept."],
  EnableAutoScaling: ["String", "false", "true: scale between MinCapacity and MaxCapacity on CPU."],
  MinCapacity: ["Number", "2", "Fewest tasks when autoscaling."],
  MaxCapacity: ["Number", "6", "Most tasks when autoscaling."],
  TargetCpuPercent: ["Number", "60", "Average CPU the autoscaling keeps."]
} as const

export type TemplateParameter = keyof typeof TEMPLATE_PARAMETERS

const ALLOWED: Partial<Record<TemplateParameter, Array<string>>> = {
  LoadBalancerScheme: ["internet-facing", "internal"],
  EnableAutoScaling: ["true", "false"],
  TaskCpu: ["256", "512", "1024", "2048", "4096"],
  LogRetentionDays: ["1", "3", "5", "7", "14", "30", "60", "90", "120", "150", "180", "365", "400", "545", "731", "1096", "1827", "3653"]
}

export class CloudMapHaproxyTemplateStack extends Stack {
  readonly edge: CloudMapHaproxyService

  constructor(scope: Construct, id: string, props: StackProps = {}) {
    super(scope, id, { ...props, synthesizer: new BootstraplessSynthesizer(), description: "cloudmap-haproxy: AWS Cloud Map to HAProxy routing on ECS Fargate behind an ALB" })
    const p = {} as Record<TemplateParameter, CfnParameter>
    for (const [name, [type, fallback, description]] of Object.entries(TEMPLATE_PARAMETERS) as Array<[TemplateParameter, readonly [string, string | undefined, string]]>) {
      const allowed = ALLOWED[name]
      p[name] = new CfnParameter(this, name, {
        type,
        description,
        ...(fallback === undefined ? {} : { default: fallback }),
        ...(allowed === undefined ? {} : { allowedValues: allowed }),
        ...(type === "String" && fallback === undefined ? { minLength: 1 } : {})
      })
    }
    this.templateOptions.metadata = {
      "AWS::CloudFormation::Interface": {
        ParameterGroups: [
          { Label: { default: "Network" }, Parameters: ["VpcId", "TaskSubnetIds", "LoadBalancerSubnetIds", "LoadBalancerScheme", "ClientCidr", "CertificateArn"] },
          { Label: { default: "Agent" }, Parameters: ["ClusterName", "ImageRepository", "ImageTag", "NamespaceMap", "NamespaceNames", "DefaultDomain", "StatsPasswordSecretArn", "MetricsPasswordSecretArn"] },
          { Label: { default: "Size" }, Parameters: ["DesiredCount", "TaskCpu", "TaskMemory", "HaproxyThreads", "LogRetentionDays", "EnableAutoScaling", "MinCapacity", "MaxCapacity", "TargetCpuPercent"] }
        ]
      }
    }

    // The subnets are parameters (lists of any length): the placeholders below are replaced in
    // the resources that use them, so none of them reaches the template.
    const vpc = ec2.Vpc.fromVpcAttributes(this, "Vpc", {
      vpcId: p.VpcId.valueAsString,
      availabilityZones: ["placeholder-a"],
      publicSubnetIds: ["subnet-00000000000000000"],
      privateSubnetIds: ["subnet-00000000000000001"]
    })
    const secret = (id: string, arn: CfnParameter) =>
      ecs.Secret.fromSecretsManager(secretsmanager.Secret.fromSecretCompleteArn(this, id, arn.valueAsString))
    this.edge = new CloudMapHaproxyService(this, "Edge", {
      vpc,
      cluster: ecs.Cluster.fromClusterAttributes(this, "Cluster", { clusterName: p.ClusterName.valueAsString, vpc }),
      image: ecs.ContainerImage.fromEcrRepository(ecr.Repository.fromRepositoryName(this, "Repository", p.ImageRepository.valueAsString), p.ImageTag.valueAsString),
      namespaceMap: { json: p.NamespaceMap.valueAsString, namespaces: p.NamespaceNames.valueAsList },
      certificateArn: p.CertificateArn.valueAsString,
      statsPassword: secret("StatsPassword", p.StatsPasswordSecretArn),
      metricsPassword: secret("MetricsPassword", p.MetricsPasswordSecretArn),
      clientPeer: ec2.Peer.ipv4(p.ClientCidr.valueAsString),
      desiredCount: p.DesiredCount.valueAsNumber,
      cpu: p.TaskCpu.valueAsNumber,
      memoryLimitMiB: p.TaskMemory.valueAsNumber,
      logRetention: p.LogRetentionDays.valueAsNumber,
      autoScaling: { minCapacity: p.MinCapacity.valueAsNumber, maxCapacity: p.MaxCapacity.valueAsNumber, targetCpuPercent: p.TargetCpuPercent.valueAsNumber },
      environment: { DEFAULT_DOMAIN: p.DefaultDomain.valueAsString, HAPROXY_NBTHREAD: p.HaproxyThreads.valueAsString }
    })

    const loadBalancer = this.edge.loadBalancer.node.defaultChild as elbv2.CfnLoadBalancer
    loadBalancer.scheme = p.LoadBalancerScheme.valueAsString
    loadBalancer.subnets = p.LoadBalancerSubnetIds.valueAsList
    const service = this.edge.service.node.defaultChild as ecs.CfnService
    service.addPropertyOverride("NetworkConfiguration.AwsvpcConfiguration.Subnets", p.TaskSubnetIds.valueAsList)

    const autoScaling = new CfnCondition(this, "AutoScaling", { expression: Fn.conditionEquals(p.EnableAutoScaling.valueAsString, "true") })
    for (const child of this.edge.service.node.findAll()) {
      const resource = child.node.defaultChild ?? child
      if (resource instanceof appscaling.CfnScalableTarget || resource instanceof appscaling.CfnScalingPolicy) resource.cfnOptions.condition = autoScaling
    }

    new CfnOutput(this, "LoadBalancerDnsName", { value: this.edge.loadBalancer.loadBalancerDnsName, description: "Point the routed domains (e.g. *.example.com) here" })
    new CfnOutput(this, "ServiceSecurityGroupId", { value: this.edge.serviceSecurityGroup!.securityGroupId, description: "Let this group into the backends' security groups on their ports" })
    new CfnOutput(this, "LogGroupName", { value: this.edge.logGroup.logGroupName, description: "The agent's JSON log lines" })

    Validations.of(this).acknowledge({
      id: "CloudFormation-Validate::W2509",
      reason: "StatsPasswordSecretArn and MetricsPasswordSecretArn hold the ARNs of secrets, not passwords: ECS reads the passwords at task start, so nothing needs NoEcho."
    })
    Validations.of(this.edge.loadBalancerSecurityGroup).acknowledge({
      id: "AwsSolutions-EC23",
      reason: "ClientCidr decides who reaches the ALB; its default 0.0.0.0/0 is the public edge of the routed services (443, and 80 only to redirect to HTTPS)."
    })
  }
}
