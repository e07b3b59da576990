// Crash trials from the command line: `node crash-trials.mjs --trials N [--seed S]
// [--min-ms A] [--max-ms B]`. Prints a line per trial, every failure, and the totals; exits with
// 1 when a promise was broken. The server binary is CHATSPACE_BIN (see README.md).
import { parseArgs } from 'node:util'
import { runCrashTrials, summary } from './support/crash-trials.mjs'

const { values } = parseArgs({
  options: {
    trials: { type: 'string', default: '10' },
    seed: { type: 'string', default: String(Math.floor(Math.random() * 2 ** 31)) },
    'min-ms': { type: 'string', default: '300' },
    'max-ms': { type: 'string', default: '2500' }
  }
})
const number = (name) => {
  const value = Number(values[name])
  if (!Number.isSafeInteger(value) || value < 0) {
    console.error(`--${name} takes a whole number, not ${JSON.stringify(values[name])}`)
    process.exit(2)
  }
  return value
}

const started = Date.now()
const figures = await runCrashTrials({
  trials: number('trials'),
  seed: number('seed'),
  trialMs: [number('min-ms'), number('max-ms')],
  log: (line) => console.log(line)
})
console.log(`\n${summary(figures)}\nwall time ${((Date.now() - started) / 1000).toFixed(1)} s`)
process.exit(figures.failures.length === 0 ? 0 : 1)
