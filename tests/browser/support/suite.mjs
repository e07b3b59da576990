// The setup every browser test file shares: one server on a fresh database and one Chromium for
// all of the file's scenarios, and `scenario`, which runs a test with the users it makes. When a
// scenario fails, screenshots, the pages' consoles and the server log are printed; an uncaught
// error in any of its pages fails it.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ChatspaceServer } from '../../support/server.mjs'
import { launchChromium, User, uniqueName, withDiagnostics } from './browser.mjs'
import { SocketGate } from './socket-gate.mjs'

/** What a scenario works with: the server and the users it makes. */
class Scenario {
  constructor (shared) {
    this.shared = shared
    /** the users of this scenario, for the diagnostics */
    this.users = []
  }

  get server () {
    return this.shared.server
  }

  /** A person with a browser context of their own, registered through the form unless asked not to be. */
  async newUser (prefix, { register = true } = {}) {
    const user = await new User(this.shared.browser, this.shared.server, prefix).init()
    this.shared.everyone.push(user)
    this.users.push(user)
    if (register) await user.register()
    return user
  }

  /** `user` again, logged in from a new browser context: nothing cached from before. */
  async sameUserElsewhere (user) {
    const again = await this.newUser(user.name, { register: false })
    again.name = user.name
    return again.login()
  }

  /**
   * The common start: alice and bob sign up, alice creates a room (its name starts with
   * `prefix`) and is left on it, then bob opens it too (unless `bobOpens` is false). With
   * `gate`, alice's room sockets go through a SocketGate, returned as `gate`.
   */
  async twoUsersInRoom (prefix, { gate = false, bobOpens = true } = {}) {
    const alice = await this.newUser('alice')
    const bob = await this.newUser('bob')
    const aliceGate = gate ? await SocketGate.install(alice.context) : null
    const room = uniqueName(prefix)
    const a = await alice.createRoom(room)
    const b = bobOpens ? await bob.openRoom(room) : null
    return { alice, bob, room, a, b, gate: aliceGate }
  }
}

/**
 * Registers the file's setup and teardown; returns `scenario(title, async (s) => ...)`.
 * `serverArgs`: flags the file's server gets besides its address and database.
 */
export const browserSuite = ({ serverArgs = [] } = {}) => {
  const shared = { dir: null, server: null, browser: null, everyone: [] }

  before(async () => {
    shared.dir = mkdtempSync(join(tmpdir(), 'chatspace-browser-'))
    shared.server = new ChatspaceServer(shared.dir, { args: serverArgs })
    await shared.server.start()
    shared.browser = await launchChromium()
  })

  after(async () => {
    for (const user of shared.everyone) await user.close()
    if (shared.browser) await shared.browser.close()
    if (shared.server) await shared.server.stop()
    if (shared.dir && process.env.KEEP_TEST_DIR === undefined) rmSync(shared.dir, { recursive: true, force: true })
  })

  const scenario = (title, fn) =>
    test(title, async () => {
      const s = new Scenario(shared)
      await withDiagnostics(title, s.users, shared.server, () => fn(s))
      for (const user of s.users) {
        assert.deepEqual(user.pageErrors, [], `uncaught errors in the pages of ${user.name}`)
      }
    })

  return { scenario }
}
