/**
 * `cloudmap-haproxy render [--out DIR]`: one discovery with the agent's configuration, then the
 * rendered haproxy.cfg and maps (printed, or written to DIR) and a summary of routes and
 * quarantined records on stderr. Touches no running HAProxy.
 */
import { instanceNetworksOf } from "../config/instance-networks.ts"
import { resolve } from "node:path"
import process from "node:process"
import { Effect } from "effect"
import { discover } from "../cloudmap/discovery.ts"
import { toRenderSettings } from "../config/render-settings.ts"
import { plan } from "../plan/plan.ts"
import { writeFileSet } from "../apply/files.ts"
import { render, renderSummary } from "../render/render.ts"
import { HELP_FLAG } from "../config/flags.ts"
import type { CommandSpec } from "../config/help.ts"
import { cloudMapLayer } from "../cloudmap/layer.ts"
import { loadConfig } from "../config/load.ts"
import { withFlags } from "./cli.ts"

export const RENDER: CommandSpec = {
  name: "render",
  summary: "one discovery; print (or write) haproxy.cfg and the maps",
  description: [
    "Runs one Cloud Map discovery with the agent's environment and prints haproxy.cfg, hosts.map and paths.map to stdout, or writes them to DIR (files 0600; a new DIR is 0700; map names inside haproxy.cfg are relative to it, the admin socket path points into it). A summary of routes and quarantined records goes to stderr. Touches no running HAProxy."
  ],
  flags: [{ name: "out", value: "DIR", meaning: "write the files to DIR instead of printing them" }, HELP_FLAG],
  variables: "all",
  exitCodes: [
    [0, "rendered"],
    [1, "DIR could not be written"],
    [2, "Cloud Map could not be read (or some reads failed)"],
    [78, "an invalid variable"]
  ]
}

export const renderCommand = (argv: ReadonlyArray<string>) =>
  withFlags(RENDER, argv, (args) =>
    Effect.gen(function*() {
      const config = yield* loadConfig
      const out = args.flags.get("out")
      const settings = toRenderSettings(config)
      const effectiveSettings = out === undefined ? settings : { ...settings, configDir: resolve(out) }
      const discovered = yield* discover(config.namespaces, config.region, config.healthFilter).pipe(
        Effect.provide(cloudMapLayer(config)),
        Effect.result
      )
      if (discovered._tag === "Failure") {
        process.stderr.write(`Cloud Map could not be read: ${discovered.failure.message}\n`)
        return 2
      }
      const snapshot = discovered.success
      const desired = plan(snapshot, { defaultInstancePort: config.defaultInstancePort, instanceNetworks: instanceNetworksOf(config) })
      const files = render(desired, effectiveSettings)
      const failures = snapshot.namespaces.flatMap((n) =>
        n._tag === "Failed"
          ? [`namespace ${n.mapping.namespace}: ${n.error}`]
          : n.services.flatMap((s) => (s._tag === "Failed" ? [`service ${n.mapping.namespace}/${s.name}: ${s.error}`] : []))
      )
      process.stderr.write(renderSummary(desired))
      if (failures.length > 0) process.stderr.write(`\nCloud Map errors:\n${failures.map((f) => `  ${f}`).join("\n")}\n`)
      if (out === undefined) {
        for (const [name, content] of Object.entries(files)) process.stdout.write(`# ===== ${name} =====\n${content}`)
      } else {
        const written = yield* Effect.result(writeFileSet(resolve(out), files))
        if (written._tag === "Failure") {
          process.stderr.write(`could not write the configuration: ${written.failure.message}\n`)
          return 1
        }
        process.stderr.write(`wrote ${Object.keys(files).join(", ")} to ${resolve(out)}\n`)
      }
      return failures.length > 0 ? 2 : 0
    }))
