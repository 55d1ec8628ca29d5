/**
 * The injection corpus (docs/haproxy-facts.md, "Injection"): hostile service names, instance ids, addresses and
 * ports are each quarantined with a reason, NOTHING of them reaches the rendered bytes, the good
 * siblings still render, and the result passes `haproxy -c`.
 */
import { afterAll, describe, expect, it } from "vitest"
import type { DiscoveredInstance, DiscoveredService } from "../../src/model/snapshot.ts"
import { plan } from "../../src/plan/plan.ts"
import { render, type RenderedFiles } from "../../src/render/render.ts"
import { checkConfig } from "../support/haproxy-process.ts"
import {
  hostNs,
  instance,
  namespace,
  pathNs,
  removeTempDirs,
  service,
  settings,
  snapshot,
  tempDir,
  writeRendered
} from "./fixtures.ts"

afterAll(removeTempDirs)

const LONG_DOMAIN = `${"d".repeat(63)}.${"e".repeat(63)}.${"f".repeat(63)}.${"g".repeat(50)}` // 242 characters

const badServiceNames: ReadonlyArray<string> = [
  "shop\nlisten pwn\n    bind 127.0.0.1:8094\n    stats enable\n    stats uri /\n    stats admin if TRUE\nbackend be_shop2",
  "victim.example.com be_attacker\nx.example.com",
  "evil web",
  "evil\tweb",
  "evil#web",
  "evil\"web",
  "evil'web",
  "evil\\web",
  "evil$web",
  "evil${HOME}web",
  "evil;web",
  "evil%[src]web",
  "evil\r\nweb",
  "evil\u0000web",
  "wéb",
  "ｗｅｂ",
  "evil\u2028web",
  "q".repeat(64),
  "_evil._udp",
  "evil.web"
]

/** Bad instances in the good service; each has a valid, unique id so its absence is checkable. */
const badAddresses: ReadonlyArray<readonly [string, Readonly<Record<string, string>>]> = [
  ["bad-ip-1", { AWS_INSTANCE_IPV4: "1.2.3" }],
  ["bad-ip-2", { AWS_INSTANCE_IPV4: "256.1.1.1" }],
  ["bad-ip-3", { AWS_INSTANCE_IPV4: "localhost" }],
  ["bad-ip-4", { AWS_INSTANCE_IPV4: "127.0.0.1 backup" }],
  ["bad-ip-5", { AWS_INSTANCE_IPV4: "10.9.9.9:80\n    http-request redirect location https://evil.example" }],
  ["bad-ip-6", { AWS_INSTANCE_IPV4: "10.9.9.7#" }],
  ["bad-ip-7", { AWS_INSTANCE_IPV6: "fe80::1%eth0" }],
  ["bad-ip-8", { AWS_INSTANCE_IPV6: "::1 backup" }],
  ["bad-ip-9", { AWS_INSTANCE_IPV4: "0.0.0.0" }],
  ["bad-ip-10", { AWS_INSTANCE_IPV4: "１０.0.0.9" }],
  ["bad-ip-11", { AWS_INSTANCE_CNAME: "evil.example.com" }]
]
const badPorts: ReadonlyArray<string> = [
  "0",
  "65536",
  "80\nbackup",
  "-1",
  "8O",
  "0x50",
  "+80",
  "080",
  "80 ",
  "80;del server x/y",
  "8\u0660" // ARABIC-INDIC DIGIT ZERO
]
const badInstanceIds: ReadonlyArray<string> = [
  "evil-id\nbackup",
  "evil id",
  "evil#id",
  "evil;id",
  "evil%id",
  "evil$id",
  "evil'id",
  "evil\"id",
  "evil\\id",
  "évil",
  "z".repeat(65),
  ""
]

const goodInstance = instance("good-1", "10.0.0.1", "8080")
const goodService: DiscoveredService = service("good", [
  goodInstance,
  ...badAddresses.map(([id, attributes]): DiscoveredInstance => ({
    id,
    attributes: { AWS_INSTANCE_PORT: "8080", ...attributes },
    health: "HEALTHY"
  })),
  ...badPorts.map((port, i) => instance(`bad-port-${i + 1}`, "10.0.0.2", port)),
  ...badInstanceIds.map((id) => instance(id, "10.0.0.3", "8080"))
])

