// A few crash trials (support/crash-trials.mjs) on every run of the suite: the server is killed
// with SIGKILL at random moments while stock clients type and chat, and restarted on the same
// database; nothing it acknowledged may be missing afterwards. `node crash-trials.mjs --trials
// 100` runs many more.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { runCrashTrials, summary } from './support/crash-trials.mjs'
import { seed } from './support/random.mjs'

const TRIALS = 3

test('after SIGKILL crashes the server holds every acknowledged chat message and every edit an answered since covered', async () => {
  const figures = await runCrashTrials({ trials: TRIALS, seed, trialMs: [300, 1_500] })
  const report = `${summary(figures)}\n${figures.failures.map((f) => `trial ${f.trial}, ${f.room}: ${f.what}\n  ${f.detail}`).join('\n')}`
  assert.deepEqual(figures.failures, [], report)
  assert.equal(figures.trials, TRIALS, report)
  assert.equal(figures.kills, TRIALS + 1, report)
  // The checks checked something: the clients got acknowledgements and answers to `since`.
  assert.ok(figures.chatAcked > 0, report)
  assert.ok(figures.markersCovered > 0, report)
})
