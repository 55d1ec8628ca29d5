/** Variables that look like ours but are not: typos are found, what others set is left alone. */
import { describe, expect, it } from "vitest"
import { unknownVariables } from "../../src/config/unknown-variables.ts"

describe("unknownVariables", () => {
  it("finds typos of our variables with the one meant", () => {
    expect(unknownVariables({ REFRESH_RAT: "5", STATS_PASSWORD: "x", refresh_rate: "5", LISTEN_PROT: "80", LOGLEVEL: "debug" })).toEqual([
      { name: "LISTEN_PROT", meant: "LISTEN_PORT" },
      { name: "LOGLEVEL", meant: "LOG_LEVEL" },
      { name: "REFRESH_RAT", meant: "REFRESH_RATE" },
      { name: "STATS_PASSWORD", meant: "STATS_PASSWD" },
      { name: "refresh_rate", meant: "REFRESH_RATE" }
    ])
  })

  it("leaves our variables, their aliases and what ECS, the image and the shell set alone", () => {
    expect(unknownVariables({
      REFRESH_RATE: "30",
      AWS_DEFAULT_REGION: "us-east-1",
      AWS_REGION: "us-east-1",
      ECS_CONTAINER_METADATA_URI: "http://169.254.170.2/v3/x",
      ECS_CONTAINER_METADATA_URI_V4: "http://169.254.170.2/v4/x",
      ECS_AGENT_URI: "http://169.254.170.2/api/x",
      AWS_EXECUTION_ENV: "AWS_ECS_FARGATE",
      AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: "/v2/credentials/x",
      AWS_PROFILE: "dev",
      AWS_ACCESS_KEY_ID: "x",
      HAPROXY_VERSION: "3.2.21",
      HAPROXY_URL: "https://example.invalid/haproxy.tar.gz",
      HAPROXY_SHA256: "x",
      PATH: "/usr/bin",
      HOME: "/root",
      HOSTNAME: "ip-10-0-1-2",
      PORT: "80",
      NODE_ENV: "production"
    })).toEqual([])
  })
})
