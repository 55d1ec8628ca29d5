/**
 * The environment HAProxy (and `haproxy -c`) is started with: an allow-list, never the agent's
 * own environment, which holds STATS_PASSWD, PROM_PASSWD and AWS credentials (`show env` on the
 * admin socket and /proc/<pid>/environ would show them). The configuration the agent renders
 * references no environment variable, so HAProxy needs only these.
 */
const ALLOWED = new Set(["PATH", "TZ", "LANG", "LANGUAGE", "TMPDIR"])

export const haproxyEnvironment = (env: Readonly<Record<string, string | undefined>>): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && (ALLOWED.has(name) || name.startsWith("LC_"))) out[name] = value
  }
  out.PATH ??= "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
  return out
}
