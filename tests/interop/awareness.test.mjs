// Presence through awareness: a stock client's name and colour reach the others, and vanish for
// them when it leaves, long before y-protocols' 30 s timeout would remove them.
import assert from 'node:assert/strict'
import { scenario } from './support/harness.mjs'
import { uniqueName } from './support/accounts.mjs'
import { eventually } from './support/wait.mjs'

/** Far below y-protocols' `outdatedTimeout` (30 s), so a pass cannot come from the timeout. */
const GONE_WITHIN_MS = 10_000

const userOf = (observer, subject) => observer.awareness.getStates().get(subject.doc.clientID)?.user

scenario('a stock client\'s presence reaches the others and disappears when its provider is destroyed', async (h) => {
  const [alice, bob, carol] = await Promise.all(['alice', 'bob', 'carol'].map((p) => h.user(p)))
  const room = await alice.createRoom(uniqueName('presence'))
  const a = h.stock(alice, room, 'alice')
  const b = h.stock(bob, room, 'bob')
  const c = h.stock(carol, room, 'carol')
  await Promise.all([a.waitSynced(), b.waitSynced(), c.waitSynced()])

  const presence = { name: alice.username, color: '#30bced' }
  a.awareness.setLocalStateField('user', presence)
  await eventually('bob and carol to see alice\'s name and colour', () =>
    userOf(b, a)?.name === presence.name && userOf(c, a)?.name === presence.name)
  assert.deepEqual(userOf(b, a), presence)
  assert.deepEqual(userOf(c, a), presence)

  // Someone who joins later is told about alice too (the server sends the states it knows).
  const late = h.stock(carol, room, 'late joiner')
  await late.waitSynced()
  await eventually('a late joiner to see alice', () => userOf(late, a)?.name === presence.name)

  a.destroy()
  await eventually('alice to disappear for bob, carol and the late joiner', () =>
    [b, c, late].every((x) => !x.awareness.getStates().has(a.doc.clientID)), { timeout: GONE_WITHIN_MS })
})

scenario('a stock client whose connection drops without a goodbye disappears for the others', async (h) => {
  const [alice, bob] = await Promise.all(['alice', 'bob'].map((p) => h.user(p)))
  const room = await alice.createRoom(uniqueName('dropped'))
  // No reconnecting, so that alice stays away once her socket is cut.
  const a = h.stock(alice, room, 'alice', { providerOptions: { shouldReconnect: () => false } })
  const b = h.stock(bob, room, 'bob')
  await Promise.all([a.waitSynced(), b.waitSynced()])

  a.awareness.setLocalStateField('user', { name: alice.username, color: '#ee6352' })
  await eventually('bob to see alice', () => userOf(b, a)?.name === alice.username)

  // Cut the TCP connection: no awareness "null" state and no close frame are sent, so only the
  // server can tell bob that alice is gone.
  a.provider.ws.terminate()
  await eventually('alice to disappear for bob', () => !b.awareness.getStates().has(a.doc.clientID), { timeout: GONE_WITHIN_MS })
  assert.equal(a.provider.wsconnected, false)
})

scenario('a stock client claiming another user\'s name is shown to the others under its own', async (h) => {
  const [alice, mallory] = await Promise.all(['alice', 'mallory'].map((p) => h.user(p)))
  const room = await alice.createRoom(uniqueName('names'))
  const a = h.stock(alice, room, 'alice')
  const m = h.stock(mallory, room, 'mallory')
  await Promise.all([a.waitSynced(), m.waitSynced()])

  m.awareness.setLocalStateField('user', { name: alice.username, color: '#ee6352' })
  await eventually('alice to see mallory\'s colour', () => userOf(a, m)?.color === '#ee6352')
  assert.deepEqual(userOf(a, m), { name: mallory.username, color: '#ee6352' })
})
