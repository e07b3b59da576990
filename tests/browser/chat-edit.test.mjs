// Issue 21, editing and mentions: an author edits and deletes their own messages from the chat
// log (keyboard reachable buttons, inline editing), and everyone in the room sees the change
// live and after a reload; `@username` of a room member is highlighted, and the mentioned
// user's unread count says that they were mentioned.
import assert from 'node:assert/strict'
import { eventually, chatLog, sendChat, setTabHidden } from './support/browser.mjs'
import { browserSuite } from './support/suite.mjs'

const { scenario } = browserSuite()

/** The stored message whose text is `text`, as a locator. */
const messageItem = (page, text) =>
  page.locator('#chat-log > li.chat-message[data-id]', { has: page.locator('.chat-text', { hasText: text }) })

/** The log as [{text, edited, deleted}], stored messages only. */
const shownStates = (page) =>
  page.$$eval('#chat-log > li.chat-message[data-id]', (items) =>
    items.map((li) => ({
      text: li.querySelector('.chat-text').textContent,
      edited: li.querySelector('.chat-edited') !== null,
      deleted: li.classList.contains('chat-message--deleted')
    })))

scenario('an author edits and deletes a message with the keyboard, and a second user sees both live', async (s) => {
  const { a, b } = await s.twoUsersInRoom('edits')
  await sendChat(a, 'helo wrold')
  await sendChat(a, 'delete me')
  await sendChat(b, 'from bob')
  await eventually(async () => assert.equal((await chatLog(b)).filter((m) => m.id !== null).length, 3),
    { what: 'three messages stored on bob\'s page' })
  assert.equal(await messageItem(b, 'helo wrold').locator('.chat-actions button').count(), 0,
    'no Edit or Delete on someone else\'s message')
  assert.equal(await messageItem(b, 'from bob').locator('.chat-actions button').count(), 2)

  // Edit: reached with Tab from the message's own buttons, saved with Enter.
  const first = messageItem(a, 'helo wrold')
  await first.getByRole('button', { name: 'Edit message' }).focus()
  await a.keyboard.press('Enter')
  const box = first.locator('textarea.chat-edit-input')
  assert.equal(await box.evaluate((el) => el === document.activeElement), true, 'the box has the focus')
  await box.fill('hello world')
  await a.keyboard.press('Enter')
  for (const page of [b, a]) {
    await eventually(async () => assert.deepEqual((await shownStates(page))[0], { text: 'hello world', edited: true, deleted: false }),
      { what: 'the edit shown with its mark' })
  }

  // Escape leaves a message as it was.
  await messageItem(a, 'hello world').getByRole('button', { name: 'Edit message' }).click()
  await a.locator('textarea.chat-edit-input').fill('never sent')
  await a.keyboard.press('Escape')
  assert.equal(await a.locator('textarea.chat-edit-input').count(), 0)

  // Delete asks first, in place.
  await messageItem(a, 'delete me').getByRole('button', { name: 'Delete message' }).click()
  await a.locator('.chat-confirm').getByRole('button', { name: 'Delete' }).click()
  const expected = [
    { text: 'hello world', edited: true, deleted: false },
    { text: 'message deleted', edited: false, deleted: true },
    { text: 'from bob', edited: false, deleted: false }
  ]
  for (const page of [b, a]) {
    await eventually(async () => assert.deepEqual(await shownStates(page), expected), { what: 'the deletion shown live' })
  }
  assert.equal(await messageItem(a, 'message deleted').locator('.chat-actions button').count(), 0,
    'a deleted message cannot be edited')

  // The same from the server's history.
  await b.reload()
  await eventually(async () => assert.deepEqual(await shownStates(b), expected), { what: 'the same after a reload' })
})

scenario('a mention of a room member is highlighted, and the mentioned user\'s unread count says so', async (s) => {
  const { bob, a, b } = await s.twoUsersInRoom('mentions')
  await b.setViewportSize({ width: 1280, height: 800 })
  const title = await b.title()
  await sendChat(a, 'no mention here')
  await eventually(async () => assert.equal((await chatLog(b)).filter((m) => m.id !== null).length, 1), { what: 'stored' })

  await setTabHidden(b, true)
  await sendChat(a, 'plain while away')
  await eventually(async () => assert.equal(await b.title(), `(1) ${title}`), { what: 'one unread, no mention' })
  await sendChat(a, `hi @${bob.name}, look at this, and @nobody_at_all too`)
  await eventually(async () => assert.equal(await b.title(), `(2) @ ${title}`), { what: 'the mention in the title' })
  const badge = b.locator('#chat-unread')
  assert.equal((await badge.textContent()).trim(), '@2')
  assert.equal(await badge.evaluate((el) => el.classList.contains('unread-count--mention')), true)

  const mentionOn = (page) => page.$$eval('#chat-log .chat-mention', (spans) =>
    spans.map((span) => ({ text: span.textContent, me: span.classList.contains('chat-mention--me') })))
  assert.deepEqual(await mentionOn(b), [{ text: `@${bob.name}`, me: true }], 'only a real member is highlighted')
  await eventually(async () => assert.deepEqual(await mentionOn(a), [{ text: `@${bob.name}`, me: false }]),
    { what: 'highlighted for the author too' })
  const shown = (await chatLog(b)).map((m) => m.text)
  assert.ok(shown.includes(`hi @${bob.name}, look at this, and @nobody_at_all too`), 'the text reads as written')
})

scenario('a page that was offline while a message was edited and another deleted shows both once back', async (s) => {
  const { bob, a, b } = await s.twoUsersInRoom('away')
  await sendChat(a, 'first draft')
  await sendChat(a, 'regrettable')
  await eventually(async () => assert.equal((await chatLog(b)).filter((m) => m.id !== null).length, 2), { what: 'both on bob\'s page' })

  await bob.context.setOffline(true)
  await b.locator('#connection-status[data-state="offline"]').waitFor({ state: 'attached' })
  await messageItem(a, 'first draft').getByRole('button', { name: 'Edit message' }).click()
  await a.locator('textarea.chat-edit-input').fill('final text')
  await a.keyboard.press('Enter')
  await messageItem(a, 'regrettable').getByRole('button', { name: 'Delete message' }).click()
  await a.locator('.chat-confirm').getByRole('button', { name: 'Delete' }).click()
  const expected = [
    { text: 'final text', edited: true, deleted: false },
    { text: 'message deleted', edited: false, deleted: true }
  ]
  await eventually(async () => assert.deepEqual(await shownStates(a), expected), { what: 'the changes on alice\'s page' })

  // Both messages are older than the newest bob has: only the change counter brings them.
  await bob.context.setOffline(false)
  await eventually(async () => assert.deepEqual(await shownStates(b), expected), { what: 'the changes on bob\'s page once back' })
})
