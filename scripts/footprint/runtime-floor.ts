/**
 * The floor under the agent's memory: a bun-compiled node:http server that does nothing, built
 * with the agent's own build flags, idle for 15 s; and the page-cache drop that makes a binary
 * start cold, as in a fresh container.
 */
import { spawn, spawnSync } from "node:child_process"
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { BUN, ROOT } from "../bench/agent-binary.ts"
import { freePort, httpGet } from "../bench/net.ts"
import { rssBreakdown, rssBytes } from "../bench/proc.ts"
import { sleep, waitFor } from "../bench/wait.ts"
import { log, workRoot } from "./context.ts"

/**
 * Drops one file's pages from the page cache (GNU dd: `iflag=nocache count=0`), as after an image
 * pull. RssFile counts what the kernel maps on a page fault, and it maps up to 64 KiB around the
 * faulting page when those pages are cached: a binary just written by the build (all cached)
 * shows about 5 MiB more file-backed RSS than the same binary started cold, as in a new container.
 */
export const dropFromPageCache = (path: string) => {
  const r = spawnSync("dd", [`if=${path}`, "iflag=nocache", "count=0", "status=none"])
  if (r.status !== 0) log(`could not drop ${path} from the page cache (dd exit ${r.status}); file-backed RSS may read high`)
}

export interface RuntimeFloor {
  readonly rssBytes: number | undefined
  readonly anonBytes: number | undefined
  readonly fileBytes: number | undefined
}

/**
 * The floor: a bun-compiled node:http server that does nothing, built with the agent's flags
 * (package.json's build script), idle for 15 s. Shows how much of the agent's RSS is the runtime itself.
 */
export const runtimeFloor = async (): Promise<RuntimeFloor> => {
  const dir = join(workRoot, "baseline")
  const src = join(dir, "hello.ts")
  const bin = join(dir, "hello")
  spawnSync("mkdir", ["-p", dir])
  writeFileSync(src, 'import { createServer } from "node:http"\ncreateServer((_req, res) => res.end("ok")).listen(Number(process.env["PORT"]), "127.0.0.1")\n')
  // package.json's build flags, with hello.ts as the entry point.
  const words = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: { build: string } }).scripts.build.trim().split(/\s+/)
  const flags = words.slice(1).filter((w, i, all) => w.startsWith("--") && w !== "--outfile" && all[i - 1] !== "--outfile")
  const b = spawnSync(BUN, ["build", ...flags, src, "--outfile", bin], { encoding: "utf8" })
  if (b.status !== 0) return { rssBytes: undefined, anonBytes: undefined, fileBytes: undefined }
  const port = await freePort()
  dropFromPageCache(bin)
  const child = spawn(bin, [], { env: { PORT: String(port) }, stdio: "ignore" })
  try {
    // Up to about 2 s for it to listen; measured either way.
    await waitFor(async () => ((await httpGet(`http://127.0.0.1:${port}/`))?.status === 200 ? true : undefined), {
      timeoutMs: 2_000,
      intervalMs: 10,
      timeout: () => new Error("not listening")
    }).catch(() => undefined)
    await sleep(15_000)
    const parts = rssBreakdown(child.pid!)
    return { rssBytes: rssBytes(child.pid!), anonBytes: parts?.anonBytes, fileBytes: parts?.fileBytes }
  } finally {
    child.kill("SIGKILL")
  }
}
