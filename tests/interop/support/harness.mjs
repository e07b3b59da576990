// One scenario = one server of its own (fresh temporary directory and database), or a cluster of
// nodes of its own (one PostgreSQL database, one Redis prefix: ../../support/cluster.mjs), and
// the clients made through it. Whatever happens, everything is torn down afterwards (providers
// destroyed, Rust clients quit, sockets closed, servers stopped, database, keys and directory
// removed), so `npm test` exits by itself; a failure carries the servers' log tails and what each
// client last saw.
import { test } from 'node:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ChatspaceServer } from '../../support/server.mjs'
import { Cluster } from '../../support/cluster.mjs'
import { registerUser } from './accounts.mjs'
import { StockClient, ChatSocket, closeStraySockets } from './clients.mjs'
import { RustClient } from './rust-client.mjs'

export class Harness {
  /**
   * @param {{ serverArgs?: string[], nodes?: number }} [options] flags every server gets besides
   *   its address and database; `nodes` > 0: a cluster of that many nodes instead of one server
   */
  constructor ({ serverArgs = [], nodes = 0 } = {}) {
    this.dir = mkdtempSync(join(tmpdir(), 'chatspace-interop-'))
    this.cluster = nodes > 0 ? new Cluster(this.dir, { nodes, args: serverArgs }) : null
    /** every server of the scenario; `server` is the first (users sign up there by default) */
    this.servers = this.cluster ? this.cluster.nodes : [new ChatspaceServer(this.dir, { args: serverArgs })]
    this.server = this.servers[0]
    this.stockClients = []
    this.rustClients = []
    this.chatSockets = []
  }

  start () {
    return this.cluster ? this.cluster.start() : this.server.start()
  }

  /** A registered, logged-in user (signed up on `server`). */
  user (prefix, server = this.server) {
    return registerUser(server, prefix)
  }

  /** A stock client on `room` of `server`; `user` null means no cookie at all. */
  stock (user, room, name, { server = this.server, ...options } = {}) {
    const client = new StockClient({ wsBase: server.wsBase, room, cookie: user ? user.cookie : '', name, ...options })
    this.stockClients.push(client)
    return client
  }

  rust (user, room, name) {
    const client = new RustClient({ wsBase: this.server.wsBase, room, cookie: user.cookie, name })
    this.rustClients.push(client)
    return client
  }

  chatSocket (user, room, server = this.server) {
    const socket = new ChatSocket(server.wsBase, room, user.cookie)
    this.chatSockets.push(socket)
    return socket
  }

  describe () {
    const stock = this.stockClients.map((c) =>
      `${c.name} (${c.provider.serverUrl}): connected ${c.provider.wsconnected}, synced ${c.provider.synced}, attempts ${c.log.attempts}, ` +
      `close codes ${JSON.stringify(c.closeCodes)}, text ${JSON.stringify(c.value.slice(0, 200))}`)
    const rust = this.rustClients.map((c) => c.describe())
    const logs = this.servers.map((s) => `${s.name ?? 'server'} log (${s.logPath}):\n${s.logTail()}`)
    return [...stock, ...rust, ...logs].join('\n')
  }

  async close () {
    for (const client of this.stockClients) client.destroy()
    await Promise.all(this.rustClients.map((client) => client.quit()))
    for (const socket of this.chatSockets) socket.close()
    await closeStraySockets()
    try {
      if (this.cluster) await this.cluster.stop()
      else await this.server.stop()
    } finally {
      if (process.env.KEEP_TEST_DIR === undefined) rmSync(this.dir, { recursive: true, force: true })
    }
  }
}

const harnessTest = (title, options, fn) =>
  test(title, async () => {
    const harness = new Harness(options)
    let failed = false
    try {
      await harness.start()
      await fn(harness)
    } catch (error) {
      failed = true
      const diagnostics = `\n--- diagnostics ---\n${harness.describe()}`
      if (error instanceof Error) {
        error.message += diagnostics
        error.stack = `${error.stack}${diagnostics}`
      }
      throw error
    } finally {
      // A teardown that fails after the test did (a cluster whose Redis is gone, say) must not
      // hide the reason the test failed.
      await harness.close().catch((error) => {
        if (!failed) throw error
        console.error(`tearing down after the failure failed too: ${error.stack ?? error}`)
      })
    }
  })

/** A `node:test` test with a fresh server; on failure the error carries the diagnostics. */
export const scenario = (title, fn) => harnessTest(title, {}, fn)

/** A `node:test` test with a fresh cluster of `nodes` nodes (`h.servers`); diagnostics as above. */
export const clusterScenario = (title, nodes, fn) => harnessTest(title, { nodes }, fn)
