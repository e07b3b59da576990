// Roles on the socket against the stock client: a viewer's client that edits anyway (the edit
// made in its own Y.Doc, as a modified page would) changes nothing anyone else sees or anything
// stored, before and after a server restart; a removed member's socket is closed for good.
import assert from 'node:assert/strict'
import { scenario } from './support/harness.mjs'
import { uniqueName } from './support/accounts.mjs'
import { eventually } from './support/wait.mjs'

/** docs/protocol.md: no longer allowed in this room. */
const NO_LONGER_ALLOWED = 4405

scenario('a viewer\'s stock client that edits anyway changes nothing, before and after a restart', async (h) => {
  const [alice, bob, carol] = await Promise.all(['alice', 'bob', 'carol'].map((p) => h.user(p)))
  const room = await alice.createRoom(uniqueName('readonly'))
  await alice.setMember(room, bob, 'viewer')
  const owner = h.stock(alice, room, 'owner')
  const viewer = h.stock(bob, room, 'viewer')
  await Promise.all([owner.waitSynced(), viewer.waitSynced()])
  owner.insert(0, 'The owner writes. ')
  await eventually('the viewer to see the owner\'s text', () => viewer.value === owner.value)

  viewer.insert(0, 'VIEWER WAS HERE ')
  // Sent after the viewer's edit: once it arrives, the viewer's edit would have too.
  owner.insert(owner.value.length, 'Mark one.')
  await eventually('the viewer to see the mark', () => viewer.value.includes('Mark one.'))
  assert.equal(owner.value, 'The owner writes. Mark one.')

  await h.server.stop()
  await h.server.start()
  // The viewer's client comes back and sends its whole edit up again in its step 2.
  await Promise.all([owner.waitSynced(), viewer.waitSynced()])
  owner.insert(owner.value.length, ' Mark two.')
  const fresh = h.stock(carol, room, 'fresh reader')
  await fresh.waitSynced()
  await eventually('a fresh client to see the second mark', () => fresh.value.includes('Mark two.'))
  for (const client of [owner, fresh]) {
    assert.equal(client.value, 'The owner writes. Mark one. Mark two.', `${client.name} sees only the owner's text`)
  }
  assert.deepEqual(viewer.terminal, [], 'the viewer is not sent away')
})

scenario('a removed member\'s stock client is closed with 4405 within a second', async (h) => {
  const [alice, bob] = await Promise.all(['alice', 'bob'].map((p) => h.user(p)))
  const room = await alice.createRoom(uniqueName('members'), 'private')
  await alice.setMember(room, bob, 'editor')
  const member = h.stock(bob, room, 'member')
  await member.waitSynced()
  const removed = Date.now()
  await alice.removeMember(room, bob)
  await eventually('the member\'s socket to be closed for good', () => member.terminal.length > 0, { timeout: 1000 })
  assert.deepEqual(member.terminal, [NO_LONGER_ALLOWED])
  assert.ok(Date.now() - removed <= 1000)
})
