/** The status page document (src/http/status-page.ts): self-contained, strict CSP matching its inline blocks. */
import { createHash } from "node:crypto"
import { describe, expect, it } from "vitest"
import { buildStatusPage, STATUS_PAGE } from "../../src/http/status-page.ts"
import { STATUS_PAGE_SCRIPT } from "../../src/http/status-page-script.ts"

const hash = (text: string) => `'sha256-${createHash("sha256").update(text, "utf8").digest("base64")}'`
const inline = (html: string, tag: string) => [...html.matchAll(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, "g"))].map((m) => m[1]!)
const directives = (csp: string) => new Map(csp.split(";").map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k!, v]))

describe("status page", () => {
  const { html, headers } = STATUS_PAGE
  const csp = directives(headers["content-security-policy"] ?? "")

  it("is served with a strict CSP that allows exactly its inline script and style by hash", () => {
    const scripts = inline(html, "script")
    const styles = inline(html, "style")
    expect(scripts).toEqual([STATUS_PAGE_SCRIPT])
    expect(styles).toHaveLength(1)
    expect(csp.get("default-src")).toEqual(["'none'"])
    expect(csp.get("script-src")).toEqual([hash(scripts[0]!)])
    expect(csp.get("style-src")).toEqual([hash(styles[0]!)])
    expect(csp.get("connect-src")).toEqual(["'self'"])
    expect(csp.get("frame-ancestors")).toEqual(["'none'"])
    expect(csp.get("base-uri")).toEqual(["'none'"])
    expect(csp.get("require-trusted-types-for")).toEqual(["'script'"])
    expect(headers["content-security-policy"]).not.toMatch(/unsafe-|\*|https?:|data:|nonce-/)
    expect(headers["content-type"]).toBe("text/html; charset=utf-8")
    expect(headers["x-content-type-options"]).toBe("nosniff")
    expect(headers["cache-control"]).toBe("no-store")
  })

  it("a changed script gets another hash (the header follows the page)", () => {
    const other = buildStatusPage(undefined, `${STATUS_PAGE_SCRIPT}\n`)
    expect(other.headers["content-security-policy"]).not.toBe(headers["content-security-policy"])
    expect(directives(other.headers["content-security-policy"] ?? "").get("script-src")).toEqual([hash(`${STATUS_PAGE_SCRIPT}\n`)])
  })

  it("loads nothing from anywhere: no external URL, no src/href, no @import or url()", () => {
    expect(html).not.toMatch(/https?:\/\//i)
    expect(html).not.toMatch(/\s(src|href|action|srcset|poster)\s*=/i)
    expect(html).not.toMatch(/@import|url\s*\(/i)
    expect(html).not.toMatch(/["'(\s]\/\/[a-z0-9]/i)
  })

  it("has no inline event handlers and no HTML sinks in its script", () => {
    const markup = html.replace(/<script>[\s\S]*?<\/script>/g, "").replace(/<style>[\s\S]*?<\/style>/g, "")
    expect(markup).not.toMatch(/\son[a-z]+\s*=/i)
    for (const sink of ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "Function(", "setAttribute", "srcdoc"]) {
      expect(STATUS_PAGE_SCRIPT, sink).not.toContain(sink)
    }
    expect(STATUS_PAGE_SCRIPT).not.toMatch(/<\/script/i)
  })

  it("its script is valid JavaScript that fetches only the page's own documents", () => {
    expect(() => new Function(STATUS_PAGE_SCRIPT)).not.toThrow()
    const fetched = [...STATUS_PAGE_SCRIPT.matchAll(/getJson\("([^"]+)"\)/g)].map((m) => m[1])
    expect(fetched.sort()).toEqual(["./status", "./status/servers"])
  })
})
