/** The real AWS SDK pointed at a mock Cloud Map, for tests that change registrations. */
import {
  CreateServiceCommand,
  DeregisterInstanceCommand,
  ListNamespacesCommand,
  DiscoverInstancesRevisionCommand,
  RegisterInstanceCommand,
  ServiceDiscoveryClient,
  UpdateInstanceCustomHealthStatusCommand,
  UpdateServiceAttributesCommand
} from "@aws-sdk/client-servicediscovery"

export const sdkFor = (url: string) =>
  new ServiceDiscoveryClient({
    region: "us-east-1",
    endpoint: url,
    disableHostPrefix: true,
    credentials: { accessKeyId: "test", secretAccessKey: "test" }
  })

export const namespaceId = async (client: ServiceDiscoveryClient, name: string) => {
  const r = await client.send(new ListNamespacesCommand({}))
  const ns = r.Namespaces?.find((n) => n.Name === name)
  if (ns?.Id === undefined) throw new Error(`no namespace ${name}`)
  return ns.Id
}

export const register = (client: ServiceDiscoveryClient, serviceId: string, instanceId: string, port: number | string, ip = "127.0.0.1") =>
  client.send(new RegisterInstanceCommand({
    ServiceId: serviceId,
    InstanceId: instanceId,
    Attributes: { AWS_INSTANCE_IPV4: ip, AWS_INSTANCE_PORT: String(port) }
  }))

export const deregister = (client: ServiceDiscoveryClient, serviceId: string, instanceId: string) =>
  client.send(new DeregisterInstanceCommand({ ServiceId: serviceId, InstanceId: instanceId }))

export const createService = async (client: ServiceDiscoveryClient, namespace: string, name: string) => {
  const r = await client.send(new CreateServiceCommand({
    NamespaceId: namespace,
    Name: name,
    HealthCheckCustomConfig: {}
  }))
  return r.Service!.Id!
}

export const setHealth = (client: ServiceDiscoveryClient, serviceId: string, instanceId: string, status: "HEALTHY" | "UNHEALTHY") =>
  client.send(new UpdateInstanceCustomHealthStatusCommand({ ServiceId: serviceId, InstanceId: instanceId, Status: status }))

export const revisionOf = async (client: ServiceDiscoveryClient, namespace: string, service: string) =>
  (await client.send(new DiscoverInstancesRevisionCommand({ NamespaceName: namespace, ServiceName: service }))).InstancesRevision

/**
 * A new service with options no other service has (`haproxy.timeout.server` of `seconds`, read
 * before it is first routed): on HAProxy 3.4 too it takes a reload, its option profile not being
 * loaded yet (docs/haproxy-runtime-backends.md). For tests about the reload path.
 */
export const createServiceNeedingReload = async (client: ServiceDiscoveryClient, namespace: string, name: string, seconds: number) => {
  const id = await createService(client, namespace, name)
  await client.send(new UpdateServiceAttributesCommand({ ServiceId: id, Attributes: { "haproxy.timeout.server": `${seconds}s` } }))
  return id
}
