/**
 * Every promise of CloudMapHaproxyService, asserted on the synthesized template
 * (aws-cdk-lib/assertions), offline.
 */
import { readFileSync } from "node:fs"
import { Match } from "aws-cdk-lib/assertions"
import * as ec2 from "aws-cdk-lib/aws-ec2"
import { describe, expect, it } from "vitest"
import { CERTIFICATE, containerOf, environmentOf, METRICS_SECRET, NAMESPACES, only, STATS_SECRET, synthesize } from "./fixture.ts"

const ECS_TASKS = {
  Statement: [{ Action: "sts:AssumeRole", Effect: "Allow", Principal: { Service: "ecs-tasks.amazonaws.com" } }],
  Version: "2012-10-17"
}

const fargate = synthesize()

/** The policy document attached to a role (its DefaultPolicy). */
const policyOf = (template: typeof fargate.template, roleId: string) => {
  const policies = Object.values(template.findResources("AWS::IAM::Policy", { Properties: { Roles: [{ Ref: roleId }] } }))
  expect(policies).toHaveLength(1)
  return policies[0]!.Properties.PolicyDocument.Statement as Array<Record<string, any>>
}
const roleIdOf = (template: typeof fargate.template, property: "TaskRoleArn" | "ExecutionRoleArn") =>
  only(template, "AWS::ECS::TaskDefinition")[property]["Fn::GetAtt"][0] as string
const asList = (x: unknown) => (Array.isArray(x) ? x : [x])