const corpus = snapshot([
  namespace(hostNs("apps", "example.com"), [
    goodService,
    ...badServiceNames.map((name, i) => service(name, [instance(`bad-svc-${i + 1}`, "10.0.0.4", "8080")], `svc-bad-${i + 1}`))
  ]),
  namespace(hostNs("long", LONG_DOMAIN), [service("z".repeat(11), [instance("long-1", "10.0.0.5", "80")])]),
  namespace(pathNs("int", "example.net"), [
    service("web", [instance("path-good-1", "10.0.0.6", "80")]),
    service("stats", [instance("path-bad-1", "10.0.0.7", "80")]),
    service("metrics", [instance("path-bad-2", "10.0.0.7", "80")]),
    service("evil/seg", [instance("path-bad-3", "10.0.0.7", "80")]),
    service("web\nfoo", [instance("path-bad-4", "10.0.0.7", "80")])
  ])
])

/** The same snapshot without anything hostile: what the corpus must render to, byte for byte. */
const baseline = snapshot([
  namespace(hostNs("apps", "example.com"), [service("good", [goodInstance])]),
  namespace(hostNs("long", LONG_DOMAIN), []),
  namespace(pathNs("int", "example.net"), [service("web", [instance("path-good-1", "10.0.0.6", "80")])])
])

const options = { defaultInstancePort: undefined }

describe("injection corpus", () => {
  const dir = tempDir("injection")
  const renderSettings = settings({ configDir: dir, defaultDomain: "www.example.org" })
  const desired = plan(corpus, options)
  const files = render(desired, renderSettings)
  const all = Object.values(files).join("\n")

  it("quarantines every hostile service with a reason", () => {
    for (const name of badServiceNames) {
      const q = desired.quarantined.filter((x) => x.service === name && x.instanceId === undefined)
      expect(q, JSON.stringify(name)).toHaveLength(1)
      expect(q[0]?.reason).toMatch(/^service name /)
    }
    for (const name of ["stats", "metrics", "evil/seg", "web\nfoo", "z".repeat(11)]) {
      expect(desired.quarantined.filter((x) => x.service === name).map((x) => x.reason)).toHaveLength(1)
    }
    expect(desired.quarantined.find((x) => x.service === "z".repeat(11))?.reason).toMatch(/254 characters long/)
  })

  it("quarantines every hostile instance with a reason, keeping the good sibling", () => {
    const ofGood = desired.quarantined.filter((x) => x.service === "good")
    const expected = [
      ...badAddresses.map(([id]) => id),
      ...badPorts.map((_, i) => `bad-port-${i + 1}`),
      ...badInstanceIds
    ]
    expect(ofGood.map((x) => x.instanceId).sort()).toEqual([...expected].sort())
    for (const q of ofGood) expect(q.reason.length).toBeGreaterThan(10)
    expect(ofGood.find((x) => x.instanceId === "bad-port-3")?.reason).toMatch(/line break/)
    expect(ofGood.find((x) => x.instanceId === "bad-ip-4")?.reason).toMatch(/a space/)
    expect(ofGood.find((x) => x.instanceId === "evil;id")?.reason).toMatch(/runtime API/)
    expect(desired.backends.find((b) => b.service === "good")?.servers.map((s) => s.name)).toEqual(["i-good-1"])
  })

  it("renders the good siblings", () => {
    expect(files["hosts.map"]).toBe("good.example.com be_good.example.com\n")
    expect(files["paths.map"]).toBe("example.net/web be_example.net_web\n")
    expect(files["haproxy.cfg"]).toContain(
      "backend be_good.example.com\n    server i-good-1 10.0.0.1:8080 check inter 2s fall 3 rise 2\n"
    )
    expect(files["haproxy.cfg"]).toContain("backend be_example.net_web\n    # Path mode: strip the matched /<segment> (/web -> /, /web/a?q=1 -> /a?q=1).\n    http-request set-path %[path,regsub(^/[^/]*/?,/)] if { var(txn.strip) -m bool }\n    server i-path-good-1 10.0.0.6:80 check")
  })

  it("renders exactly what the corpus without hostile records renders (byte for byte)", () => {
    const clean: RenderedFiles = render(plan(baseline, options), renderSettings)
    expect(files).toEqual(clean)
  })

  it("contains none of the hostile strings, nor any server built from a hostile record", () => {
    const hostile = [
      ...badServiceNames,
      ...badAddresses.flatMap(([, attrs]) => Object.values(attrs)),
      ...badPorts,
      ...badInstanceIds,
      "evil/seg",
      "web\nfoo",
      `${"z".repeat(11)}.${LONG_DOMAIN}`
    ]
    // Strings that legitimately occur in any config ("0" in "50", "080" in "8080", "80 " in
    // ":8080 check", "-1" in "i-good-1") are covered by the byte-for-byte test above and by the
    // server-name check below.
    const tooCommon = new Set(["0", "080", "80 ", "-1"])
    for (const bad of hostile) {
      if (bad === "" || tooCommon.has(bad)) continue
      expect(all.includes(bad), `rendered output contains ${JSON.stringify(bad)}`).toBe(false)
    }
    for (const fragment of ["evil", "pwn", "backup", "attacker", "be_shop2", "%[src]", "${HOME}", "fe80", "eth0", "bad-"]) {
      expect(all, fragment).not.toContain(fragment)
    }
    const servers = files["haproxy.cfg"].split("\n").filter((l) => l.trim().startsWith("server "))
    expect(servers.map((l) => l.trim().split(" ")[1])).toEqual(["i-path-good-1", "i-good-1"])
  })

  it("writes only printable ASCII, and map lines in the strict `<key> <backend>` form", () => {
    expect(all).toMatch(/^[\x20-\x7e\n]*$/)
    for (const line of files["hosts.map"].split("\n").filter(Boolean)) {
      expect(line).toMatch(/^[a-z0-9.-]+ be_[a-z0-9.-]+$/)
    }
    for (const line of files["paths.map"].split("\n").filter(Boolean)) {
      expect(line).toMatch(/^[a-z0-9.-]+\/[a-z0-9-]+ be_[a-z0-9.-]+_[a-z0-9-]+$/)
    }
  })

  it("passes haproxy -c", () => {
    const result = checkConfig(writeRendered(dir, files))
    expect(result.ok, result.output).toBe(true)
  })
})

