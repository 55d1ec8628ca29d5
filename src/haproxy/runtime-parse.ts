/**
 * Pure models and parsers for the answers of HAProxy's runtime API (admin socket):
 * `show servers state`, `show stat` and `set server ... addr`. No I/O; tested
 * with captured answers.
 */

// ---------------------------------------------------------------------------
// Models and parsers (pure)

export type ServerAdminState = "ready" | "drain" | "maint"
export type ServerOperationalState = "stopped" | "starting" | "running" | "stopping" | "unknown"

export interface ServerStateRecord {
  readonly backendId: number
  readonly backendName: string
  readonly serverId: number
  readonly serverName: string
  readonly address: string
  readonly port: number
  readonly operationalState: ServerOperationalState
  /** srv_op_state: 0 stopped, 1 starting, 2 running, 3 stopping. */
  readonly operationalStateCode: number
  /** Summary of the admin bit field: any MAINT flag → maint, else any DRAIN flag → drain, else ready. */
  readonly adminState: ServerAdminState
  /** srv_admin_state bit field (0x01 FMAINT, 0x02 IMAINT, 0x04 CMAINT, 0x08 FDRAIN, 0x10 IDRAIN, 0x20 RMAINT, 0x40 HMAINT). */
  readonly adminStateCode: number
  readonly userWeight: number
  readonly initialWeight: number
  readonly checkStatus: number
  readonly checkResult: number
  readonly checkHealth: number
  readonly checkState: number
  readonly fqdn: string | undefined
  /** Every column by its header name, as text. */
  readonly columns: Readonly<Record<string, string>>
}

const OP_STATES: ReadonlyArray<ServerOperationalState> = ["stopped", "starting", "running", "stopping"]

export const adminStateOf = (code: number): ServerAdminState =>
  (code & (0x01 | 0x02 | 0x04 | 0x20 | 0x40)) !== 0 ? "maint" : (code & (0x08 | 0x10)) !== 0 ? "drain" : "ready"

/** Parses `show servers state` (format version 1); a string explains why the text is not that. */
export const parseServersState = (text: string): ReadonlyArray<ServerStateRecord> | string => {
  const lines = text.split("\n").map((l) => l.trimEnd()).filter((l) => l !== "")
  if (lines[0] !== "1") return "expected format version line `1`"
  const header = lines[1]
  if (header === undefined || !header.startsWith("# ")) return "missing `# be_id be_name ...` header"
  const names = header.slice(2).trim().split(/\s+/)
  const records: Array<ServerStateRecord> = []
  for (const line of lines.slice(2)) {
    if (line.startsWith("#")) continue
    const fields = line.split(" ")
    const columns: Record<string, string> = {}
    names.forEach((name, i) => {
      columns[name] = fields[i] ?? ""
    })
    const num = (name: string) => Number(columns[name] ?? "NaN")
    if (!Number.isFinite(num("be_id")) || columns["srv_name"] === undefined) {
      return `unrecognised server line ${JSON.stringify(line)}`
    }
    const op = num("srv_op_state")
    const admin = num("srv_admin_state")
    const fqdn = columns["srv_fqdn"]
    records.push({
      backendId: num("be_id"),
      backendName: columns["be_name"] ?? "",
      serverId: num("srv_id"),
      serverName: columns["srv_name"] ?? "",
      address: columns["srv_addr"] ?? "",
      port: num("srv_port"),
      operationalState: OP_STATES[op] ?? "unknown",
      operationalStateCode: op,
      adminState: adminStateOf(admin),
      adminStateCode: admin,
      userWeight: num("srv_uweight"),
      initialWeight: num("srv_iweight"),
      checkStatus: num("srv_check_status"),
      checkResult: num("srv_check_result"),
      checkHealth: num("srv_check_health"),
      checkState: num("srv_check_state"),
      fqdn: fqdn === undefined || fqdn === "-" ? undefined : fqdn,
      columns
    })
  }
  return records
}

export interface StatRecord {
  readonly proxy: string
  /** FRONTEND, BACKEND or the server name. */
  readonly service: string
  /** Current sessions. */
  readonly scur: number
  readonly status: string
  readonly columns: Readonly<Record<string, string>>
}

/** Parses `show stat` CSV. */
export const parseShowStat = (text: string): ReadonlyArray<StatRecord> | string => {
  const lines = text.split("\n").map((l) => l.trimEnd()).filter((l) => l !== "")
  const header = lines[0]
  if (header === undefined || !header.startsWith("# pxname,svname,")) return "missing `# pxname,svname,...` header"
  const names = header.slice(2).split(",")
  return lines.slice(1).map((line) => {
    const fields = line.split(",")
    const columns: Record<string, string> = {}
    names.forEach((name, i) => {
      if (name !== "") columns[name] = fields[i] ?? ""
    })
    return {
      proxy: columns["pxname"] ?? "",
      service: columns["svname"] ?? "",
      scur: Number(columns["scur"] || "0"),
      status: columns["status"] ?? "",
      columns
    }
  })
}

/** Answers to `set server ... addr` that mean the change was applied (2.6 and 3.x wordings). */
export const isAddrChangeOk = (answer: string): boolean =>
  /^(IP changed from|no need to change the addr|port changed from|nothing changed)/.test(answer.trim()) &&
  !/invalid|can't|cannot|not supported|only supported|problem|No such|Require|Unknown/i.test(answer)

