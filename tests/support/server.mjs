// Boots the real `chatspace` binary for the Node suites (tests/interop, tests/browser): a free
// port on 127.0.0.1, a fresh SQLite file in a temporary directory (or a database it is given,
// such as the PostgreSQL database of a cluster, see cluster.mjs), ready once GET /healthz
// answers 200. `stop()` + `start()` restarts it on the same port and database, which is how the
// restart tests check persistence and reconnection. Node built-ins only, so both suites import
// it although each has its own package.json.
import { spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { existsSync, openSync, closeSync, readFileSync } from 'node:fs'
import { dirname, resolve, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'

const repoDir = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

/** A binary named by an environment variable (relative to the working directory), else one in target/release. */
export const binary = (variable, name) =>
  process.env[variable]
    ? resolve(process.cwd(), process.env[variable])
    : resolve(repoDir, 'target/release', name)

/** A port that was free a moment ago (the kernel picks it; we release it for the server). */
const freePort = () =>
  new Promise((resolvePort, reject) => {
    const probe = createServer()
    probe.unref()
    probe.on('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address()
      probe.close(() => resolvePort(port))
    })
  })

/**
 * Servers still running. They are killed when the test process exits without having stopped them
 * (an uncaught error, `process.exit`), so that no server outlives its suite holding a port, a
 * database or a cluster's Redis keys.
 */
const running = new Set()
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL')
})

export class ChatspaceServer {
  /**
   * @param {string} dir a temporary directory for the log (and the database, by default)
   * @param {{ args?: string[], databaseUrl?: string }} [options] flags besides `--bind` and
   *   `--database-url`; the database to use instead of a fresh SQLite file in `dir`
   */
  constructor (dir, { args = [], databaseUrl = `sqlite://${join(dir, 'test.db')}` } = {}) {
    this.dir = dir
    this.args = args
    this.bin = binary('CHATSPACE_BIN', 'chatspace')
    this.databaseUrl = databaseUrl
    this.logPath = join(dir, 'server.log')
    this.port = 0
    this.child = null
    this.exited = null
  }

  get origin () {
    return `http://127.0.0.1:${this.port}`
  }

  /** The base URL y-websocket appends the room name to. */
  get wsBase () {
    return `ws://127.0.0.1:${this.port}/ws`
  }

  url (path = '/') {
    return new URL(path, this.origin).href
  }

  /** Starts the server, on the same port and database as before when restarting. */
  async start () {
    if (!existsSync(this.bin)) {
      throw new Error(`server binary not found at ${this.bin}: run \`cargo build --release\` or set CHATSPACE_BIN`)
    }
    if (this.port === 0) this.port = await freePort()
    const log = openSync(this.logPath, 'a')
    // Every user of a suite registers from 127.0.0.1: lift the per-address hourly limit.
    const args = ['--bind', `127.0.0.1:${this.port}`, '--database-url', this.databaseUrl, '--register-max-per-hour', '1000', ...this.args]
    const child = spawn(this.bin, args, {
      cwd: this.dir,
      env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'info', NO_COLOR: '1' },
      stdio: ['ignore', log, log]
    })
    closeSync(log)
    running.add(child)
    child.once('exit', () => running.delete(child))
    this.child = child
    this.exited = new Promise((resolveExit) => child.once('exit', (code, signal) => resolveExit({ code, signal })))
    await this.waitHealthy()
  }

  /** Resolves once GET /healthz answers 200: the server listens and its database answers. */
  waitHealthy (timeoutMs = 60_000) {
    return this.waitForOk('/healthz', timeoutMs)
  }

  /** Resolves once GET /readyz answers 200: the database and, for a node of a cluster, Redis answer. */
  waitReady (timeoutMs = 60_000) {
    return this.waitForOk('/readyz', timeoutMs)
  }

  async waitForOk (path, timeoutMs) {
    const deadline = Date.now() + timeoutMs
    let exit = null
    let last = 'no answer'
    this.exited.then((e) => { exit = e })
    while (Date.now() < deadline) {
      if (exit) throw new Error(`server exited during start (${JSON.stringify(exit)}):\n${this.logTail()}`)
      try {
        const response = await fetch(this.url(path))
        if (response.status === 200) return
        last = `${response.status} ${(await response.text()).slice(0, 200)}`
      } catch {
        // not listening yet
      }
      await sleep(100)
    }
    throw new Error(`server did not answer ${path} with 200 within ${timeoutMs} ms (last: ${last}):\n${this.logTail()}`)
  }

  /** SIGTERM (a normal shutdown), SIGKILL if it has not exited after 20 s; the exit status. */
  async stop () {
    const child = this.child
    if (!child) return null
    this.child = null
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000)
    const exit = await this.exited
    clearTimeout(timer)
    return exit
  }

  /** SIGKILL: the process ends at once, saving nothing (a crash); the exit status. */
  async kill () {
    const child = this.child
    if (!child) return null
    this.child = null
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    return this.exited
  }

  logTail (lines = 40) {
    try {
      return readFileSync(this.logPath, 'utf8')
        .replace(/\x1b\[[0-9;]*m/g, '') // colour codes
        .split('\n')
        .slice(-lines)
        .join('\n')
    } catch {
      return '(no server log)'
    }
  }
}
