// Chat rides on the room socket as message type 100, which the stock client does not know: it
// must log and ignore those frames and go on syncing the document.
import assert from 'node:assert/strict'
import { scenario } from './support/harness.mjs'
import { uniqueName } from './support/accounts.mjs'
import { MESSAGE_CHAT } from './support/clients.mjs'
import { eventually } from './support/wait.mjs'

scenario('chat frames on the socket do not stop a stock client from syncing', async (h) => {
  const [alice, bob, carol] = await Promise.all(['alice', 'bob', 'carol'].map((p) => h.user(p)))
  const room = await alice.createRoom(uniqueName('chatty'))
  const a = h.stock(alice, room, 'alice (stock)')
  const b = h.stock(bob, room, 'bob (stock)')
  await Promise.all([a.waitSynced(), b.waitSynced()])
  a.insert(0, 'before the chat. ')
  await eventually('bob to see alice\'s first edit', () => b.value === a.value)

  const chat = h.chatSocket(carol, room)
  await chat.opened
  chat.send({ type: 'send', client_id: 'x1', text: 'hi' })
  chat.send({ type: 'send', client_id: 'x2', text: 'anyone there?' })
  await eventually('carol to get both acknowledgements', () => chat.chat.filter((m) => m.type === 'ack').length === 2, {
    describe: () => JSON.stringify(chat.chat)
  })
  assert.deepEqual(chat.chat.filter((m) => m.type === 'ack').map((m) => [m.message.author, m.message.text]), [[carol.username, 'hi'], [carol.username, 'anyone there?']])

  // Each stock client's role frame on joining (docs/protocol.md, "Roles"), then the two messages.
  const chatFrames = (client) => client.log.frameTypes.filter((t) => t === MESSAGE_CHAT).length
  await eventually('both stock clients to receive the chat frames', () => chatFrames(a) === 3 && chatFrames(b) === 3, {
    describe: () => `alice got types ${a.log.frameTypes}, bob got types ${b.log.frameTypes}`
  })

  // After the unknown frames, editing still flows both ways, on the same connection.
  a.insert(a.value.length, 'alice after. ')
  b.insert(b.value.length, 'bob after.')
  await eventually('both edits to reach both clients', () =>
    a.value === b.value && a.value.includes('alice after. ') && a.value.includes('bob after.'), {
    describe: () => JSON.stringify([a.value, b.value])
  })
  assert.ok(a.value.startsWith('before the chat. '))
  for (const client of [a, b]) {
    assert.equal(client.log.attempts, 1, `${client.name} reconnected`)
    assert.deepEqual(client.closeCodes, [], `${client.name}'s socket was closed`)
  }
})
