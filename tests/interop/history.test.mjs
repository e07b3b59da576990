// History against the stock Yjs client: the `yjs` export (of the current text and of a saved
// version) loads in stock Yjs 13 and shows the same text as the txt export and the clients; a
// restore made while two stock clients keep typing loses nothing they typed after it, removes
// what the restored version did not have, and everyone converges.
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import * as Y from 'yjs'
import { scenario } from './support/harness.mjs'
import { uniqueName } from './support/accounts.mjs'
import { eventually } from './support/wait.mjs'

/** GET with the user's cookie; the body as bytes. */
const download = async (server, user, path) => {
  const response = await fetch(server.url(path), { headers: { cookie: user.cookie } })
  assert.equal(response.status, 200, `GET ${path} answered ${response.status}`)
  return new Uint8Array(await response.arrayBuffer())
}

/** The text a Yjs update shows once applied to a fresh stock `Y.Doc`. */
const yjsText = (bytes) => {
  const doc = new Y.Doc()
  Y.applyUpdate(doc, bytes)
  return doc.getText('colabspace').toString()
}

const exportText = async (server, user, room, format, version = null) => {
  const query = `format=${format}${version === null ? '' : `&version=${version}`}`
  const bytes = await download(server, user, `/rooms/${room}/export?${query}`)
  return format === 'yjs' ? yjsText(bytes) : new TextDecoder().decode(bytes)
}

/** Saves a named version through the room's form; returns its id. */
const saveVersion = async (server, user, room, name) => {
  const saved = await user.submit(`/rooms/${room}`, `/rooms/${room}/versions`, { name })
  assert.equal(saved.status, 303, `saving a version answered ${saved.status}: ${saved.text}`)
  const list = JSON.parse((await user.request('GET', `/rooms/${room}/versions`)).text)
  const version = list.find((v) => v.name === name)
  assert.ok(version, `version ${name} listed: ${JSON.stringify(list)}`)
  return version.id
}

scenario('the yjs export of the current text and of a saved version loads in stock Yjs with the same text', async (h) => {
  const [alice, bob] = await Promise.all(['alice', 'bob'].map((p) => h.user(p)))
  const room = await alice.createRoom(uniqueName('export'))
  const a = h.stock(alice, room, 'alice')
  const b = h.stock(bob, room, 'bob')
  await Promise.all([a.waitSynced(), b.waitSynced()])

  a.insert(0, 'Line one by alice.\n')
  b.insert(0, 'Ünïcode ✓ and 😀 by bob.\n')
  await eventually('both clients to converge', () => a.value === b.value && a.value.length > 40)
  const first = a.value
  await eventually('the stored text to be the clients\'', async () => (await exportText(h.server, alice, room, 'txt')) === first)
  const id = await saveVersion(h.server, alice, room, 'first')

  a.insert(a.value.length, 'Added later.')
  await eventually('bob to have the addition', () => b.value === a.value)
  const now = a.value
  await eventually('the stored text to have the addition', async () => (await exportText(h.server, bob, room, 'txt')) === now)

  assert.equal(await exportText(h.server, bob, room, 'yjs'), now, 'the current yjs export')
  assert.equal(await exportText(h.server, bob, room, 'yjs', id), first, 'the version\'s yjs export')
  assert.equal(await exportText(h.server, bob, room, 'txt', id), first, 'the version\'s txt export')
  // The export is a document other Yjs apps can go on editing, and merge back.
  const elsewhere = new Y.Doc()
  Y.applyUpdate(elsewhere, await download(h.server, bob, `/rooms/${room}/export?format=yjs`))
  elsewhere.getText('colabspace').insert(0, 'Offline copy: ')
  Y.applyUpdate(b.doc, Y.encodeStateAsUpdate(elsewhere))
  await eventually('the copy\'s edit to reach alice', () => a.value === `Offline copy: ${now}`)
})

scenario('a restore while two stock clients type keeps everything typed after it and everyone converges', async (h) => {
  const [alice, bob, carol] = await Promise.all(['alice', 'bob', 'carol'].map((p) => h.user(p)))
  const room = await alice.createRoom(uniqueName('restore'))
  const a = h.stock(alice, room, 'alice')
  const b = h.stock(bob, room, 'bob')
  await Promise.all([a.waitSynced(), b.waitSynced()])

  a.insert(0, 'Version text.')
  await eventually('the text stored', async () => (await exportText(h.server, alice, room, 'txt')) === 'Version text.')
  const id = await saveVersion(h.server, alice, room, 'base')
  b.insert(b.value.length, ' Extra words to undo.')
  await eventually('the extra words stored', async () => (await exportText(h.server, alice, room, 'txt')).includes('Extra words'))

  // Alice appends markers at the end and bob at the start, so no marker lands inside another
  // and the text without them is the document's own.
  const typed = { a: [], b: [] }
  let typing = true
  const typist = async (client, key, atStart) => {
    for (let i = 0; typing; i++) {
      const marker = `[${key}${i}]`
      client.insert(atStart ? 0 : client.value.length, marker)
      typed[key].push({ marker })
      await sleep(15)
    }
  }
  const loops = [typist(a, 'a', false), typist(b, 'b', true)]
  await eventually('some typing before the restore', () => typed.a.length >= 10 && typed.b.length >= 10)

  const restored = await alice.submit(`/rooms/${room}`, `/rooms/${room}/versions/${id}/restore`, {})
  assert.equal(restored.status, 303, `the restore answered ${restored.status}: ${restored.text}`)
  const countAtRestore = { a: typed.a.length, b: typed.b.length }
  await eventually('more typing after the restore', () =>
    typed.a.length >= countAtRestore.a + 10 && typed.b.length >= countAtRestore.b + 10)
  typing = false
  await Promise.all(loops)

  const fresh = h.stock(carol, room, 'carol')
  await fresh.waitSynced()
  await eventually('the three clients to converge', () => a.value === b.value && b.value === fresh.value, {
    describe: () => `a=${JSON.stringify(a.value)}\nb=${JSON.stringify(b.value)}\nfresh=${JSON.stringify(fresh.value)}`
  })
  const final = a.value
  await eventually('the stored text to be the same', async () => (await exportText(h.server, carol, room, 'txt')) === final)

  assert.equal(final.replace(/\[[ab]\d+\]/g, ''), 'Version text.', 'the restore removed the extra words and nothing else')
  // Typed after the restore's answer: counted by position, not by clock (a marker typed in the
  // millisecond of the answer would otherwise be left out).
  const after = [...typed.a.slice(countAtRestore.a), ...typed.b.slice(countAtRestore.b)]
  assert.ok(after.length >= 20)
  for (const { marker } of after) assert.ok(final.includes(marker), `${marker}, typed after the restore, is kept`)
  const list = JSON.parse((await alice.request('GET', `/rooms/${room}/versions`)).text)
  assert.ok(list.some((v) => v.kind === 'before_restore'), 'a "before restore" version was saved')
})
