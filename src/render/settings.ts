/**
 * Everything the renderer needs besides the Desired routing: where HAProxy listens, where its
 * files and sockets live, and the monitoring credentials: the renderer's input, so it lives
 * beside it. Built from AgentConfig in one place, ../config/render-settings.ts; every value is
 * already validated (ports in range, absolute paths, hashed passwords).
 */
export interface MonitoringUser {
  readonly user: string
  /** SHA-512-crypt hash (`$6$salt$...`): the plaintext password never reaches a file. */
  readonly passwordHash: string
}

export interface RenderSettings {
  /** Address HAProxy's HTTP frontend binds to; `*` for every address. */
  readonly listenAddress: string
  readonly listenPort: number
  /**
   * Port of a frontend of its own for /stats and /metrics (on listenAddress); undefined: they are
   * claimed on the traffic port, on every host.
   */
  readonly monitoringPort?: number | undefined
  /** Absolute directory holding haproxy.cfg, the map files and the sockets. */
  readonly configDir: string
  readonly nbthread: number
  readonly hardStopAfterSeconds: number
  /** Unknown hosts are redirected to `http://<defaultDomain>`; undefined gives 404. */
  readonly defaultDomain: string | undefined
  /** HAProxy stats page at /stats; undefined disables it. */
  readonly stats: MonitoringUser | undefined
  /** Prometheus exporter at /metrics; undefined disables it. */
  readonly metrics: MonitoringUser | undefined
}
