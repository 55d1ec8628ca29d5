/** ALLOW_INSTANCE_NETWORKS' kind: comma-separated CIDRs, each reported on its own when bad. */
import { Result } from "effect"
import { type Cidr, parseCidr } from "../plan/networks.ts"
import type { Issue, Kind } from "./table.ts"

export const instanceNetworkList: Kind<ReadonlyArray<Cidr>> = {
  parse: (raw) => {
    const parts = raw.split(",").map((p) => p.trim()).filter((p) => p !== "")
    const parsed = parts.map(parseCidr)
    const issues: Array<Issue> = parsed.flatMap((r) =>
      Result.isFailure(r) ? [{ expected: `comma-separated CIDRs such as 127.0.0.0/8,fd00::/8: ${r.failure}` }] : []
    )
    return issues.length > 0 ? Result.fail(issues) : Result.succeed(parsed.map((r) => Result.getOrThrow(r)))
  },
  encode: (networks) => networks.map((n) => n.text).join(",")
}
