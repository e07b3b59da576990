// The server restarts (SIGTERM, then the same binary on the same database and port) under
// connected stock clients: they come back by themselves, nothing stored is lost, and what they
// typed while it was down is merged.
import assert from 'node:assert/strict'
import { scenario } from './support/harness.mjs'
import { uniqueName } from './support/accounts.mjs'
import { eventually } from './support/wait.mjs'

/** docs/protocol.md: "server shutting down"; y-websocket reconnects after it. */
const GOING_AWAY = 1001

scenario('after a server restart stock clients reconnect by themselves, keep the document and merge what was typed meanwhile', async (h) => {
  const [alice, bob] = await Promise.all(['alice', 'bob'].map((p) => h.user(p)))
  const live = await alice.createRoom(uniqueName('restart'))
  const kept = await alice.createRoom(uniqueName('kept'))

  // A room nobody is connected to when the server stops: after the restart its text can only
  // come from the database, not from a client uploading its copy again.
  const writer = h.stock(alice, kept, 'writer')
  const reader = h.stock(bob, kept, 'reader')
  await Promise.all([writer.waitSynced(), reader.waitSynced()])
  writer.insert(0, 'Written just before the restart.\n')
  await eventually('the reader to see the text (so the server has applied it)', () => reader.value === writer.value)
  writer.destroy()
  reader.destroy()

  const a = h.stock(alice, live, 'alice')
  const b = h.stock(bob, live, 'bob')
  await Promise.all([a.waitSynced(), b.waitSynced()])
  a.insert(0, 'Shopping list:\n- milk\n')
  await eventually('bob to see the list', () => b.value === a.value)

  const exit = await h.server.stop()
  assert.deepEqual(exit, { code: 0, signal: null }, 'the server exits cleanly on SIGTERM')
  await eventually('both clients to notice the server is gone', () => !a.provider.wsconnected && !b.provider.wsconnected)
  assert.ok(a.closeCodes.includes(GOING_AWAY), `alice's socket closed with ${JSON.stringify(a.closeCodes)}, not ${GOING_AWAY}`)
  assert.ok(b.closeCodes.includes(GOING_AWAY), `bob's socket closed with ${JSON.stringify(b.closeCodes)}, not ${GOING_AWAY}`)

  // While the server is down both keep typing.
  a.insert(a.value.length, '- eggs (alice, while the server was down)\n')
  b.insert(b.value.indexOf('- milk'), '- bread (bob, while the server was down)\n')

  await h.server.start()
  // Nobody calls connect(): the providers retry by themselves.
  await Promise.all([a.waitSynced(), b.waitSynced()])
  const expected = 'Shopping list:\n- bread (bob, while the server was down)\n- milk\n- eggs (alice, while the server was down)\n'
  await eventually('alice and bob to hold the merged list', () => a.value === expected && b.value === expected, {
    describe: () => JSON.stringify([a.value, b.value])
  })
  assert.deepEqual(a.terminal, [], 'alice was told not to reconnect')

  const fresh = h.stock(bob, live, 'fresh client')
  await fresh.waitSynced()
  await eventually('a fresh client to get the merged list from the server', () => fresh.value === expected)

  const again = h.stock(bob, kept, 'reader after the restart')
  await again.waitSynced()
  await eventually('the room nobody was in to still hold its text', () => again.value === 'Written just before the restart.\n', {
    describe: () => JSON.stringify(again.value)
  })
})
