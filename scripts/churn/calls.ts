/**
 * Cloud Map calls at steady state: `services` services with one instance each (ports nobody
 * listens on), the system routed, the mock's call counters zeroed, then read after the window
 * (2 × REFRESH_RATE, at least 60 s; `--quick`: 20 s). With `--options` every service carries the
 * bench option set and every instance its weight.
 */
import { mockCalls, resetMockCalls, startMock, syntheticFixture } from "../bench/adapters/mock-cloudmap.ts"
import { BENCH_INSTANCE_OPTIONS, BENCH_SERVICE_OPTIONS } from "../bench/service-options.ts"
import { sleep } from "../bench/wait.ts"
import { cleanups, say } from "./context.ts"
import { DEFAULTS, OPTIONS, P } from "./params.ts"
import type { CallsResult } from "./results.ts"
import type { StartSut } from "./sut.ts"

export const measureCalls = async (label: string, services: number, startSut: StartSut): Promise<CallsResult> => {
  const fixture = syntheticFixture({
    namespaces: 1,
    servicesPerNamespace: services,
    instancesPerService: 1,
    basePort: 40_000,
    ...(OPTIONS ? { serviceAttributes: BENCH_SERVICE_OPTIONS, extraInstanceAttributes: BENCH_INSTANCE_OPTIONS } : {})
  })
  const mock = await startMock(fixture)
  cleanups.add(() => mock.close())
  const t0 = Date.now()
  const sut = await startSut(mock, `${label}-${services}`)
  try {
    await sut.waitRouted(services, undefined, 180_000)
    const readyAfterS = (Date.now() - t0) / 1000
    // One more beat so the first round's reads of every service are behind us.
    await sleep(2_000)
    await resetMockCalls(mock)
    const windowStart = Date.now()
    const windowEnd = windowStart + (P.callsWindowS > 0 ? P.callsWindowS : Math.max(60, 2 * DEFAULTS.refreshSeconds)) * 1000
    while (Date.now() < windowEnd) await sleep(Math.min(1_000, windowEnd - Date.now()))
    const calls = await mockCalls(mock)
    const windowS = (Date.now() - windowStart) / 1000
    const perMinute: Record<string, number> = {}
    for (const [op, v] of Object.entries(calls.operations)) perMinute[op] = (v.total * 60) / windowS
    say(`${label}-${services}: ${Math.round((calls.total * 60) / windowS)} Cloud Map calls/min over ${windowS.toFixed(0)} s`)
    return { label, services, windowS, perMinute, totalPerMinute: (calls.total * 60) / windowS, readyAfterS }
  } finally {
    await sut.stop()
    await mock.close()
  }
}
