// Seeded randomness, so that a failing run of a random scenario can be replayed with
// INTEROP_SEED=<the seed it printed>.

/** Tommy Ettinger's mulberry32 (public domain): a tiny 32-bit generator; floats in [0, 1). */
const mulberry32 = (seed) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

export const seed = Number(process.env.INTEROP_SEED ?? Math.floor(Math.random() * 2 ** 31))

/** A generator of its own seed. */
export const generator = (start) => {
  const next = mulberry32(start)
  /** an integer in [0, n) */
  const below = (n) => Math.floor(next() * n)
  return {
    below,
    /** an integer in [low, high] */
    between: (low, high) => low + below(high - low + 1),
    chance: (p) => next() < p,
    /** one element of a non-empty array */
    pick: (array) => array[below(array.length)]
  }
}

/** An independent generator for `stream` (a client, say), derived from `runSeed`. */
export const seededSource = (runSeed, stream) => generator(runSeed + stream * 7919)

/** An independent generator per client, derived from the run's seed. */
export const randomSource = (stream) => seededSource(seed, stream)
