/**
 * New and removed services in the apply loop where HAProxy adds backends at runtime (3.4+; the
 * fake HAProxy answers like the runtime updater): through the runtime API when their option
 * profile is loaded, else one reload whose reason /status gives; a runtime failure falls back to a
 * reload, and /status says so.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { afterAll } from "vitest"
import { RuntimeCommandFailed } from "../../src/haproxy/runtime-errors.ts"
import { DEFAULT_OPTIONS } from "../../src/model/service-options.ts"
import { removeTempDirs, startApplyLoop } from "../support/apply-loop.ts"
import { backend, desired } from "../support/desired.ts"

afterAll(removeTempDirs)

const leastconn = (name: string, ports: ReadonlyArray<number>) => ({ ...backend(name, ports), options: { ...DEFAULT_OPTIONS, balance: "leastconn" as const } })

describe("new and removed services on HAProxy 3.4+", () => {
  it.effect("a new service with a loaded profile needs no reload; one with a profile not loaded yet takes one, and /status says why", () =>
    Effect.gen(function*() {
      const t = yield* startApplyLoop({ reloadMinIntervalMs: 0, rejectedRetryMs: 10_000 })
      t.fake.backends = true
      yield* t.publish(desired(backend("web", [8080])))
      assert.strictEqual(t.reloads(), 1) // the start
      yield* t.publish(desired(backend("web", [8080]), backend("api", [8081])))
      assert.strictEqual(t.reloads(), 1, "same profile as web: added at runtime")
      assert.strictEqual((yield* t.status).lastApply?.method, "runtime")
      yield* t.publish(desired(backend("web", [8080]), backend("api", [8081]), leastconn("shop", [8082])))
      assert.strictEqual(t.reloads(), 2)
      const last = (yield* t.status).lastApply
      assert.strictEqual(last?.method, "reload")
      assert.include(last?.reason ?? "", "reload: the option profile of be_shop.example.com is not loaded yet")
      // Loaded now: the next service with it, and the removal of another, need no reload.
      yield* t.publish(desired(backend("web", [8080]), leastconn("shop", [8082]), leastconn("cart", [8083])))
      assert.strictEqual(t.reloads(), 2)
      yield* t.stop
    }))

  it.effect("a runtime failure while adding a service falls back to one reload, and /status says the runtime update failed", () =>
    Effect.gen(function*() {
      const t = yield* startApplyLoop({ reloadMinIntervalMs: 0, rejectedRetryMs: 10_000 })
      t.fake.backends = true
      yield* t.publish(desired(backend("web", [8080])))
      t.fake.fail.runtime.push(new RuntimeCommandFailed({ socketPath: "admin.sock", command: "publish backend be_api.example.com", answer: "injected" }))
      yield* t.publish(desired(backend("web", [8080]), backend("api", [8081])))
      assert.strictEqual(t.reloads(), 2)
      const last = (yield* t.status).lastApply
      assert.strictEqual(last?.method, "reload")
      assert.match(last?.reason ?? "", /reload: the runtime update failed \(.*publish backend be_api\.example\.com.*injected/)
      assert.deepStrictEqual((yield* t.status).applied?.backends.map((b) => b.service).sort(), ["api", "web"])
      yield* t.stop
    }))
})
