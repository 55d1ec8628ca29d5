/** Runs `f` over `items`, `concurrency` at a time, as plain promises (no fiber each); every item settles. */
export const pool = async <A, B>(items: ReadonlyArray<A>, concurrency: number, f: (a: A) => Promise<B>): Promise<ReadonlyArray<B>> => {
  const out = new Array<B>(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const i = next++
      out[i] = await f(items[i]!)
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker))
  return out
}
