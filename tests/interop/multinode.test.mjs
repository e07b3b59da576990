// ChatSpace run as several nodes (one PostgreSQL database, Redis between them), with the stock
// client: people connected to different nodes of one room type at once and end with the same
// text, see each other's presence and chat, and a node that crashes loses nothing anyone typed.
// Every user signs up on node-1; the session cookie it sets opens sockets on every node.
//
// support/typing.mjs hands out every character once, so the final text says who typed what and
// what was deleted. A client whose node is gone moves to another node the way a load balancer
// would send it there: a new provider on another node's address, with the same document.
import assert from 'node:assert/strict'
import { clusterScenario } from './support/harness.mjs'
import { uniqueName } from './support/accounts.mjs'
import { eventually } from './support/wait.mjs'
import { randomSource, seed } from './support/random.mjs'
import { MARKER, Typing } from './support/typing.mjs'

const OPS_PER_CLIENT = 40
const STARTING_FILLER = 300
/** Far below y-protocols' `outdatedTimeout` (30 s), so a pass cannot come from the timeout. */
const GONE_WITHIN_MS = 10_000
/** A crashed node's clients: its liveness key expires (10 s) and the others check every 3 s. */
const GONE_AFTER_CRASH_MS = 15_000

const userOf = (observer, subject) => observer.awareness.getStates().get(subject.doc.clientID)?.user

/** Waits until every client holds the same text with every edit of `typing`; that text. */
const converged = async (typing, clients, initial) => {
  const expectedLength = typing.expectedLength(initial)
  let texts = []
  await eventually(`${clients.map((c) => c.name).join(', ')} to hold the same text`, () => {
    texts = clients.map((c) => c.value)
    return texts.every((t) => t === texts[0]) && texts[0].length === expectedLength
  }, {
    describe: () => `seed ${seed}, expected length ${expectedLength}, lengths ${texts.map((t) => t.length)}`
  })
  return texts[0]
}

/** Fresh clients of `user`, one on each of `servers`, hold exactly `text`. */
const joinersGet = async (h, user, room, servers, text, where = servers.map((s) => s.name).join(', ')) => {
  const joiners = servers.map((server) => h.stock(user, room, `joiner on ${server.name}`, { server }))
  await eventually(`fresh clients on ${where} to receive the text`, () =>
    joiners.every((j) => j.connected && j.value === text), {
    describe: () => joiners.map((j) => `${j.name}: synced ${j.connected}, length ${j.value.length}`).join('; ')
  })
}

clusterScenario('stock clients on three nodes typing at once converge, a client joining any node gets the text, and presence crosses nodes', 3, async (h) => {
  const [node1, node2, node3] = h.servers
  const [alice, bob, carol] = await Promise.all(['alice', 'bob', 'carol'].map((p) => h.user(p)))
  const room = await alice.createRoom(uniqueName('nodes'))
  const typing = new Typing()
  const a = h.stock(alice, room, 'alice on node-1', { server: node1 })
  const b = h.stock(bob, room, 'bob on node-2', { server: node2 })
  const c = h.stock(carol, room, 'carol on node-3', { server: node3 })
  await Promise.all([a.waitSynced(), b.waitSynced(), c.waitSynced()])

  const initial = MARKER + typing.filler(STARTING_FILLER)
  a.insert(0, initial)
  await eventually('bob and carol to have the starting text', () => b.value === initial && c.value === initial)

  await Promise.all([a, b, c].map((client, i) => typing.typeAsStockClient(client, randomSource(i + 1), { ops: OPS_PER_CLIENT })))
  const final = await converged(typing, [a, b, c], initial)
  typing.check(final, initial, seed)
  await joinersGet(h, alice, room, h.servers, final)

  const presence = { name: alice.username, color: '#30bced' }
  a.awareness.setLocalStateField('user', presence)
  await eventually('carol on node-3 to see the name and colour of alice on node-1', () => userOf(c, a)?.name === presence.name)
  assert.deepEqual(userOf(c, a), presence)
  a.destroy()
  await eventually('alice to disappear for carol', () => !c.awareness.getStates().has(a.doc.clientID), { timeout: GONE_WITHIN_MS })
})

