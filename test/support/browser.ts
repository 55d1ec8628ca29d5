/**
 * A real headless Chromium for the status page tests, driven by puppeteer-core (which downloads
 * no browser): CHROMIUM_BIN, or Debian's /usr/bin/chromium. `--no-sandbox` because the tests run
 * as root. Closed by PID: the browser's process group is killed if close() does not end it.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import puppeteer, { type Browser, type Page } from "puppeteer-core"

export const CHROMIUM = process.env.CHROMIUM_BIN ?? "/usr/bin/chromium"

export interface Chromium {
  readonly browser: Browser
  readonly pid: number
  /** A page that records dialogs, page errors and console messages (CSP violations included). */
  readonly open: () => Promise<{ page: Page; dialogs: Array<string>; errors: Array<string>; console: Array<string> }>
  readonly close: () => Promise<void>
}

export const startChromium = async (): Promise<Chromium> => {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: install Debian's chromium or set CHROMIUM_BIN`)
  const profile = mkdtempSync(join(tmpdir(), "cmh-chromium-"))
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    userDataDir: profile,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check"],
    defaultViewport: { width: 1280, height: 900 }
  })
  const pid = browser.process()?.pid
  if (pid === undefined) throw new Error("Chromium started without a process id")
  const open = async () => {
    const page = await browser.newPage()
    const dialogs: Array<string> = []
    const errors: Array<string> = []
    const console: Array<string> = []
    page.on("dialog", (d) => {
      dialogs.push(d.message())
      void d.dismiss()
    })
    page.on("pageerror", (e) => errors.push(String(e)))
    page.on("console", (m) => console.push(`${m.type()}: ${m.text()}`))
    return { page, dialogs, errors, console }
  }
  const close = async () => {
    await Promise.race([browser.close().catch(() => undefined), new Promise((r) => setTimeout(r, 10_000))])
    for (const target of [-pid, pid]) {
      try {
        process.kill(target, "SIGKILL")
      } catch {
        // already gone
      }
    }
    rmSync(profile, { recursive: true, force: true })
  }
  return { browser, pid, open, close }
}
