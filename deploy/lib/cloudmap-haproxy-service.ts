/**
 * CloudMapHaproxyService: cloudmap-haproxy on ECS behind an Application Load Balancer, from a few
 * props. It creates the task definition (Fargate by default, EC2 bridge as an option) with the
 * agent's container and health check, the task role (Cloud Map read-only, the Discover* actions
 * limited to the mapped namespaces), the execution role (the two passwords from Secrets Manager or
 * SSM, never plain environment), the log group, the ALB (HTTPS, HTTP redirected to HTTPS), the
 * target group (traffic port, health check GET /readyz on the agent's port), the security groups
 * (the ALB reaches the tasks on the traffic and health ports only) and optional CPU autoscaling.
 * The VPC, the cluster and the Cloud Map namespaces are referenced, never created.
 */
import { Duration, Stack, Token, Validations } from "aws-cdk-lib"
import * as ec2 from "aws-cdk-lib/aws-ec2"
import * as ecs from "aws-cdk-lib/aws-ecs"
import * as elbv2 from "aws-cdk-lib/aws-elasticloadbalancingv2"
import * as iam from "aws-cdk-lib/aws-iam"
import * as logs from "aws-cdk-lib/aws-logs"
import { Construct } from "constructs"

/** One entry of NAMESPACE_MAP: a Cloud Map namespace routed under a domain. */
export interface NamespaceMapping {
  readonly namespace: string
  readonly domainname: string
  /** host: `<service>.<domainname>`; path: `<domainname>/<service>`. Default host. */
  readonly mode?: "host" | "path"
}

export interface CloudMapHaproxyServiceProps {
  /** The VPC of the cluster and of the backends (referenced, not created). */
  readonly vpc: ec2.IVpc
  /** The ECS cluster the service runs in (referenced, not created). */
  readonly cluster: ecs.ICluster
  /** The agent's image (the repository's Dockerfile), e.g. ecs.ContainerImage.fromEcrRepository(repo, "0.1.0"). */
  readonly image: ecs.ContainerImage
  /**
   * NAMESPACE_MAP: the namespaces to route. Their names also scope the task role's
   * DiscoverInstances and DiscoverInstancesRevision permission. As JSON with the namespace names
   * apart when they are CloudFormation parameters.
   */
  readonly namespaceMap: ReadonlyArray<NamespaceMapping> | { readonly json: string; readonly namespaces: ReadonlyArray<string> }
  /** ACM certificate of the HTTPS listener. */
  readonly certificateArn: string
  /** STATS_PASSWD: ecs.Secret.fromSecretsManager(...) or ecs.Secret.fromSsmParameter(...). */
  readonly statsPassword: ecs.Secret
  /** PROM_PASSWD, likewise. */
  readonly metricsPassword: ecs.Secret
  /** An internet-facing ALB (default) or an internal one. */
  readonly internetFacing?: boolean
  /** Who may reach the ALB's ports 443 and 80. Default: any IPv4 address. */
  readonly clientPeer?: ec2.IPeer
  /** Subnets of the tasks. Default: the VPC's private subnets with egress. */
  readonly taskSubnets?: ec2.SubnetSelection
  /** Subnets of the ALB. Default: public subnets when internet-facing, private ones otherwise. */
  readonly loadBalancerSubnets?: ec2.SubnetSelection
  /** Fargate with awsvpc networking (default), or EC2 container instances with bridge networking. */
  readonly launchType?: "FARGATE" | "EC2"
  /** Fargate task size: CPU units (default 1024) and memory in MiB (default 2048). */
  readonly cpu?: number
  readonly memoryLimitMiB?: number
  /** The image's architecture (Fargate). Default X86_64. */
  readonly cpuArchitecture?: ecs.CpuArchitecture
  /** Tasks to run (default 2). */
  readonly desiredCount?: number
  /** DRAIN_SECONDS (default 20): the task's stopTimeout is this plus 10 s, at most ECS's 120 s. */
  readonly drainSeconds?: number
  /** LISTEN_PORT, HAProxy's traffic port (default 8080). */
  readonly listenPort?: number
  /**
   * MONITORING_PORT (default 8404, HAProxy's convention): HAProxy's /stats and /metrics on a port
   * of their own, so every path of every host (an application's own /metrics too) reaches its
   * service. Not open to the ALB: allow your scrapers with monitoringPeer.
   */
  readonly monitoringPort?: number
  /** Who may reach MONITORING_PORT and HEALTH_PORT (Prometheus). Default: nobody but the ALB's health check. */
  readonly monitoringPeer?: ec2.IPeer
  /** HEALTH_PORT, the agent's /healthz /readyz /metrics /status (default 3000). */
  readonly healthPort?: number
  /** DEFAULT_DOMAIN: unknown hosts are redirected there. Default unset (404). */
  readonly defaultDomain?: string
  /** STATS_USER and PROM_USER (defaults "stats_user" and "stats", as the agent's). */
  readonly statsUser?: string
  readonly metricsUser?: string
  /** More variables for the agent (see docs/configuration.md). Never the passwords. */
  readonly environment?: Readonly<Record<string, string>>
  /** Days the agent's logs are kept (default one month). */
  readonly logRetention?: logs.RetentionDays
  /** CPU target tracking between min and max tasks. Default: none (desiredCount tasks). */
  readonly autoScaling?: { readonly minCapacity: number; readonly maxCapacity: number; readonly targetCpuPercent?: number }
  /** An S3 bucket for the ALB's access logs. Default none. */
  readonly accessLogs?: { readonly bucket: import("aws-cdk-lib/aws-s3").IBucket; readonly prefix?: string }
}

