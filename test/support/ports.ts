import { createServer } from "node:net"

/**
 * Ports handed out below the kernel's ephemeral range (32768–60999 on Linux). A port the kernel
 * picked for a listener and then released can be taken by any outgoing connection's source port
 * before the agent or HAProxy binds it (seen in CI: the agent stopped on EADDRINUSE, the test
 * waited for /readyz in vain). Ports here are never source ports; each vitest worker has its own
 * slice, so files running side by side never pick the same one, and each is checked free by
 * binding it.
 */
const FIRST = 20_000
const SLICE = 2_500
const slices = 5 // vitest workers 1–4; slice 0 for scripts run outside vitest

const poolId = Number(process.env.VITEST_POOL_ID ?? "0")
const slice = Number.isInteger(poolId) && poolId >= 0 && poolId < slices ? poolId : 0
const start = FIRST + slice * SLICE
// A random start within the slice: a port left bound by the previous file of this worker is skipped.
let next = Math.floor(Math.random() * SLICE)

const bindable = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const server = createServer()
    server.unref()
    server.once("error", () => resolve(false))
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)))
  })

/** A TCP port on 127.0.0.1 that is free now and that this process has not handed out before. */
export const freePort = async (): Promise<number> => {
  for (let tries = 0; tries < SLICE; tries++) {
    const port = start + (next++ % SLICE)
    if (await bindable(port)) return port
  }
  throw new Error(`no free port in ${start}–${start + SLICE - 1}`)
}
