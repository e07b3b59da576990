// The save badge of the room page ("All changes saved") against the server's storage. Alice's
// room sockets go through a SocketGate, which can hold the frames her page sends: while the
// frames carrying her edits are held, the server cannot have them, and the page must not say
// they are saved. Once it does say so, the server is killed on the spot (SIGKILL, nothing more
// is saved) and restarted, and a new user who opens the room must find the text: it was stored
// when the page said so.
import assert from 'node:assert/strict'
import { eventually, waitLive, editorText, typeAtEnd, saveStatus, waitSaveState, uniqueName } from './support/browser.mjs'
import { SocketGate, isChat, isDocumentChange, isSyncStep2 } from './support/socket-gate.mjs'
import { browserSuite } from './support/suite.mjs'

const { scenario } = browserSuite()

/**
 * Waits until the page has sent a `since` that is held behind its edits (its request to have
 * them confirmed) and every `since` that went through has been answered, then checks that the
 * page still says the edits are being saved.
 */
const assertNotSavedWhileHeld = async (page, gate) => {
  await eventually(async () => {
    assert.notEqual((await saveStatus(page)).state, 'saved', 'the page says saved while its edits are held')
    assert.ok(gate.heldCount(isChat('since')) > 0, 'a since held behind the edits')
    assert.equal(gate.receivedCount(isChat('history')), gate.sentCount(isChat('since')), 'every since that went through answered')
  }, { what: 'the page to ask the server to confirm its edits' })
  assert.deepEqual(await saveStatus(page), { state: 'saving', text: 'Saving…' }, 'not saved while the edits are held')
}

/**
 * Kills the server the moment the page says its changes are saved, restarts it, and returns the
 * page of a user who never opened the room before. `pages` are the pages that hold the
 * text: they are closed, so that none of them can bring the text back to the new server.
 */
const textAfterCrashOnceSaved = async (s, { room, page, gate, pages }) => {
  await waitSaveState(page, 'saved')
  gate.refuse()
  await s.server.kill()
  await Promise.all(pages.map((p) => p.close()))
  await s.server.start()
  const reader = await s.newUser('carol')
  return reader.openRoom(room)
}

scenario('typed text shows as being saved until the server has stored it, then as saved', async (s) => {
  const alice = await s.newUser('alice')
  const gate = await SocketGate.install(alice.context)
  const room = uniqueName('saving')
  const a = await alice.createRoom(room)
  assert.deepEqual(await saveStatus(a), { state: 'saved', text: 'All changes saved' }, 'nothing to save in a new room')

  // The link stalls from the first edit on.
  gate.hold(isDocumentChange)
  await typeAtEnd(a, 'Typed and kept.')
  await waitSaveState(a, 'saving')
  await assertNotSavedWhileHeld(a, gate)

  gate.release()
  const fresh = await textAfterCrashOnceSaved(s, { room, page: a, gate, pages: [a] })
  await eventually(async () => assert.equal(await editorText(fresh), 'Typed and kept.'), { what: 'the stored text' })
})

scenario('edits made offline show as unsaved until the page is back, and as saved only once stored', async (s) => {
  const { room, a, b, gate } = await s.twoUsersInRoom('offline-save', { gate: true })
  await typeAtEnd(a, 'Online words.')
  await waitSaveState(a, 'saved')
  await eventually(async () => assert.equal(await editorText(b), 'Online words.'), { what: 'the online words on bob\'s page' })

  gate.refuse()
  await a.context().setOffline(true)
  await a.locator('#connection-status[data-state="offline"]').waitFor({ state: 'attached' })
  await typeAtEnd(a, ' Offline words.')
  assert.deepEqual(await saveStatus(a), { state: 'unsaved', text: 'Unsaved changes' })

  // Back online, but the link stalls from the page's sync step 2 on: its answer to the server's
  // step 1 on the new socket, which carries the offline words up.
  gate.hold(isSyncStep2)
  gate.allow()
  await a.context().setOffline(false)
  await waitLive(a)
  await assertNotSavedWhileHeld(a, gate)
  assert.equal(gate.heldCount(isSyncStep2), 1, 'the offline words are held with the sync step 2')
  // Bob, live in the room, has everything the server has: not the offline words.
  assert.equal(await editorText(b), 'Online words.')

  gate.release()
  const fresh = await textAfterCrashOnceSaved(s, { room, page: a, gate, pages: [a, b] })
  await eventually(async () => assert.equal(await editorText(fresh), 'Online words. Offline words.'), { what: 'the stored text' })
})