clusterScenario('a node killed while its clients type loses nothing: they move to the other nodes and everyone converges, and the presence of those left on it goes within 15 s', 3, async (h) => {
  const [node1, node2, node3] = h.servers
  const [alice, bob, carol, dave] = await Promise.all(['alice', 'bob', 'carol', 'dave'].map((p) => h.user(p)))
  const room = await alice.createRoom(uniqueName('crash'))
  const typing = new Typing()
  const a = h.stock(alice, room, 'alice on node-1', { server: node1 })
  const b = h.stock(bob, room, 'bob on node-2', { server: node2 })
  const c = h.stock(carol, room, 'carol on node-2', { server: node2 })
  const d = h.stock(dave, room, 'dave on node-3', { server: node3 })
  const clients = [a, b, c, d]
  // Eve only watches, on node-2, and stays with it when it dies: nobody should still see her
  // there after it is gone. Bob moves to another node and should be seen throughout.
  const eve = await h.user('eve')
  const e = h.stock(eve, room, 'eve on node-2', { server: node2 })
  await Promise.all([...clients, e].map((client) => client.waitSynced()))
  b.awareness.setLocalStateField('user', { name: bob.username, color: '#ee6352' })
  e.awareness.setLocalStateField('user', { name: eve.username, color: '#59cd90' })
  await eventually('alice and dave to see bob and eve', () =>
    [a, d].every((observer) => userOf(observer, b) && userOf(observer, e)))

  const initial = MARKER + typing.filler(STARTING_FILLER)
  b.insert(0, initial)
  await eventually('everyone to have the starting text', () => clients.every((client) => client.value === initial))

  // Slower typing than above, so that node-2 dies in the middle of it: its clients go on
  // typing while cut off and after they have moved.
  const ops = 60
  const typed = Promise.all(clients.map((client, i) =>
    typing.typeAsStockClient(client, randomSource(10 + i), { ops, pauseMs: 40 })))
  await eventually('a third of the typing to be done', () => typing.edits >= clients.length * ops / 3, { interval: 5 })
  const exit = await node2.kill()
  assert.equal(exit.signal, 'SIGKILL')
  const killedAt = Date.now()
  const editsAtKill = typing.edits
  await eventually('the clients of node-2 to notice that it is gone', () => !b.provider.wsconnected && !c.provider.wsconnected)
  b.moveTo(node1.wsBase)
  c.moveTo(node3.wsBase)
  await Promise.all([b.waitSynced(), c.waitSynced()])
  await eventually('eve, left on the dead node, to disappear for alice and dave', () =>
    [a, d].every((observer) => !userOf(observer, e)), { timeout: GONE_AFTER_CRASH_MS - (Date.now() - killedAt) })
  // Bob moved to node-1 before that, with the same awareness clock, which the nodes do not
  // count as news; if his state went with node-2's clients, his client answers its own
  // removal (as y-protocols does) and is shown again at once.
  await eventually('bob, who moved to node-1, to be shown to alice and dave', () =>
    [a, d].every((observer) => userOf(observer, b)?.name === bob.username), { timeout: 3_000 })
  await typed
  assert.ok(editsAtKill < typing.edits, 'nobody typed after node-2 was killed')

  const final = await converged(typing, clients, initial)
  typing.check(final, initial, seed)
  await joinersGet(h, dave, room, [node1, node3], final)

  // Restarted on the same database, node-2 serves that text too: the database holds it all.
  await node2.start()
  await node2.waitReady()
  await joinersGet(h, dave, room, [node2], final, 'node-2, restarted (it loads the room from the database),')
})

clusterScenario('chat sent on each node reaches the sockets on the others once, and the history on every node has it all', 3, async (h) => {
  const users = await Promise.all(['alice', 'bob', 'carol'].map((p) => h.user(p)))
  const room = await users[0].createRoom(uniqueName('chat'))
  const sockets = users.map((user, i) => h.chatSocket(user, room, h.servers[i]))
  await Promise.all(sockets.map((socket) => socket.joined()))

  const ofType = (socket, type) => socket.chat.filter((m) => m.type === type)
  sockets.forEach((socket, i) => socket.send({ type: 'send', client_id: `from-node-${i + 1}`, text: `hello from node-${i + 1}` }))
  await eventually('each socket to get its acknowledgement and the two other messages', () =>
    sockets.every((socket) => ofType(socket, 'ack').length === 1 && ofType(socket, 'message').length >= 2), {
    describe: () => sockets.map((socket) => JSON.stringify(socket.chat)).join('\n')
  })

  const stored = sockets.map((socket) => ofType(socket, 'ack')[0].message)
  assert.deepEqual(stored.map((m) => [m.author, m.text]), users.map((u, i) => [u.username, `hello from node-${i + 1}`]))
  assert.equal(new Set(stored.map((m) => m.id)).size, 3, `three distinct ids: ${JSON.stringify(stored)}`)
  const byId = (x, y) => x.id - y.id
  sockets.forEach((socket, i) => {
    const received = ofType(socket, 'message').map((m) => m.message).sort(byId)
    assert.deepEqual(received, stored.filter((_, j) => j !== i).sort(byId), `what the socket on node-${i + 1} received`)
  })

  for (const socket of sockets) socket.send({ type: 'since', after: 0 })
  await eventually('each socket to get the history', () => sockets.every((socket) => ofType(socket, 'history').length === 1))
  for (const [i, socket] of sockets.entries()) {
    const [history] = ofType(socket, 'history')
    assert.deepEqual(history.messages, [...stored].sort(byId), `the history on node-${i + 1}`)
    assert.equal(history.more, false)
  }
})
