// Several `chatspace` nodes deployed together, for the Node suites: a fresh PostgreSQL database
// on CHATSPACE_TEST_POSTGRES that every node shares (users, sessions, rooms, chat, the update
// log) and a Redis key prefix of their own on CHATSPACE_TEST_REDIS (the bus that carries live
// edits, presence and chat between nodes). A cluster is up once every node answers GET /readyz
// with 200; `stop()` stops the nodes still running, drops the database and deletes the prefix's
// keys, so that a run leaves nothing behind. The database is made and dropped with `psql` and the
// keys deleted with `redis-cli`; without either command, or without the servers they reach, the
// cluster does not start and says why: a multi-node test fails rather than skips. Node built-ins
// only, like server.mjs.
import { execFile } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { ChatspaceServer } from './server.mjs'

/** The PostgreSQL server the tests create their databases on (as in tests/postgres). */
export const postgresServer = () => process.env.CHATSPACE_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432'

/** The Redis server the nodes of a test cluster meet on (as in tests/multinode). */
export const redisUrl = () => process.env.CHATSPACE_TEST_REDIS ?? 'redis://127.0.0.1:6379'

/** Names unique within this process; the process id keeps parallel runs apart. */
let clusters = 0

/** Runs a command-line client; its standard output, or an error saying what `purpose` needed. */
const run = (command, args, purpose) =>
  new Promise((resolve, reject) => {
    // PGCONNECT_TIMEOUT: an unreachable server fails within seconds instead of hanging.
    const env = { ...process.env, PGCONNECT_TIMEOUT: process.env.PGCONNECT_TIMEOUT ?? '10' }
    execFile(command, args, { env, timeout: 60_000 }, (error, stdout, stderr) => {
      if (!error) return resolve(stdout)
      const reason = error.code === 'ENOENT'
        ? `the \`${command}\` command is not installed`
        : (stderr.trim() || error.message)
      reject(new Error(`${purpose}: ${reason}`))
    })
  })

/** One SQL statement on the server's `postgres` database, stopping at the first error. */
const psql = (sql) =>
  run('psql', [`${postgresServer()}/postgres`, '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', sql],
    `the multi-node tests need PostgreSQL at ${postgresServer()} (set CHATSPACE_TEST_POSTGRES) and \`psql\` to run ${JSON.stringify(sql)}`)

const redisCli = (args, purpose) =>
  run('redis-cli', ['--no-auth-warning', '-u', redisUrl(), ...args],
    `the multi-node tests need Redis at ${redisUrl()} (set CHATSPACE_TEST_REDIS) and \`redis-cli\` to ${purpose}`)

/** The keys under `prefix`, found with SCAN (which, unlike KEYS, never blocks Redis for long). */
const keysUnder = async (prefix) =>
  (await redisCli(['--scan', '--pattern', `${prefix}:*`], `list the keys under ${prefix}`))
    .split('\n')
    .filter((key) => key !== '')

export class Cluster {
  /**
   * @param {string} dir a temporary directory; each node logs in a folder of its own in it
   * @param {{ nodes?: number, args?: string[] }} [options] how many nodes, and flags every node
   *   gets besides its address, the database and the bus
   */
  constructor (dir, { nodes = 3, args = [] } = {}) {
    const id = `${process.pid}_${++clusters}_${Math.random().toString(36).slice(2, 8)}`
    this.database = `chatspace_interop_${id}`
    this.prefix = `chatspace_interop_${id}`
    this.databaseUrl = `${postgresServer()}/${this.database}`
    /** what `stop()` has to undo: the database was created, Redis answered (nodes may have written keys) */
    this.created = false
    this.redisReached = false
    /** `nodes[i]` is `--node-id node-{i + 1}` */
    this.nodes = Array.from({ length: nodes }, (_, i) => {
      const nodeDir = join(dir, `node-${i + 1}`)
      mkdirSync(nodeDir, { recursive: true })
      const server = new ChatspaceServer(nodeDir, {
        databaseUrl: this.databaseUrl,
        args: ['--redis-url', redisUrl(), '--redis-prefix', this.prefix, '--node-id', `node-${i + 1}`, ...args]
      })
      server.name = `node-${i + 1}`
      return server
    })
  }

  /** Creates the database, starts every node and waits until each one is ready. */
  async start () {
    const pong = (await redisCli(['ping'], 'answer PING')).trim()
    if (pong !== 'PONG') throw new Error(`Redis at ${redisUrl()} answered PING with ${JSON.stringify(pong)}, not PONG (set CHATSPACE_TEST_REDIS)`)
    this.redisReached = true
    await psql(`CREATE DATABASE ${this.database}`)
    this.created = true
    // All at once, as a deployment starts them: the nodes must share the migrations safely.
    await Promise.all(this.nodes.map(async (node) => {
      await node.start()
      await node.waitReady()
    }))
  }

  /**
   * Stops the nodes still running (SIGTERM), drops the database and deletes the prefix's keys.
   * Every step is tried; the first failure is thrown afterwards.
   */
  async stop () {
    const failures = []
    const attempt = async (step) => {
      try {
        await step()
      } catch (error) {
        failures.push(error)
      }
    }
    await Promise.all(this.nodes.map((node) => attempt(() => node.stop())))
    if (this.created) {
      await attempt(async () => {
        await psql(`DROP DATABASE IF EXISTS ${this.database} WITH (FORCE)`)
        this.created = false
      })
    }
    if (this.redisReached) {
      await attempt(async () => {
        const keys = await keysUnder(this.prefix)
        // A few hundred keys per DEL keeps each command line short.
        for (let i = 0; i < keys.length; i += 200) {
          await redisCli(['DEL', ...keys.slice(i, i + 200)], `delete the keys under ${this.prefix}`)
        }
        const left = await keysUnder(this.prefix)
        if (left.length > 0) throw new Error(`keys left in Redis under ${this.prefix}: ${left.slice(0, 10).join(', ')}`)
      })
    }
    if (failures.length > 0) throw failures[0]
  }
}
