/**
 * Change the (mock) Cloud Map while the agent runs, with the real AWS SDK:
 *   bun scripts/cloudmap.ts register   <namespace> <service> <instance-id> <ip> <port> [<availability-zone>]
 *   bun scripts/cloudmap.ts deregister <namespace> <service> <instance-id>
 *   bun scripts/cloudmap.ts health     <namespace> <service> <instance-id> HEALTHY|UNHEALTHY
 *   bun scripts/cloudmap.ts list       <namespace>
 * Endpoint: AWS_ENDPOINT_URL_SERVICEDISCOVERY (default http://127.0.0.1:4566, the demo's mock).
 * A service that does not exist yet is created on register.
 */
import {
  CreateServiceCommand,
  DeregisterInstanceCommand,
  DiscoverInstancesCommand,
  ListNamespacesCommand,
  ListServicesCommand,
  RegisterInstanceCommand,
  ServiceDiscoveryClient,
  UpdateInstanceCustomHealthStatusCommand
} from "@aws-sdk/client-servicediscovery"
import process from "node:process"

const endpoint = process.env.AWS_ENDPOINT_URL_SERVICEDISCOVERY ?? "http://127.0.0.1:4566"
const client = new ServiceDiscoveryClient({
  region: process.env.AWS_REGION ?? "us-east-1",
  endpoint,
  disableHostPrefix: true,
  credentials: { accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? "demo", secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? "demo" }
})

const namespaceId = async (name: string) => {
  const r = await client.send(new ListNamespacesCommand({}))
  const id = r.Namespaces?.find((n) => n.Name === name)?.Id
  if (id === undefined) throw new Error(`namespace ${name} not found at ${endpoint}`)
  return id
}

const serviceId = async (namespace: string, service: string, create: boolean) => {
  const ns = await namespaceId(namespace)
  const r = await client.send(new ListServicesCommand({ Filters: [{ Name: "NAMESPACE_ID", Values: [ns] }] }))
  const found = r.Services?.find((s) => s.Name === service)?.Id
  if (found !== undefined) return found
  if (!create) throw new Error(`service ${service} not found in ${namespace}`)
  const created = await client.send(new CreateServiceCommand({ NamespaceId: ns, Name: service, HealthCheckCustomConfig: {} }))
  return created.Service!.Id!
}

const [command, namespace, service, instance, a, b, zone] = process.argv.slice(2)
try {
  if (command === "register" && namespace && service && instance && a && b) {
    await client.send(new RegisterInstanceCommand({
      ServiceId: await serviceId(namespace, service, true),
      InstanceId: instance,
      // ECS registers the task's zone too; without one, zone affinity makes the instance a backup.
      Attributes: { AWS_INSTANCE_IPV4: a, AWS_INSTANCE_PORT: b, ...(zone === undefined ? {} : { AVAILABILITY_ZONE: zone }) }
    }))
    console.log(`registered ${instance} (${a}:${b}${zone === undefined ? "" : `, ${zone}`}) in ${namespace}/${service}`)
  } else if (command === "deregister" && namespace && service && instance) {
    await client.send(new DeregisterInstanceCommand({ ServiceId: await serviceId(namespace, service, false), InstanceId: instance }))
    console.log(`deregistered ${instance} from ${namespace}/${service}`)
  } else if (command === "health" && namespace && service && instance && (a === "HEALTHY" || a === "UNHEALTHY")) {
    await client.send(new UpdateInstanceCustomHealthStatusCommand({ ServiceId: await serviceId(namespace, service, false), InstanceId: instance, Status: a }))
    console.log(`${instance} is now ${a}`)
  } else if (command === "list" && namespace) {
    const ns = await namespaceId(namespace)
    const r = await client.send(new ListServicesCommand({ Filters: [{ Name: "NAMESPACE_ID", Values: [ns] }] }))
    for (const s of r.Services ?? []) {
      const d = await client.send(new DiscoverInstancesCommand({ NamespaceName: namespace, ServiceName: s.Name!, HealthStatus: "ALL" }))
      console.log(`${s.Name}: ${(d.Instances ?? []).map((i) => `${i.InstanceId}=${i.Attributes?.AWS_INSTANCE_IPV4}:${i.Attributes?.AWS_INSTANCE_PORT} ${i.HealthStatus}`).join(", ") || "(no instances)"}`)
    }
  } else {
    console.error("usage: bun scripts/cloudmap.ts register|deregister|health|list <namespace> [<service> <instance-id> ...] (register: <ip> <port> [<availability-zone>])")
    process.exit(64)
  }
} catch (e) {
  console.error(String((e as Error).message ?? e))
  process.exit(1)
}
