/** Local networking for the benches: free ports and a bounded HTTP GET. Everything is 127.0.0.1. */
import { createServer } from "node:net"

/** A TCP port on 127.0.0.1 that was free a moment ago (the kernel picked it). */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.on("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      if (address === null || typeof address === "string") return reject(new Error("no port"))
      server.close(() => resolve(address.port))
    })
  })

export interface HttpAnswer {
  readonly status: number
  readonly body: string
}

/** GET `url` with a deadline; undefined when it could not be fetched (refused, reset, timed out). */
export const httpGet = async (url: string, timeoutMs = 5_000): Promise<HttpAnswer | undefined> => {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) })
    return { status: res.status, body: await res.text() }
  } catch {
    return undefined
  }
}
