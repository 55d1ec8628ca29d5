/**
 * The status page served at `/` on HEALTH_PORT: one self-contained HTML document (inline CSS and
 * script, no external asset: it works offline) that holds no data. Its script
 * (status-page-script.ts) fetches /status and /status/servers and renders them with DOM APIs.
 *
 * The Content-Security-Policy allows exactly the inline style and script by their SHA-256 hashes,
 * requests only to the page's own origin, and HTML sinks not at all (Trusted Types with no
 * policy): whatever Cloud Map holds is shown as text and never runs. Pure: built once.
 */
import { createHash } from "node:crypto"
import { STATUS_PAGE_SCRIPT } from "./status-page-script.ts"

const STYLE = `
:root { color-scheme: light dark; --fg: #1d2330; --muted: #5b6475; --bg: #f6f7f9; --card: #fff; --line: #dde1e8;
  --up: #17803d; --down: #c62828; --maint: #6b4fbb; --drain: #b26a00; --unknown: #5b6475; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e6e9ef; --muted: #a0a8b8; --bg: #14171c; --card: #1d2128; --line: #2e343e;
    --up: #4cc27a; --down: #ff6b6b; --maint: #a78bfa; --drain: #f0a640; --unknown: #a0a8b8; }
}
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; flex-wrap: wrap; gap: 8px 16px; align-items: baseline; padding: 14px 20px; border-bottom: 1px solid var(--line); background: var(--card); }
header h1 { font-size: 18px; margin: 0; }
#summary { display: flex; flex-wrap: wrap; gap: 6px; align-items: baseline; }
#updated { margin-left: auto; color: var(--muted); }
main { padding: 16px 20px; display: grid; gap: 16px; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; overflow-x: auto; }
h2 { font-size: 15px; margin: 0 0 8px; }
h3 { font-size: 13px; margin: 12px 0 4px; color: var(--muted); }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; overflow-wrap: break-word; }
th { font-weight: 600; color: var(--muted); font-size: 12px; }
tr.group td { border-top: 2px solid var(--line); }
td.route { font-weight: 600; }
.mono, td.mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0; }
dt { color: var(--muted); }
dd { margin: 0; overflow-wrap: break-word; }
ul { margin: 0; padding-left: 18px; }
.badge { display: inline-block; padding: 0 7px; border-radius: 10px; font-size: 12px; font-weight: 600; color: #fff; background: var(--unknown); }
.badge.up { background: var(--up); } .badge.down { background: var(--down); } .badge.maint { background: var(--maint); }
.badge.drain, .badge.nolb { background: var(--drain); }
.meta, .empty { color: var(--muted); margin: 0 0 6px; }
.warn { color: var(--down); margin: 0 0 6px; overflow-wrap: break-word; }
#attention li { margin: 2px 0; overflow-wrap: break-word; }
#attention li.bad { color: var(--down); } #attention li.watch { color: var(--drain); }
td ul { padding-left: 14px; }
`

const HTML_BODY = `
<header>
  <h1>cloudmap-haproxy</h1>
  <div id="summary"><span class="meta">loading…</span></div>
  <div id="updated"></div>
</header>
<main>
  <noscript><p class="warn">This page needs JavaScript; the same data is at ./status and ./status/servers (JSON).</p></noscript>
  <div id="problem"></div>
  <section id="attention-section"><h2>What needs attention</h2><div id="attention"></div></section>
  <section><h2>Routes, backends and instances</h2><div id="routes"></div></section>
  <section><h2>Quarantined records</h2><div id="quarantined"></div></section>
  <section><h2>Ignored options</h2><div id="ignored"></div></section>
  <section><h2>Recent changes</h2><div id="changes"></div></section>
  <section><h2>Cloud Map</h2><div id="cloudmap"></div></section>
  <section><h2>HAProxy</h2><div id="haproxy"></div></section>
</main>
`

const sha256 = (text: string): string => `'sha256-${createHash("sha256").update(text, "utf8").digest("base64")}'`

export interface StatusPage {
  readonly html: string
  readonly headers: Readonly<Record<string, string>>
}

/** The page and the headers it must be served with (CSP, no caching, no framing, no sniffing). */
export const buildStatusPage = (style: string = STYLE, script: string = STATUS_PAGE_SCRIPT): StatusPage => {
  const csp = [
    "default-src 'none'",
    `script-src ${sha256(script)}`,
    `style-src ${sha256(style)}`,
    "connect-src 'self'",
    "img-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
    "require-trusted-types-for 'script'",
    "trusted-types 'none'"
  ].join("; ")
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>cloudmap-haproxy status</title>
<style>${style}</style>
</head>
<body>${HTML_BODY}<script>${script}</script>
</body>
</html>
`
  return {
    html,
    headers: {
      "content-type": "text/html; charset=utf-8",
      "cache-control": "no-store",
      "content-security-policy": csp,
      "x-content-type-options": "nosniff",
      "x-frame-options": "DENY",
      "referrer-policy": "no-referrer",
      "cross-origin-opener-policy": "same-origin",
      "cross-origin-resource-policy": "same-origin"
    }
  }
}

export const STATUS_PAGE: StatusPage = buildStatusPage()
