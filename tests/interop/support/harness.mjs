// One scenario = one server of its own (fresh temporary directory and database) and the clients
// made through it. Whatever happens, everything is torn down afterwards (providers destroyed,
// Rust clients quit, sockets closed, server stopped, directory removed), so `npm test` exits by
// itself; a failure carries the server's log tail and what each client last saw.
import { test } from 'node:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ChatspaceServer } from '../../support/server.mjs'
import { registerUser } from './accounts.mjs'
import { StockClient, ChatSocket, closeStraySockets } from './clients.mjs'
import { RustClient } from './rust-client.mjs'

export class Harness {
  /** @param {{ serverArgs?: string[] }} [options] flags the server gets besides its address and database */
  constructor ({ serverArgs = [] } = {}) {
    this.dir = mkdtempSync(join(tmpdir(), 'chatspace-interop-'))
    this.server = new ChatspaceServer(this.dir, { args: serverArgs })
    this.stockClients = []
    this.rustClients = []
    this.chatSockets = []
  }

  /** A registered, logged-in user. */
  user (prefix) {
    return registerUser(this.server, prefix)
  }

  /** A stock client on `room`; `user` null means no cookie at all. */
  stock (user, room, name, options = {}) {
    const client = new StockClient({ wsBase: this.server.wsBase, room, cookie: user ? user.cookie : '', name, ...options })
    this.stockClients.push(client)
    return client
  }

  rust (user, room, name) {
    const client = new RustClient({ wsBase: this.server.wsBase, room, cookie: user.cookie, name })
    this.rustClients.push(client)
    return client
  }

  chatSocket (user, room) {
    const socket = new ChatSocket(this.server.wsBase, room, user.cookie)
    this.chatSockets.push(socket)
    return socket
  }

  describe () {
    const stock = this.stockClients.map((c) =>
      `${c.name}: connected ${c.provider.wsconnected}, synced ${c.provider.synced}, attempts ${c.log.attempts}, ` +
      `close codes ${JSON.stringify(c.closeCodes)}, text ${JSON.stringify(c.value.slice(0, 200))}`)
    const rust = this.rustClients.map((c) => c.describe())
    return [...stock, ...rust, `server log (${this.server.logPath}):\n${this.server.logTail()}`].join('\n')
  }

  async close () {
    for (const client of this.stockClients) client.destroy()
    await Promise.all(this.rustClients.map((client) => client.quit()))
    for (const socket of this.chatSockets) socket.close()
    await closeStraySockets()
    await this.server.stop()
    if (process.env.KEEP_TEST_DIR === undefined) rmSync(this.dir, { recursive: true, force: true })
  }
}

/** A `node:test` test with a fresh server; on failure the error carries the diagnostics. */
export const scenario = (title, fn) =>
  test(title, async () => {
    const harness = new Harness()
    try {
      await harness.server.start()
      await fn(harness)
    } catch (error) {
      const diagnostics = `\n--- diagnostics ---\n${harness.describe()}`
      if (error instanceof Error) {
        error.message += diagnostics
        error.stack = `${error.stack}${diagnostics}`
      }
      throw error
    } finally {
      await harness.close()
    }
  })
