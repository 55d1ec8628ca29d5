/** Desired states for the apply tests: host-mode backends `be_<name>.example.com` on 10.0.0.1. */
import { DEFAULT_OPTIONS } from "../../src/model/service-options.ts"
import type { Backend, Desired } from "../../src/model/desired.ts"

export const backend = (name: string, ports: ReadonlyArray<number>): Backend => ({
  name: `be_${name}.example.com`,
  namespace: "apps",
  service: name,
  serviceId: `srv-${name}`,
  mode: "host",
  route: `${name}.example.com`,
  servers: ports.map((port, i) => ({ name: `i-${name}-${i}`, instanceId: `i-${name}-${i}`, address: "10.0.0.1", port, health: undefined, weight: 1, backup: false, zone: undefined })),
  options: DEFAULT_OPTIONS,
  zone: undefined
})

export const desired = (...backends: ReadonlyArray<Backend>): Desired => ({
  backends,
  hostRoutes: backends.map((b) => ({ host: b.route, backend: b.name })),
  pathRoutes: [],
  quarantined: [],
  ignoredOptions: []
})
