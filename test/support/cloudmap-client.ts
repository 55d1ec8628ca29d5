/** The agent's Cloud Map client options for a test against the mock: generous rates, short timeouts. */
import type { CloudMapClientOptions } from "../../src/cloudmap/client.ts"

export const testClientOptions = (url: string, extra: Partial<CloudMapClientOptions> = {}): CloudMapClientOptions => ({
  region: "us-east-1",
  endpoint: url,
  concurrency: 8,
  requestsPerSecond: 1000,
  readsPerSecond: 1000,
  startupPerSecond: 1000,
  controlPerSecond: 1000,
  feedPerSecond: 1000,
  timeoutSeconds: 5,
  maxAttempts: 4,
  ...extra
})
