/**
 * The ECS task metadata v4 stub the mock serves beside Cloud Map: `GET /task-metadata/task`
 * answers a task document whose `AvailabilityZone` is the mock's zone, so
 * `ECS_CONTAINER_METADATA_URI_V4=http://127.0.0.1:<port>/task-metadata` lets the agent learn its
 * zone as it does on ECS. Only the fields the agent could read are there.
 */
import type { MockState } from "./state-model.ts"

/** The value for ECS_CONTAINER_METADATA_URI_V4 is the mock's URL followed by this. */
export const TASK_METADATA_PREFIX = "/task-metadata"
export const TASK_METADATA_TASK_PATH = `${TASK_METADATA_PREFIX}/task`

/** The zone the stub reports when none is configured: the fixture's region + "a" (us-east-1a). */
export const defaultMockZone = (region: string): string => `${region}a`

export const taskMetadataDocument = (state: Pick<MockState, "region" | "accountId">, zone: string | undefined) => ({
  Cluster: "mock",
  TaskARN: `arn:aws:ecs:${state.region}:${state.accountId}:task/mock/0123456789abcdef`,
  AvailabilityZone: zone ?? defaultMockZone(state.region),
  LaunchType: "FARGATE"
})
