// The room page says "All changes saved" once a chat `since` it sends after y-websocket reports
// `sync` on a socket is answered (docs/protocol.md, "Session on connect" and "Ordering"). That
// proves the edits stored only if the stock client has already sent its sync step 2 (its answer
// to the server's step 1, carrying what the server lacks) when it reports `sync`: the server
// sends its step 1 first, so the client answers it before it reads the server's step 2. Checked
// here with the stock client on a first connection and on a reconnect after offline edits.
import assert from 'node:assert/strict'
import { scenario } from './support/harness.mjs'
import { uniqueName } from './support/accounts.mjs'
import { eventually } from './support/wait.mjs'

const MESSAGE_SYNC = 0
const SYNC_STEP2 = 1


scenario('a stock client has sent its sync step 2 by the time it reports sync, also after a reconnect', async (h) => {
  const [alice, bob] = await Promise.all(['alice', 'bob'].map((p) => h.user(p)))
  const room = await alice.createRoom(uniqueName('order'))
  /** the sockets that sent a sync step 2 */
  const sentStep2 = new WeakSet()
  const observer = {
    sent: (socket, bytes) => {
      if (bytes[0] === MESSAGE_SYNC && bytes[1] === SYNC_STEP2) sentStep2.add(socket)
    },
    received: () => {}
  }
  const a = h.stock(alice, room, 'alice', { connect: false, observer })
  /** for every `sync` true: whether its socket had sent a step 2 by then */
  const step2BeforeSync = []
  a.provider.on('sync', (synced) => {
    if (synced) step2BeforeSync.push(sentStep2.has(a.provider.ws))
  })

  a.insert(0, 'written before connecting. ')
  a.provider.connect()
  await a.waitSynced()
  a.provider.disconnect()
  a.insert(a.value.length, 'written offline.')
  a.provider.connect()
  await a.waitSynced()
  assert.deepEqual(step2BeforeSync, [true, true])

  const b = h.stock(bob, room, 'bob')
  await b.waitSynced()
  await eventually('bob to see what alice wrote before connecting and offline', () =>
    b.value === 'written before connecting. written offline.', { describe: () => JSON.stringify(b.value) })
})
