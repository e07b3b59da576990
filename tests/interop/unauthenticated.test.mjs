// A stock client without a session is turned away with 4401, sees nothing of the room, and,
// because 4401 is in y-websocket's "do not reconnect" range (4400-4499), does not hammer the
// server with retries.
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { scenario } from './support/harness.mjs'
import { uniqueName } from './support/accounts.mjs'
import { eventually } from './support/wait.mjs'

const UNAUTHENTICATED = 4401
/** y-websocket retries after 200 ms, 400 ms, 800 ms...: a reconnecting client would try 3+ times. */
const WATCH_MS = 3_000

scenario('a stock client without a session gets 4401, no document content, and stops reconnecting', async (h) => {
  const alice = await h.user('alice')
  const room = await alice.createRoom(uniqueName('private'))
  const a = h.stock(alice, room, 'alice')
  await a.waitSynced()
  a.insert(0, 'for members only')

  const stranger = h.stock(null, room, 'stranger')
  await eventually('the stranger\'s socket to be closed', () => stranger.closeCodes.length > 0)
  assert.deepEqual(stranger.closeCodes, [UNAUTHENTICATED])
  assert.deepEqual(stranger.terminal, [UNAUTHENTICATED], 'y-websocket reports the close as final')

  // Watching, not asserting speed: over this window a reconnecting client would try again.
  await sleep(WATCH_MS)
  assert.equal(stranger.log.attempts, 1, 'the stranger reconnected')
  assert.deepEqual(stranger.log.frameTypes, [], 'the stranger received frames')
  assert.equal(stranger.value, '')
  assert.equal(stranger.provider.synced, false)
  assert.equal(stranger.awareness.getStates().size, 1, 'the stranger learnt about other people in the room')

  // The room itself is unaffected.
  await eventually('alice to still be connected', () => a.connected && a.log.attempts === 1)
})
