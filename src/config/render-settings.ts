/** AgentConfig → the renderer's settings (../render/settings.ts; passwords hashed once, here). */
import type { RenderSettings } from "../render/settings.ts"
import type { AgentConfig, Credentials } from "./agent-config.ts"
import { sha512Crypt } from "./password-hash.ts"

const hashed = (c: Credentials | undefined) =>
  c === undefined ? undefined : { user: c.user, passwordHash: sha512Crypt(c.password) }

export const toRenderSettings = (config: AgentConfig): RenderSettings => ({
  listenAddress: config.listenAddress,
  listenPort: config.listenPort,
  monitoringPort: config.monitoringPort,
  configDir: config.configDir,
  nbthread: config.nbthread,
  hardStopAfterSeconds: config.hardStopAfterSeconds,
  defaultDomain: config.defaultDomain,
  stats: hashed(config.stats),
  metrics: hashed(config.metrics)
})
