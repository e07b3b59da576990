// Waiting without asserting on speed: a condition is polled until it holds or a generous
// deadline passes, and the failure says what was last seen.
import { setTimeout as sleep } from 'node:timers/promises'

/** Generous on purpose: two cores, a release server, several clients. */
export const DEADLINE_MS = 30_000

/**
 * Polls `check` until it returns a truthy value (which is returned) without throwing. At the
 * deadline the last thrown error is rethrown, or an error naming `what` and `describe()`.
 * @template T
 * @param {string} what
 * @param {() => T | Promise<T>} check
 * @param {{ timeout?: number, interval?: number, describe?: () => string }} [options]
 * @returns {Promise<T>}
 */
export const eventually = async (what, check, { timeout = DEADLINE_MS, interval = 25, describe } = {}) => {
  const deadline = Date.now() + timeout
  let lastError = null
  for (;;) {
    try {
      const value = await check()
      if (value) return value
      lastError = null
    } catch (error) {
      lastError = error
    }
    if (Date.now() >= deadline) {
      const seen = describe ? `\nlast seen: ${describe()}` : ''
      const cause = lastError ? `\n${lastError.stack ?? lastError}` : ''
      throw new Error(`timed out after ${timeout} ms waiting for ${what}${seen}${cause}`)
    }
    await sleep(interval)
  }
}

/** Rejects after `ms` with a message naming `what`; the timer never keeps the process alive. */
export const within = (what, ms, promise) => {
  let timer
  const timeout = new Promise((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)
    timer.unref()
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}
