/** The real AWS SDK client, pointed at a mock Cloud Map (fixed test credentials, no host prefix). */
import { ServiceDiscoveryClient } from "@aws-sdk/client-servicediscovery"

export const cloudMapClient = (endpoint: string, maxAttempts: number) =>
  new ServiceDiscoveryClient({
    region: "us-east-1",
    endpoint,
    disableHostPrefix: true,
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
    maxAttempts
  })

/** The attributes of an instance on 127.0.0.1:`port`. */
export const instanceAttributes = (port: number) => ({ AWS_INSTANCE_IPV4: "127.0.0.1", AWS_INSTANCE_PORT: String(port) })
