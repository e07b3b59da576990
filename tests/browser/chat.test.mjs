// Issue 21, chat that keeps up: consecutive messages of one author grouped under one name, the
// unread count (page title and Chat tab) and the unread line while the chat is not seen, and a
// Send button that refuses a message of nothing but whitespace. Scrolling back to older
// messages is in chatspace.test.mjs ("pages back to older ones").
import assert from 'node:assert/strict'
import { eventually, chatLog, sendChat, setTabHidden } from './support/browser.mjs'
import { browserSuite } from './support/suite.mjs'

const { scenario } = browserSuite()

/**
 * The log as [{text, name}], `name` being the author name drawn on the message (or null; a
 * grouped message keeps its name for screen readers, clipped to nothing on screen).
 */
const shownNames = (page) =>
  page.$$eval('#chat-log > li.chat-message', (items) =>
    items.map((li) => {
      const author = li.querySelector('.chat-author')
      const box = author?.getBoundingClientRect()
      const shown = author !== null && author.checkVisibility() && box.width > 2 && box.height > 2
      return { text: li.querySelector('.chat-text')?.textContent ?? '', name: shown ? author.textContent : null }
    }))

/** How many message times are drawn. */
const shownTimes = (page) =>
  page.$$eval('#chat-log time.chat-time', (times) => times.filter((t) => {
    const box = t.getBoundingClientRect()
    return t.checkVisibility() && box.width > 2 && box.height > 2
  }).length)

const firstUnread = (page) =>
  page.$$eval('#chat-log > li.chat-message--first-unread', (items) => items.map((li) => li.querySelector('.chat-text').textContent))

const waitStored = (page, count) =>
  eventually(async () => assert.equal((await chatLog(page)).filter((m) => m.id !== null).length, count),
    { what: `${count} messages stored and shown` })

scenario('messages of one author in a row show the name once; another author starts a new group', async (s) => {
  const { alice, bob, a, b } = await s.twoUsersInRoom('groups')
  await sendChat(a, 'one')
  await waitStored(b, 1)
  await sendChat(a, 'two')
  await waitStored(b, 2)
  await sendChat(b, 'three')
  await waitStored(a, 3)
  await sendChat(a, 'four')
  const expected = [
    { text: 'one', name: alice.name },
    { text: 'two', name: null },
    { text: 'three', name: bob.name },
    { text: 'four', name: alice.name }
  ]
  for (const page of [a, b]) {
    await eventually(async () => assert.deepEqual(await shownNames(page), expected), { what: 'the grouped log' })
  }
  // The time is shown once per group too.
  assert.equal(await shownTimes(b), 3)
  // A screen reader still hears who wrote the grouped one.
  assert.equal(await b.textContent('#chat-log > li.chat-message--cont .chat-author'), alice.name)

  // From the server's history after a reload, the grouping is the same.
  await b.reload()
  await eventually(async () => assert.deepEqual(await shownNames(b), expected), { what: 'the grouped log after a reload' })
})

scenario('while the tab is hidden or the chat covered, messages are counted in the title and marked; seeing the chat clears the count', async (s) => {
  const { room, a, b } = await s.twoUsersInRoom('unread')
  await b.setViewportSize({ width: 1280, height: 800 })
  const title = await b.title()
  assert.ok(title.startsWith(room), title)
  await sendChat(a, 'read before leaving')
  await waitStored(b, 1)

  await setTabHidden(b, true)
  await sendChat(a, 'first while away')
  await sendChat(a, 'second while away')
  await sendChat(a, 'third while away')
  await eventually(async () => assert.equal(await b.title(), `(3) ${title}`), { what: 'the count in the title' })
  assert.equal((await b.textContent('#chat-unread')).trim(), '3', 'the same count on the Chat tab')
  assert.deepEqual(await firstUnread(b), ['first while away'], 'the unread line above the first one')
  assert.ok(await b.$eval('#chat-log > li.chat-message--first-unread', (li) => getComputedStyle(li, '::before').content.includes('New messages')))

  // Back to the tab: the count goes, the line stays to show where the new messages start.
  await setTabHidden(b, false)
  await eventually(async () => assert.equal(await b.title(), title), { what: 'the title without a count' })
  assert.equal((await b.textContent('#chat-unread')).trim(), '')
  assert.deepEqual(await firstUnread(b), ['first while away'])

  // Answering means having read them: the line goes.
  await sendChat(b, 'back')
  await eventually(async () => assert.deepEqual(await firstUnread(b), []), { what: 'the unread line gone' })

  // The history panel covers the chat: the same, and closing it clears the count.
  await b.click('#history-toggle')
  await b.waitForSelector('#chat-log', { state: 'hidden' })
  await sendChat(a, 'while the history is open')
  await eventually(async () => assert.equal(await b.title(), `(1) ${title}`), { what: 'one unread in the title' })
  assert.deepEqual(await firstUnread(b), ['while the history is open'])
  await b.click('#history-close')
  await eventually(async () => assert.equal(await b.title(), title), { what: 'the count cleared with the chat shown' })

  // One's own messages and messages read as they arrive are never counted.
  await sendChat(a, 'seen live')
  await eventually(async () => assert.ok((await chatLog(b)).some((m) => m.text === 'seen live')), { what: 'the live message' })
  assert.equal(await b.title(), title)
})

scenario('a message of only spaces and line breaks cannot be sent, and the Send button says why', async (s) => {
  const { a, b } = await s.twoUsersInRoom('blank')
  const send = '#chat-form [type="submit"]'
  assert.equal(await b.isDisabled(send), true, 'disabled while the box is empty')
  assert.ok((await b.getAttribute(send, 'title')).length > 0, 'the tooltip says why')

  await b.fill('#chat-input', '  \n\t  ')
  assert.equal(await b.isDisabled(send), true, 'disabled with whitespace only')
  assert.match(await b.getAttribute(send, 'title'), /spaces/)
  assert.ok(await b.isVisible('#chat-send-hint'), 'a visible hint under the box')
  assert.match(await b.textContent('#chat-send-hint'), /nothing to send/)
  await b.press('#chat-input', 'Enter')
  assert.equal((await chatLog(b)).length, 0, 'nothing shown as sent')

  await b.fill('#chat-input', '  real text  ')
  assert.equal(await b.isDisabled(send), false)
  assert.equal(await b.isVisible('#chat-send-hint'), false)
  await b.click(send)
  assert.equal(await b.isDisabled(send), true, 'disabled again once the box is emptied by sending')
  // Messages arrive in order, so once this one is on alice's page a blank one sent before
  // it would be there too.
  await eventually(async () => assert.ok((await chatLog(a)).some((m) => m.text === '  real text  ')), { what: 'the real message' })
  assert.deepEqual((await chatLog(a)).map((m) => m.text), ['  real text  '])
})
