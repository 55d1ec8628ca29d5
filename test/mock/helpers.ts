import { ServiceDiscoveryClient, type ServiceDiscoveryClientConfig } from "@aws-sdk/client-servicediscovery"
import type { Fixture } from "../../src/mock/fixture.ts"
import { type MockCloudMapHandle, type MockCloudMapOptions, startMockCloudMap } from "../../src/mock/server.ts"

/** A real SDK client pointed at the mock (the `data-` host prefix must be disabled). */
export const sdkClient = (url: string, extra: Partial<ServiceDiscoveryClientConfig> = {}): ServiceDiscoveryClient =>
  new ServiceDiscoveryClient({
    endpoint: url,
    disableHostPrefix: true,
    region: "eu-west-1",
    credentials: { accessKeyId: "AKIDMOCK", secretAccessKey: "mock-secret" },
    ...extra
  })

export interface MockSession {
  readonly mock: MockCloudMapHandle
  readonly client: ServiceDiscoveryClient
  /** Control API call; returns the parsed JSON body and the status. */
  readonly control: (method: string, path: string, body?: unknown) => Promise<{ status: number; json: any }>
}

/** Starts a mock on a random port, runs `f`, and always closes the client and the server. */
export const withMock = async <A>(
  fixture: Fixture,
  f: (s: MockSession) => Promise<A>,
  options: Partial<MockCloudMapOptions> & { readonly client?: Partial<ServiceDiscoveryClientConfig> } = {}
): Promise<A> => {
  const { client: clientConfig, ...rest } = options
  const mock = await startMockCloudMap({ port: 0, ...rest, fixture })
  const client = sdkClient(mock.url, clientConfig)
  const control = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(mock.url + path, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": "application/json" } })
    })
    return { status: res.status, json: await res.json() }
  }
  try {
    return await f({ mock, client, control })
  } finally {
    client.destroy()
    await mock.close()
  }
}

/** The error an SDK call rejects with (fails the test when it resolves). */
export const rejection = async (p: Promise<unknown>): Promise<any> => {
  try {
    await p
  } catch (e) {
    return e
  }
  throw new Error("expected the call to fail, but it succeeded")
}