/** The variables that hold passwords: only ever set through `secrets`. */
const SECRET_VARIABLES = ["STATS_PASSWD", "PROM_PASSWD", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"]
/** ECS's largest stopTimeout (seconds). */
const MAX_STOP_TIMEOUT = 120
/** Seconds the task's stopTimeout gives HAProxy's stop after DRAIN_SECONDS. */
const STOP_MARGIN = 10

/** The IAM statements of the task role: examples/iam-policy.json for these namespaces, in this account and Region. */
export const cloudMapReadStatements = (stack: Stack, namespaces: ReadonlyArray<string>): Array<iam.PolicyStatement> => [
  new iam.PolicyStatement({
    sid: "ResolveNamespacesAndServices",
    actions: ["servicediscovery:ListNamespaces", "servicediscovery:ListServices"],
    resources: ["*"]
  }),
  new iam.PolicyStatement({
    sid: "ReadServiceAttributes",
    actions: ["servicediscovery:GetServiceAttributes"],
    resources: [stack.formatArn({ service: "servicediscovery", resource: "service", resourceName: "*" })]
  }),
  new iam.PolicyStatement({
    sid: "ReadInstancesOfTheMappedNamespaces",
    actions: ["servicediscovery:DiscoverInstances", "servicediscovery:DiscoverInstancesRevision"],
    resources: ["*"],
    conditions: { StringEquals: { "servicediscovery:NamespaceName": [...namespaces] } }
  }),
  new iam.PolicyStatement({
    sid: "FollowTheChangeFeed",
    actions: ["servicediscovery:ListOperations", "servicediscovery:GetOperation"],
    resources: ["*"]
  })
]

/** The service ARN pattern of cloudMapReadStatements as cdk-nag names it (tokens as `<AWS::Region>`). */
const serviceArnPattern = (stack: Stack): string => {
  const shown = (value: string, pseudo: string) => (Token.isUnresolved(value) ? `<AWS::${pseudo}>` : value)
  return `arn:<AWS::Partition>:servicediscovery:${shown(stack.region, "Region")}:${shown(stack.account, "AccountId")}:service/*`
}

export class CloudMapHaproxyService extends Construct {
  readonly taskDefinition: ecs.TaskDefinition
  readonly container: ecs.ContainerDefinition
  readonly service: ecs.FargateService | ecs.Ec2Service
  readonly loadBalancer: elbv2.ApplicationLoadBalancer
  readonly targetGroup: elbv2.ApplicationTargetGroup
  readonly httpsListener: elbv2.ApplicationListener
  readonly logGroup: logs.LogGroup
  readonly taskRole: iam.Role
  readonly loadBalancerSecurityGroup: ec2.SecurityGroup
  /** The tasks' security group (Fargate); with EC2 bridge networking the instances' group applies. */
  readonly serviceSecurityGroup: ec2.SecurityGroup | undefined

  constructor(scope: Construct, id: string, props: CloudMapHaproxyServiceProps) {
    super(scope, id)
    const fargate = (props.launchType ?? "FARGATE") === "FARGATE"
    const listenPort = props.listenPort ?? 8080
    const healthPort = props.healthPort ?? 3000
    const monitoringPort = props.monitoringPort ?? 8404
    const drainSeconds = props.drainSeconds ?? 20
    const stopTimeout = drainSeconds + STOP_MARGIN
    const internetFacing = props.internetFacing ?? true
    const cpu = props.cpu ?? 1024
    if (!Number.isInteger(drainSeconds) || drainSeconds < 0 || stopTimeout > MAX_STOP_TIMEOUT) {
      throw new Error(`drainSeconds must be an integer from 0 to ${MAX_STOP_TIMEOUT - STOP_MARGIN} (the task's stopTimeout is drainSeconds + ${STOP_MARGIN} s, and ECS allows at most ${MAX_STOP_TIMEOUT} s), not ${drainSeconds}`)
    }
    if (new Set([listenPort, healthPort, monitoringPort]).size !== 3) {
      throw new Error(`listenPort, healthPort and monitoringPort must differ (${listenPort}, ${healthPort}, ${monitoringPort})`)
    }
    const namespaceMap = "json" in props.namespaceMap
      ? props.namespaceMap
      : {
        json: JSON.stringify(props.namespaceMap.map((m) => ({ namespace: m.namespace, domainname: m.domainname, mode: m.mode ?? "host" }))),
        namespaces: props.namespaceMap.map((m) => m.namespace)
      }
    if (namespaceMap.namespaces.length === 0) throw new Error("namespaceMap must name at least one namespace")
    const passwordsInEnvironment = Object.keys(props.environment ?? {}).filter((name) => SECRET_VARIABLES.includes(name))
    if (passwordsInEnvironment.length > 0) {
      throw new Error(`${passwordsInEnvironment.join(", ")} must not be in environment: pass statsPassword and metricsPassword (ecs.Secret), which ECS reads at task start`)
    }

    this.logGroup = new logs.LogGroup(this, "Logs", { retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH })

    this.taskRole = new iam.Role(this, "TaskRole", {
      assumedBy: new iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
      description: "cloudmap-haproxy: reads Cloud Map (namespaces, services, instances, operations)"
    })
    for (const statement of cloudMapReadStatements(Stack.of(this), namespaceMap.namespaces)) this.taskRole.addToPolicy(statement)

    const executionRole = new iam.Role(this, "ExecutionRole", {
      assumedBy: new iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
      description: "cloudmap-haproxy: pulls the image, writes the logs, reads the two passwords at task start"
    })

    this.taskDefinition = fargate
      ? new ecs.FargateTaskDefinition(this, "TaskDefinition", {
        cpu,
        memoryLimitMiB: props.memoryLimitMiB ?? 2048,
        runtimePlatform: { operatingSystemFamily: ecs.OperatingSystemFamily.LINUX, cpuArchitecture: props.cpuArchitecture ?? ecs.CpuArchitecture.X86_64 },
        taskRole: this.taskRole,
        executionRole
      })
      : new ecs.Ec2TaskDefinition(this, "TaskDefinition", { networkMode: ecs.NetworkMode.BRIDGE, taskRole: this.taskRole, executionRole })

    const environment: Record<string, string> = {
      AWS_REGION: Stack.of(this).region,
      NAMESPACE_MAP: namespaceMap.json,
      LISTEN_PORT: String(listenPort),
      MONITORING_PORT: String(monitoringPort),
      HEALTH_ADDRESS: "0.0.0.0",
      HEALTH_PORT: String(healthPort),
      DRAIN_SECONDS: String(drainSeconds),
      // On EC2 the agent's default counts the host's CPUs; one HAProxy thread per vCPU, at most 4.
      HAPROXY_NBTHREAD: Token.isUnresolved(cpu) ? "1" : String(Math.min(4, Math.max(1, Math.floor(cpu / 1024)))),
      STATS_USER: props.statsUser ?? "stats_user",
      PROM_USER: props.metricsUser ?? "stats",
      ...(props.defaultDomain === undefined ? {} : { DEFAULT_DOMAIN: props.defaultDomain }),
      ...props.environment
    }

    this.container = this.taskDefinition.addContainer("agent", {
      containerName: "cloudmap-haproxy",
      image: props.image,
      essential: true,
      ...(fargate ? {} : { memoryLimitMiB: props.memoryLimitMiB ?? 2048, cpu }),
      environment,
      secrets: { STATS_PASSWD: props.statsPassword, PROM_PASSWD: props.metricsPassword },
      portMappings: [
        { name: "http", containerPort: listenPort, ...(fargate ? {} : { hostPort: 0 }), protocol: ecs.Protocol.TCP, appProtocol: ecs.AppProtocol.http },
        // Bridge: a fixed host port, since the ALB's health check names one port (one task per instance).
        { name: "agent", containerPort: healthPort, ...(fargate ? {} : { hostPort: healthPort }), protocol: ecs.Protocol.TCP, appProtocol: ecs.AppProtocol.http },
        { name: "monitoring", containerPort: monitoringPort, ...(fargate ? {} : { hostPort: monitoringPort }), protocol: ecs.Protocol.TCP, appProtocol: ecs.AppProtocol.http }
      ],
      healthCheck: {
        command: ["CMD", "cloudmap-haproxy", "healthcheck"],
        interval: Duration.seconds(10),
        timeout: Duration.seconds(5),
        retries: 3,
        startPeriod: Duration.seconds(60)
      },
      stopTimeout: Duration.seconds(stopTimeout),
      linuxParameters: new ecs.LinuxParameters(this, "LinuxParameters", { initProcessEnabled: true }),
      ulimits: [{ name: ecs.UlimitName.NOFILE, softLimit: 65536, hardLimit: 65536 }],
      logging: ecs.LogDrivers.awsLogs({ logGroup: this.logGroup, streamPrefix: "edge" })
    })

    this.loadBalancerSecurityGroup = new ec2.SecurityGroup(this, "LoadBalancerSecurityGroup", {
      vpc: props.vpc,
      description: "cloudmap-haproxy ALB: HTTPS and HTTP (redirected) from clients; out to the tasks traffic and health ports only",
      allowAllOutbound: false
    })
    const clients = props.clientPeer ?? ec2.Peer.anyIpv4()
    this.loadBalancerSecurityGroup.addIngressRule(clients, ec2.Port.tcp(443), "HTTPS from clients")
    this.loadBalancerSecurityGroup.addIngressRule(clients, ec2.Port.tcp(80), "HTTP from clients, redirected to HTTPS")

    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, "LoadBalancer", {
      vpc: props.vpc,
      internetFacing,
      securityGroup: this.loadBalancerSecurityGroup,
      vpcSubnets: props.loadBalancerSubnets ?? { subnetType: internetFacing ? ec2.SubnetType.PUBLIC : ec2.SubnetType.PRIVATE_WITH_EGRESS },
      dropInvalidHeaderFields: true,
      // HAProxy's keep-alive timeout (65 s) stays above this, so the ALB closes idle connections first.
      idleTimeout: Duration.seconds(60)
    })
    if (props.accessLogs !== undefined) this.loadBalancer.logAccessLogs(props.accessLogs.bucket, props.accessLogs.prefix)

    this.targetGroup = new elbv2.ApplicationTargetGroup(this, "TargetGroup", {
      vpc: props.vpc,
      port: listenPort,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targetType: fargate ? elbv2.TargetType.IP : elbv2.TargetType.INSTANCE,
      // The ALB stops sending new requests at once; requests in flight get DRAIN_SECONDS + 10 s,
      // as long as the task's stopTimeout, before ECS stops the task.
      deregistrationDelay: Duration.seconds(stopTimeout),
      healthCheck: {
        path: "/readyz",
        port: String(healthPort),
        protocol: elbv2.Protocol.HTTP,
        healthyHttpCodes: "200",
        interval: Duration.seconds(10),
        timeout: Duration.seconds(5),
        healthyThresholdCount: 2,
        unhealthyThresholdCount: 2
      }
    })

    this.httpsListener = this.loadBalancer.addListener("Https", {
      port: 443,
      protocol: elbv2.ApplicationProtocol.HTTPS,
      certificates: [elbv2.ListenerCertificate.fromArn(props.certificateArn)],
      sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
      defaultTargetGroups: [this.targetGroup],
      open: false
    })
    this.loadBalancer.addRedirect({ sourcePort: 80, sourceProtocol: elbv2.ApplicationProtocol.HTTP, targetPort: 443, targetProtocol: elbv2.ApplicationProtocol.HTTPS, open: false })

    const common = {
      cluster: props.cluster,
      taskDefinition: this.taskDefinition,
      desiredCount: props.desiredCount ?? 2,
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      circuitBreaker: { rollback: true },
      // The first discovery reads every mapped service before /readyz passes.
      healthCheckGracePeriod: Duration.seconds(60)
    }
    if (fargate) {
      this.serviceSecurityGroup = new ec2.SecurityGroup(this, "ServiceSecurityGroup", {
        vpc: props.vpc,
        description: "cloudmap-haproxy tasks: traffic and health ports from the ALB; out to Cloud Map and the backends",
        allowAllOutbound: true
      })
      this.service = new ecs.FargateService(this, "Service", {
        ...common,
        taskDefinition: this.taskDefinition as ecs.FargateTaskDefinition,
        securityGroups: [this.serviceSecurityGroup],
        vpcSubnets: props.taskSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
        assignPublicIp: false
      })
    } else {
      this.serviceSecurityGroup = undefined
      this.service = new ecs.Ec2Service(this, "Service", {
        ...common,
        placementConstraints: [ecs.PlacementConstraint.distinctInstances()]
      })
    }
    this.service.attachToApplicationTargetGroup(this.targetGroup)
    if (this.serviceSecurityGroup !== undefined) {
      // Exactly the two ports: attachToApplicationTargetGroup opens the traffic port; the health port too.
      this.serviceSecurityGroup.connections.allowFrom(this.loadBalancerSecurityGroup, ec2.Port.tcp(listenPort), "HAProxy's traffic port from the ALB")
      this.serviceSecurityGroup.connections.allowFrom(this.loadBalancerSecurityGroup, ec2.Port.tcp(healthPort), "the agent's /readyz from the ALB's health check")
      if (props.monitoringPeer !== undefined) {
        this.serviceSecurityGroup.addIngressRule(props.monitoringPeer, ec2.Port.tcp(monitoringPort), "HAProxy's /stats and /metrics for monitoring")
        this.serviceSecurityGroup.addIngressRule(props.monitoringPeer, ec2.Port.tcp(healthPort), "the agent's /metrics and /status for monitoring")
      }
    }

    if (props.autoScaling !== undefined) {
      const { minCapacity, maxCapacity, targetCpuPercent = 60 } = props.autoScaling
      this.service.autoScaleTaskCount({ minCapacity, maxCapacity })
        .scaleOnCpuUtilization("Cpu", { targetUtilizationPercent: targetCpuPercent, scaleInCooldown: Duration.seconds(300), scaleOutCooldown: Duration.seconds(60) })
    }

    this.acknowledgeFindings(props)
  }

  /** The AwsSolutions findings this design accepts, each with its reason. */
  private acknowledgeFindings(props: CloudMapHaproxyServiceProps): void {
    Validations.of(this.taskRole).acknowledge({
      id: "AwsSolutions-IAM5[Resource::*]",
      reason: "ListNamespaces, ListServices, ListOperations and GetOperation support no resource-level permissions (Resource must be *); DiscoverInstances and DiscoverInstancesRevision are limited to the mapped namespaces by the servicediscovery:NamespaceName condition."
    })
    Validations.of(this.taskRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${serviceArnPattern(Stack.of(this))}]`,
      reason: "GetServiceAttributes is read-only and the agent reads the attributes of every service of the mapped namespaces, whose ids it learns at run time; service ARNs carry no namespace name to scope them by."
    })
    Validations.of(this.taskDefinition).acknowledge({
      id: "AwsSolutions-ECS2",
      reason: "The environment holds only non-secret settings (NAMESPACE_MAP, ports, user names); both passwords come from Secrets Manager or SSM through `secrets`, and the construct refuses them in environment."
    })
    if (props.image instanceof ecs.EcrImage) {
      Validations.of(this.taskDefinition.obtainExecutionRole()).acknowledge({
        id: "AwsSolutions-IAM5[Resource::*]",
        reason: "ecr:GetAuthorizationToken supports no resource-level permissions (Resource must be *); pulling is limited to the image's repository."
      })
    }
    if (props.clientPeer === undefined) {
      Validations.of(this.loadBalancerSecurityGroup).acknowledge({
        id: "AwsSolutions-EC23",
        reason: "The ALB is the public edge of the routed services: clients anywhere reach 443, and 80 only to be redirected to HTTPS. Pass clientPeer to narrow it."
      })
    }
    if (props.accessLogs === undefined) {
      Validations.of(this.loadBalancer).acknowledge({
        id: "AwsSolutions-ELB2",
        reason: "Access logs need an S3 bucket with a policy for the Region's ELB account, owned by the operator: pass accessLogs to turn them on. HAProxy's own counters are in its /metrics."
      })
    }
  }
}