describe("random hostile input (seeded)", () => {
  /** mulberry32: a tiny deterministic PRNG, so a failure is reproducible. */
  const prng = (seed: number) => () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const ALPHABET = [
    ..."abcXYZ019._-/:@ \t\n\r#\"'\\$;%{}[]()<>,=!?*&|~^`+",
    "\u0000", "\u007f", "\u00e9", "\uff57", "\u2028", "\u202e", "\u212a", "\ud83d\ude00"
  ]

  it("plan + render never throw and never emit anything outside the grammar", () => {
    const random = prng(20261125)
    const pick = <A>(xs: ReadonlyArray<A>): A => xs[Math.floor(random() * xs.length)]!
    const word = (max: number): string =>
      Array.from({ length: 1 + Math.floor(random() * max) }, () => (random() < 0.7 ? pick([..."abcdefgh0123-"]) : pick(ALPHABET))).join("")
    const mutate = (good: string): string => (random() < 0.5 ? good : word(12))
    for (let round = 0; round < 200; round++) {
      const services = Array.from({ length: 6 }, (_, i) =>
        service(
          mutate(`svc${i}`),
          Array.from({ length: 3 }, (_, j) => ({
            id: mutate(`id${i}-${j}`),
            attributes: random() < 0.8
              ? { AWS_INSTANCE_IPV4: mutate(`10.0.${i}.${j + 1}`), AWS_INSTANCE_PORT: mutate(String(8000 + j)) }
              : { AWS_INSTANCE_IPV6: mutate(`2001:db8::${j + 1}`) },
            health: "HEALTHY" as const
          })),
          mutate(`srv-${i}`)
        )
      )
      const snap = snapshot([
        namespace(hostNs("h", "example.com"), services.slice(0, 3)),
        namespace(pathNs("p", "example.net"), services.slice(3))
      ])
      const files = render(plan(snap, { defaultInstancePort: 8080 }), settings())
      const all = Object.values(files).join("")
      expect(all).toMatch(/^[\x20-\x7e\n]*$/)
      for (const line of files["hosts.map"].split("\n").filter(Boolean)) expect(line).toMatch(/^[a-z0-9.-]+ be_[a-z0-9.-]+$/)
      for (const line of files["paths.map"].split("\n").filter(Boolean)) {
        expect(line).toMatch(/^example\.net\/[a-z0-9-]+ be_example\.net_[a-z0-9-]+$/)
      }
      for (const line of files["haproxy.cfg"].split("\n").filter((l) => l.trim().startsWith("server "))) {
        expect(line).toMatch(/^ {4}server [ih]-[a-z0-9_.-]+ (\d+\.\d+\.\d+\.\d+|\[[0-9a-f:.]+\]):\d+ check inter 2s fall 3 rise 2$/)
      }
    }
  })
})