describe("roles", () => {
  it("both roles trust ECS tasks only", () => {
    const roles = fargate.template.findResources("AWS::IAM::Role")
    expect(Object.keys(roles)).toHaveLength(2)
    for (const role of Object.values(roles)) expect(role.Properties.AssumeRolePolicyDocument).toEqual(ECS_TASKS)
    expect(roleIdOf(fargate.template, "TaskRoleArn")).not.toBe(roleIdOf(fargate.template, "ExecutionRoleArn"))
  })

  it("the task role grants exactly the Cloud Map reads of examples/iam-policy.json, Discover* limited to the mapped namespaces", () => {
    const statements = policyOf(fargate.template, roleIdOf(fargate.template, "TaskRoleArn"))
    const example = JSON.parse(readFileSync(new URL("../../examples/iam-policy.json", import.meta.url), "utf8")).Statement as Array<Record<string, any>>
    expect(statements.map((s) => s.Sid).sort()).toEqual(example.map((s) => s.Sid).sort())
    for (const s of statements) {
      const twin = example.find((e) => e.Sid === s.Sid)!
      expect(asList(s.Action).sort(), s.Sid).toEqual(asList(twin.Action).sort())
      expect(s.Effect).toBe("Allow")
    }
    const discover = statements.find((s) => s.Sid === "ReadInstancesOfTheMappedNamespaces")!
    expect(discover.Resource).toBe("*")
    expect(discover.Condition).toEqual({ StringEquals: { "servicediscovery:NamespaceName": NAMESPACES.map((n) => n.namespace) } })
    const attributes = statements.find((s) => s.Sid === "ReadServiceAttributes")!
    expect(fargate.stack.resolve(attributes.Resource)).toEqual({
      "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, ":servicediscovery:us-east-1:123456789012:service/*"]]
    })
    // Read-only: nothing that registers, deregisters or changes anything.
    for (const action of statements.flatMap((s) => asList(s.Action))) expect(action).toMatch(/^servicediscovery:(List|Get|Discover)/)
  })

  it("the execution role reads exactly the two secrets and writes the log group, nothing else", () => {
    const statements = policyOf(fargate.template, roleIdOf(fargate.template, "ExecutionRoleArn"))
    const secrets = statements.filter((s) => asList(s.Action).includes("secretsmanager:GetSecretValue"))
    expect(secrets.map((s) => s.Resource).sort()).toEqual([METRICS_SECRET, STATS_SECRET].sort())
    const logs = statements.filter((s) => asList(s.Action).some((a: string) => a.startsWith("logs:")))
    expect(logs).toHaveLength(1)
    expect(logs[0]!.Resource).toEqual({ "Fn::GetAtt": [Object.keys(fargate.template.findResources("AWS::Logs::LogGroup"))[0], "Arn"] })
    expect(statements).toHaveLength(3)
  })

  it("a password from SSM: the execution role may read that parameter", () => {
    const { template } = synthesize({}, true)
    const statements = policyOf(template, roleIdOf(template, "ExecutionRoleArn"))
    const ssm = statements.find((s) => asList(s.Action).includes("ssm:GetParameters"))!
    expect(JSON.stringify(ssm.Resource)).toContain(":parameter/cloudmap-haproxy/stats-password")
  })
})

describe("the container", () => {
  const container = containerOf(fargate.template)
  const environment = environmentOf(fargate.template)

  it("gets both passwords through secrets, never in its environment", () => {
    expect(container.Secrets).toEqual([
      { Name: "STATS_PASSWD", ValueFrom: STATS_SECRET },
      { Name: "PROM_PASSWD", ValueFrom: METRICS_SECRET }
    ])
    const text = JSON.stringify(container.Environment)
    for (const secret of ["STATS_PASSWD", "PROM_PASSWD", STATS_SECRET, METRICS_SECRET]) expect(text).not.toContain(secret)
  })

  it("refuses a password in environment", () => {
    expect(() => synthesize({ environment: { STATS_PASSWD: "hunter2" } })).toThrow(/STATS_PASSWD must not be in environment/)
  })

  it("has the agent's settings: NAMESPACE_MAP, the ports, HEALTH_ADDRESS for the ALB's check, DRAIN_SECONDS", () => {
    expect(JSON.parse(environment.NAMESPACE_MAP!)).toEqual(NAMESPACES)
    expect(environment).toMatchObject({ AWS_REGION: "us-east-1", LISTEN_PORT: "8080", HEALTH_PORT: "3000", HEALTH_ADDRESS: "0.0.0.0", DRAIN_SECONDS: "20", HAPROXY_NBTHREAD: "1" })
    expect(container.PortMappings.map((m: any) => m.ContainerPort)).toEqual([8080, 3000, 8404])
  })

  it("serves /stats and /metrics on MONITORING_PORT 8404, so every path of every host reaches its service; open to monitoringPeer only", () => {
    expect(environment.MONITORING_PORT).toBe("8404")
    const ingress = (t: typeof fargate.template) => Object.values(t.findResources("AWS::EC2::SecurityGroupIngress")).map((r) => r.Properties.FromPort).sort()
    expect(ingress(fargate.template)).toEqual([3000, 8080])
    const scraped = synthesize({ monitoringPeer: ec2.Peer.ipv4("10.1.0.0/16") })
    const task = Object.entries(scraped.template.findResources("AWS::EC2::SecurityGroup")).find(([id]) => id.includes("ServiceSecurityGroup"))![1]
    expect(task.Properties.SecurityGroupIngress.map((r: any) => [r.FromPort, r.CidrIp]).sort()).toEqual([[3000, "10.1.0.0/16"], [8404, "10.1.0.0/16"]])
    expect(() => synthesize({ monitoringPort: 8080 })).toThrow(/must differ/)
  })

  it("health check is `cloudmap-haproxy healthcheck` (liveness), with an init process and a file limit", () => {
    expect(container.HealthCheck).toEqual({ Command: ["CMD", "cloudmap-haproxy", "healthcheck"], Interval: 10, Timeout: 5, Retries: 3, StartPeriod: 60 })
    expect(container.LinuxParameters.InitProcessEnabled).toBe(true)
    expect(container.Ulimits).toEqual([{ Name: "nofile", SoftLimit: 65536, HardLimit: 65536 }])
  })

  it("stopTimeout is above DRAIN_SECONDS (drain + 10 s), within ECS's 120 s", () => {
    expect(container.StopTimeout).toBeGreaterThan(Number(environment.DRAIN_SECONDS))
    expect(container.StopTimeout).toBe(30)
    const long = synthesize({ drainSeconds: 90 })
    expect(containerOf(long.template).StopTimeout).toBe(100)
    expect(environmentOf(long.template).DRAIN_SECONDS).toBe("90")
    expect(() => synthesize({ drainSeconds: 115 })).toThrow(/drainSeconds must be an integer from 0 to 110/)
  })

  it("logs to its own log group, kept 30 days by default", () => {
    const group = fargate.template.findResources("AWS::Logs::LogGroup")
    expect(Object.values(group).map((g) => g.Properties.RetentionInDays)).toEqual([30])
    expect(container.LogConfiguration).toEqual({
      LogDriver: "awslogs",
      Options: { "awslogs-group": { Ref: Object.keys(group)[0] }, "awslogs-stream-prefix": "edge", "awslogs-region": "us-east-1" }
    })
  })

  it("Fargate by default: awsvpc, 1 vCPU / 2 GiB, no public IP, two tasks, rollback on failed deployments", () => {
    fargate.template.hasResourceProperties("AWS::ECS::TaskDefinition", { NetworkMode: "awsvpc", RequiresCompatibilities: ["FARGATE"], Cpu: "1024", Memory: "2048" })
    fargate.template.hasResourceProperties("AWS::ECS::Service", {
      LaunchType: "FARGATE",
      DesiredCount: 2,
      HealthCheckGracePeriodSeconds: 60,
      DeploymentConfiguration: Match.objectLike({ MinimumHealthyPercent: 100, DeploymentCircuitBreaker: { Enable: true, Rollback: true } }),
      NetworkConfiguration: { AwsvpcConfiguration: Match.objectLike({ AssignPublicIp: "DISABLED", Subnets: ["subnet-0b000000000000001", "subnet-0b000000000000002"] }) }
    })
  })
})

describe("the load balancer", () => {
  const tg = only(fargate.template, "AWS::ElasticLoadBalancingV2::TargetGroup")
  const attribute = (key: string) => tg.TargetGroupAttributes.find((a: any) => a.Key === key)?.Value

  it("target group: the traffic port, health check GET /readyz on HEALTH_PORT expecting 200", () => {
    expect(tg).toMatchObject({
      Port: 8080,
      Protocol: "HTTP",
      TargetType: "ip",
      HealthCheckPath: "/readyz",
      HealthCheckPort: "3000",
      HealthCheckProtocol: "HTTP",
      Matcher: { HttpCode: "200" },
      HealthCheckIntervalSeconds: 10,
      HealthyThresholdCount: 2,
      UnhealthyThresholdCount: 2
    })
  })

  it("deregistration delay covers DRAIN_SECONDS (as long as the stop timeout)", () => {
    const delay = Number(attribute("deregistration_delay.timeout_seconds"))
    expect(delay).toBeGreaterThanOrEqual(Number(environmentOf(fargate.template).DRAIN_SECONDS))
    expect(delay).toBe(containerOf(fargate.template).StopTimeout)
  })

  it("HTTPS on 443 with the certificate forwards to the target group; HTTP on 80 redirects to HTTPS", () => {
    const listeners = Object.values(fargate.template.findResources("AWS::ElasticLoadBalancingV2::Listener")).map((l) => l.Properties)
    expect(listeners).toHaveLength(2)
    const https = listeners.find((l) => l.Port === 443)!
    expect(https).toMatchObject({ Protocol: "HTTPS", Certificates: [{ CertificateArn: CERTIFICATE }], DefaultActions: [{ Type: "forward" }] })
    expect(https.SslPolicy).toMatch(/^ELBSecurityPolicy-TLS13/)
    const http = listeners.find((l) => l.Port === 80)!
    expect(http).toMatchObject({ Protocol: "HTTP", DefaultActions: [{ Type: "redirect", RedirectConfig: { Protocol: "HTTPS", Port: "443", StatusCode: "HTTP_301" } }] })
  })

  it("internet-facing by default, internal on request, in the matching subnets", () => {
    expect(only(fargate.template, "AWS::ElasticLoadBalancingV2::LoadBalancer")).toMatchObject({ Scheme: "internet-facing", Subnets: ["subnet-0a000000000000001", "subnet-0a000000000000002"] })
    const internal = synthesize({ internetFacing: false })
    expect(only(internal.template, "AWS::ElasticLoadBalancingV2::LoadBalancer")).toMatchObject({ Scheme: "internal", Subnets: ["subnet-0b000000000000001", "subnet-0b000000000000002"] })
  })
})

describe("security groups", () => {
  const groups = fargate.template.findResources("AWS::EC2::SecurityGroup")
  const albGroup = Object.keys(groups).find((id) => id.includes("LoadBalancerSecurityGroup"))!
  const taskGroup = Object.keys(groups).find((id) => id.includes("ServiceSecurityGroup"))!
  const rules = (type: string) => Object.values(fargate.template.findResources(type)).map((r) => r.Properties)
  const groupId = (id: string) => ({ "Fn::GetAtt": [id, "GroupId"] })

  it("the tasks accept the ALB only, on the traffic and health ports only", () => {
    expect(groups[taskGroup]!.Properties.SecurityGroupIngress).toBeUndefined()
    const ingress = rules("AWS::EC2::SecurityGroupIngress").filter((r) => JSON.stringify(r.GroupId) === JSON.stringify(groupId(taskGroup)))
    expect(ingress.map((r) => [r.FromPort, r.ToPort, r.SourceSecurityGroupId]).sort()).toEqual([
      [3000, 3000, groupId(albGroup)],
      [8080, 8080, groupId(albGroup)]
    ])
    expect(rules("AWS::EC2::SecurityGroupIngress")).toHaveLength(2)
  })

  it("the ALB accepts 443 and 80 from clients and reaches only the tasks' two ports", () => {
    const alb = groups[albGroup]!.Properties
    expect(alb.SecurityGroupIngress.map((r: any) => [r.FromPort, r.CidrIp]).sort()).toEqual([[443, "0.0.0.0/0"], [80, "0.0.0.0/0"]].sort())
    // No inline rule (allowAllOutbound is off): its only egress is the two rules below.
    expect(alb.SecurityGroupEgress).toBeUndefined()
    const egress = rules("AWS::EC2::SecurityGroupEgress")
    expect(egress.map((r) => [r.FromPort, r.DestinationSecurityGroupId]).sort()).toEqual([[3000, groupId(taskGroup)], [8080, groupId(taskGroup)]])
  })

  it("clientPeer narrows who reaches the ALB", () => {
    const narrow = synthesize({ clientPeer: ec2.Peer.ipv4("10.0.0.0/8") })
    const alb = Object.entries(narrow.template.findResources("AWS::EC2::SecurityGroup")).find(([id]) => id.includes("LoadBalancer"))![1]
    expect(alb.Properties.SecurityGroupIngress.map((r: any) => r.CidrIp)).toEqual(["10.0.0.0/8", "10.0.0.0/8"])
  })
})

describe("options and what is not created", () => {
  it("autoscaling on CPU between min and max when asked, none otherwise", () => {
    expect(fargate.template.findResources("AWS::ApplicationAutoScaling::ScalableTarget")).toEqual({})
    const scaled = synthesize({ autoScaling: { minCapacity: 2, maxCapacity: 8, targetCpuPercent: 55 } })
    scaled.template.hasResourceProperties("AWS::ApplicationAutoScaling::ScalableTarget", { MinCapacity: 2, MaxCapacity: 8, ScalableDimension: "ecs:service:DesiredCount" })
    scaled.template.hasResourceProperties("AWS::ApplicationAutoScaling::ScalingPolicy", {
      PolicyType: "TargetTrackingScaling",
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({ TargetValue: 55, PredefinedMetricSpecification: { PredefinedMetricType: "ECSServiceAverageCPUUtilization" } })
    })
  })

  it("EC2 with bridge networking: dynamic traffic port, fixed health port, one task per instance, instance targets", () => {
    const { template } = synthesize({ launchType: "EC2" })
    template.hasResourceProperties("AWS::ECS::TaskDefinition", { NetworkMode: "bridge", RequiresCompatibilities: ["EC2"] })
    expect(containerOf(template).PortMappings.map((m: any) => [m.ContainerPort, m.HostPort])).toEqual([[8080, 0], [3000, 3000], [8404, 8404]])
    template.hasResourceProperties("AWS::ECS::Service", { LaunchType: "EC2", PlacementConstraints: [{ Type: "distinctInstance" }] })
    expect(only(template, "AWS::ElasticLoadBalancingV2::TargetGroup")).toMatchObject({ TargetType: "instance", HealthCheckPort: "3000" })
  })

  it("the VPC, the cluster and the namespaces are referenced, never created", () => {
    const types = new Set(Object.values(fargate.template.toJSON().Resources as Record<string, { Type: string }>).map((r) => r.Type))
    for (const t of types) expect(t).not.toMatch(/^AWS::(EC2::(VPC|Subnet|NatGateway|InternetGateway)|ECS::Cluster|ServiceDiscovery::)/)
    fargate.template.hasResourceProperties("AWS::ECS::Service", { Cluster: "prod" })
  })
})
