/**
 * `npm run bench:fsync`: how long the applier's synchronous file work blocks the event loop for
 * a fleet of N services (default 3,000, 3 instances each): staging a generation (every file
 * written in full, fsynced, read back; the directory fsynced) and installing it (symlink
 * rename, directory fsync), as the applier does on each reload. Meanwhile a loopback HTTP
 * server on the same event loop (as /healthz is) is asked every 20 ms; the script reports its
 * slowest answers (plan + render, also synchronous, are timed apart before). Bounded: `--generations` (default 10) applies, in a temporary directory.
 *
 *   npm run bench:fsync -- --services 3000 --generations 10 [--dir /path/on/the/volume]
 */
import { mkdtempSync, rmSync } from "node:fs"
import { createServer, get } from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { parseArgs } from "node:util"
import { Effect } from "effect"
import { makeGenerationStore } from "./bench/adapters/generations.ts"
import { renderSnapshot, type RenderSettings, type Snapshot } from "./bench/adapters/plan-render.ts"

const { values } = parseArgs({
  options: {
    services: { type: "string", default: "3000" },
    generations: { type: "string", default: "10" },
    dir: { type: "string" }
  }
})
const services = Number(values.services)
const generations = Math.min(50, Number(values.generations))

const snapshotOf = (n: number, port: number): Snapshot => ({
  takenAt: 0,
  namespaces: [{
    _tag: "Ok",
    mapping: { namespace: "apps", domain: "example.com", mode: "host" },
    id: "ns-apps",
    httpName: "apps",
    services: Array.from({ length: n }, (_, i) => ({
      _tag: "Ok" as const,
      id: `srv-${i}`,
      name: `svc-${i}`,
      createdAt: i,
      revision: 1,
      instances: Array.from({ length: 3 }, (_, j) => ({
        id: `i-${i}-${j}`,
        attributes: { AWS_INSTANCE_IPV4: `127.0.${Math.floor(i / 250)}.${(i % 250) + 1}`, AWS_INSTANCE_PORT: String(port + j) },
        health: "HEALTHY" as const
      }))
    }))
  }]
})

const root = values.dir ?? mkdtempSync(join(tmpdir(), "cmh-bench-fsync-"))
const settings: RenderSettings = {
  listenAddress: "127.0.0.1",
  listenPort: 8080,
  configDir: root,
  nbthread: 2,
  hardStopAfterSeconds: 60,
  defaultDomain: undefined,
  stats: undefined,
  metrics: undefined
}

// Rendered first (plan + render block the loop too: timed apart, not counted in the stall below).
const renderMs: Array<number> = []
const rendered = Array.from({ length: generations }, (_, g) => {
  const t = performance.now()
  // Each generation differs (a port moves), as a reload's would.
  const files = renderSnapshot(snapshotOf(services, 9000 + g), settings)
  renderMs.push(performance.now() - t)
  return files
})
const bytes = Object.values(rendered[0]!).reduce((n, f) => n + Buffer.byteLength(f), 0)

// A stand-in for /healthz on the same event loop, asked every 20 ms.
const server = createServer((_, res) => res.end("ok"))
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
const { port } = server.address() as AddressInfo
const latencies: Array<number> = []
let probing = true
const probe = async () => {
  while (probing) {
    const started = performance.now()
    await new Promise<void>((resolve) => get({ host: "127.0.0.1", port, path: "/healthz" }, (r) => r.resume().on("end", resolve)))
    latencies.push(performance.now() - started)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
const probing$ = probe()

const store = makeGenerationStore({ configDir: root })
const stageMs: Array<number> = []
const installMs: Array<number> = []
const pruneMs: Array<number> = []
try {
  for (let g = 0; g < generations; g++) {
    const files = rendered[g]!
    await new Promise((resolve) => setTimeout(resolve, 100)) // let the probe run between applies
    let t = performance.now()
    const staged = Effect.runSync(store.stage(files))
    stageMs.push(performance.now() - t)
    t = performance.now()
    Effect.runSync(store.install(staged))
    installMs.push(performance.now() - t)
    t = performance.now()
    Effect.runSync(store.prune)
    pruneMs.push(performance.now() - t)
  }
} finally {
  probing = false
  await probing$
  server.close()
  if (values.dir === undefined) rmSync(root, { recursive: true, force: true })
}

const sorted = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)
const p = (xs: ReadonlyArray<number>, q: number) => sorted(xs)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!
const ms = (x: number) => `${x.toFixed(1)} ms`
console.log(`${services} services, ${(bytes / 1024).toFixed(0)} KiB of files a generation, ${generations} generations in ${values.dir ?? "a temporary directory"}`)
console.log(`plan + render (not in the stall):  median ${ms(p(renderMs, 0.5))}, max ${ms(Math.max(...renderMs))}`)
console.log(`stage (write, fsync, read back):  median ${ms(p(stageMs, 0.5))}, max ${ms(Math.max(...stageMs))}`)
console.log(`install (rename, fsync dir):      median ${ms(p(installMs, 0.5))}, max ${ms(Math.max(...installMs))}`)
console.log(`prune (older generation removed):  median ${ms(p(pruneMs, 0.5))}, max ${ms(Math.max(...pruneMs))}`)
console.log(`loopback HTTP answers meanwhile:  ${latencies.length}, median ${ms(p(latencies, 0.5))}, p99 ${ms(p(latencies, 0.99))}, max ${ms(Math.max(...latencies))}`)
