// Issue 18 in real Chromium: a session ended in one tab signs out the room open in another, and
// roles as a person meets them: an owner invites a viewer through the settings page, the viewer
// follows the document live but cannot type or chat, and a promotion lets them type without a
// reload. Absence is never proven by waiting: a later event that must come after it is awaited.
import assert from 'node:assert/strict'
import { eventually, uniqueName, editorText, typeAtEnd } from './support/browser.mjs'
import { browserSuite } from './support/suite.mjs'

const { scenario } = browserSuite()

/** Submits one of the settings page's forms and waits for the page it lands on. */
const submitSettings = async (page, form) => {
  await Promise.all([
    page.waitForLoadState('load'),
    page.waitForURL((url) => url.pathname.endsWith('/settings')),
    form.locator('[type="submit"]').first().click()
  ])
}

scenario('logging out in one tab signs out the room open in another tab within a second', async (s) => {
  const alice = await s.newUser('alice')
  const room = uniqueName('logout')
  const roomPage = await alice.createRoom(room)
  await typeAtEnd(roomPage, 'Before logout.')

  const other = await alice.newPage()
  await other.goto('/')
  await Promise.all([
    other.waitForResponse((response) => new URL(response.url()).pathname === '/accounts/logout'),
    other.locator('form[action="/accounts/logout"] [type="submit"]').click()
  ])
  const loggedOutAt = Date.now()
  // The session is over on the server once the logout answered: the other tab must say so.
  await eventually(async () => {
    const status = await roomPage.locator('#connection-status').evaluate((el) => ({ state: el.dataset.state, text: el.textContent }))
    assert.equal(status.state, 'closed', `status: ${JSON.stringify(status)}`)
    assert.match(status.text, /signed out/i)
  }, { timeout: 1000, interval: 25, what: 'the signed-out notice in the room tab' })
  const took = Date.now() - loggedOutAt

  // The signed-out tab stays disconnected: a fresh login sees the text from before only.
  const again = await s.sameUserElsewhere(alice)
  const check = await again.openRoom(room)
  assert.equal(await editorText(check), 'Before logout.')
  assert.ok(took <= 1000, `signed out after ${took} ms`)
})

scenario('an owner invites a viewer in settings; the viewer follows live but cannot type or chat; a promotion lets them type without reloading', async (s) => {
  const alice = await s.newUser('alice')
  const bob = await s.newUser('bob')
  const room = uniqueName('roles')
  const a = await alice.createRoom(room, { visibility: 'private' })
  await typeAtEnd(a, 'Owner text.')

  // The owner adds bob as a viewer with the real form on the settings page.
  const settings = await alice.newPage()
  await settings.goto(`/rooms/${room}/settings`)
  const add = settings.locator('form:has(#member-username)')
  await add.locator('#member-username').fill(bob.name)
  await add.locator('#member-role').selectOption('viewer')
  await submitSettings(settings, add)
  const bobRow = settings.locator(`tr[data-member="${bob.name}"]`)
  assert.equal(await bobRow.locator('select[name="role"]').inputValue(), 'viewer')

  const b = await bob.openRoom(room)
  assert.equal(await b.locator('#room').getAttribute('data-role'), 'viewer')
  assert.match(await b.locator('#room-access').textContent(), /You are a viewer/)
  // No chat box, a note instead.
  assert.equal(await b.locator('#chat-form').isVisible(), false, 'the chat box is hidden from a viewer')
  assert.equal(await b.locator('#chat-readonly-note').isVisible(), true)
  assert.equal(await b.locator('#editor-readonly-note').isVisible(), true)
  assert.equal(await b.locator('#editor .cm-content').getAttribute('contenteditable'), 'false')
  // The history panel opens for a viewer, without "Save version".
  await b.click('#history-toggle')
  await b.waitForSelector('#history-panel', { state: 'visible' })
  assert.equal(await b.locator('#version-save').isVisible(), false, 'no "Save version" for a viewer')
  assert.equal(await b.locator('#comment-selection').isVisible(), false, 'no "Comment" for a viewer')

  // Live edits and the owner's cursor reach the viewer.
  await eventually(async () => assert.equal(await editorText(b), 'Owner text.'), { what: 'the text on the viewer\'s page' })
  await typeAtEnd(a, ' Live.')
  await eventually(async () => assert.equal(await editorText(b), 'Owner text. Live.'), { what: 'a live edit on the viewer\'s page' })
  await eventually(async () => {
    const names = await b.$$eval('#editor .cm-ySelectionInfo', (nodes) => nodes.map((n) => n.textContent))
    assert.ok(names.includes(alice.name), `carets shown: ${names}`)
  }, { what: 'the owner\'s cursor on the viewer\'s page' })

  // The viewer types: nothing changes. The owner's next edit, which reaches the viewer after the
  // keystrokes, proves the viewer's page has had every chance to apply them.
  await b.click('#editor .cm-content')
  await b.keyboard.press('Control+End')
  await b.keyboard.type('VIEWERTYPED')
  await typeAtEnd(a, ' Marker.')
  await eventually(async () => assert.ok((await editorText(b)).endsWith('Marker.')), { what: 'the marker on the viewer\'s page' })
  assert.equal(await editorText(b), 'Owner text. Live. Marker.', 'the viewer\'s typing changed nothing locally')
  assert.equal(await editorText(a), 'Owner text. Live. Marker.')

  // The owner promotes bob in settings; bob's open page becomes editable without a reload.
  await bobRow.locator('select[name="role"]').selectOption('editor')
  await submitSettings(settings, bobRow.locator('form:has(select[name="role"])'))
  assert.equal(await settings.locator(`tr[data-member="${bob.name}"] select[name="role"]`).inputValue(), 'editor')
  await eventually(async () => {
    assert.equal(await b.locator('#room').getAttribute('data-role'), 'editor')
    assert.equal(await b.locator('#editor .cm-content').getAttribute('contenteditable'), 'true')
  }, { what: 'the promotion on bob\'s open page' })
  assert.equal(await b.locator('#version-save').isVisible(), true, '"Save version" shown to the new editor')
  await b.click('#history-close')
  assert.equal(await b.locator('#chat-form').isVisible(), true, 'the chat box is back')
  assert.equal(await b.locator('#editor-readonly-note').isVisible(), false)

  await typeAtEnd(b, ' Bob now edits.')
  await eventually(async () => assert.equal(await editorText(a), 'Owner text. Live. Marker. Bob now edits.'),
    { what: 'bob\'s typing on the owner\'s page' })
  // The frames the viewer's socket carried before the promotion came first on the same socket:
  // had its early typing been relayed, the owner would have it by now.
  assert.ok(!(await editorText(a)).includes('VIEWERTYPED'))
  assert.equal(await editorText(b), 'Owner text. Live. Marker. Bob now edits.')
})
