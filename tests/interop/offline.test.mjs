// A stock client goes offline (`provider.disconnect()`), keeps typing while the others type too,
// and comes back (`provider.connect()`): both sides' edits end up everywhere, once.
import assert from 'node:assert/strict'
import { scenario } from './support/harness.mjs'
import { uniqueName } from './support/accounts.mjs'
import { eventually } from './support/wait.mjs'

const count = (text, part) => text.split(part).length - 1

scenario('edits made offline by a stock client and edits made meanwhile by others both survive the reconnect', async (h) => {
  const [alice, bob, carol] = await Promise.all(['alice', 'bob', 'carol'].map((p) => h.user(p)))
  const room = await alice.createRoom(uniqueName('offline'))
  const a = h.stock(alice, room, 'alice')
  const b = h.stock(bob, room, 'bob')
  const c = h.stock(carol, room, 'carol')
  await Promise.all([a.waitSynced(), b.waitSynced(), c.waitSynced()])

  a.insert(0, 'Minutes of the meeting.\n')
  await eventually('everyone to see the first line', () => b.value === a.value && c.value === a.value)

  a.provider.disconnect()
  assert.equal(a.provider.wsconnected, false)

  // Offline: alice rewrites the heading and adds a line; bob and carol keep typing online.
  const the = a.value.indexOf('the ')
  a.delete(the, 'the '.length)
  a.insert(the, 'board ')
  a.insert(a.value.length, 'alice (offline): bring the projector\n')
  b.insert(b.value.length, 'bob: budget approved\n')
  c.insert(0, 'carol: agenda attached\n')
  await eventually('bob and carol to see each other\'s lines', () =>
    b.value === c.value && b.value.includes('carol: agenda') && c.value.includes('bob: budget'))
  assert.ok(!a.value.includes('bob: budget') && !a.value.includes('carol: agenda'), 'alice got edits while offline')
  assert.ok(!b.value.includes('projector') && !b.value.includes('board'), 'bob got alice\'s offline edits before she reconnected')

  a.provider.connect()
  await a.waitSynced()
  await eventually('all three to hold the same text again', () => a.value === b.value && b.value === c.value, {
    describe: () => JSON.stringify([a.value, b.value, c.value])
  })
  const text = a.value
  for (const line of ['carol: agenda attached\n', 'Minutes of board meeting.\n', 'bob: budget approved\n', 'alice (offline): bring the projector\n']) {
    assert.equal(count(text, line), 1, `${JSON.stringify(line)} appears once in ${JSON.stringify(text)}`)
  }
  assert.ok(!text.includes('the meeting'), 'alice\'s offline deletion was undone')
})
