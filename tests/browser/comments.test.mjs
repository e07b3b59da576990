// Issue 21, anchored comments: a passage selected in the editor is commented on in the chat;
// the other user sees the quote; after an edit right before the passage, clicking the quote
// highlights exactly the original passage; the passage is marked in the editor while the
// message is on screen; once the passage is deleted, the message says so.
import assert from 'node:assert/strict'
import { eventually, editorText, shownText, chatLog, typeAtEnd, waitLive } from './support/browser.mjs'
import { browserSuite } from './support/suite.mjs'

const { scenario } = browserSuite()

/** The editor text under the decoration `className`. */
const decorated = (page, className) => shownText(page, `#editor .${className}`)

/** The quotes in the chat log: [{quote, text, deleted}] for the messages that carry one. */
const quotes = (page) =>
  page.$$eval('#chat-log > li.chat-message', (items) =>
    items
      .filter((li) => li.querySelector('.chat-quote') !== null)
      .map((li) => {
        const state = li.querySelector('.chat-quote-state')
        return {
          quote: li.querySelector('.chat-quote').textContent,
          text: li.querySelector('.chat-text').textContent,
          deleted: state !== null && state.checkVisibility() ? state.textContent : null
        }
      }))

/** Moves the caret to the end, then `left` characters back, selecting the `select` before it. */
const selectFromEnd = async (page, left, select) => {
  await page.click('#editor .cm-content')
  await page.keyboard.press('Control+End')
  for (let i = 0; i < left; i++) await page.keyboard.press('ArrowLeft')
  for (let i = 0; i < select; i++) await page.keyboard.press('Shift+ArrowLeft')
}

const sameText = async (pages, expected) => {
  for (const page of pages) {
    await eventually(async () => assert.equal(await editorText(page), expected), { what: `the text "${expected}"` })
  }
}

scenario('a comment on a passage keeps to that passage through edits and says when it is deleted', async (s) => {
  const { a, b } = await s.twoUsersInRoom('comments')
  await a.setViewportSize({ width: 1280, height: 800 })
  await b.setViewportSize({ width: 1280, height: 800 })
  await a.click('#editor .cm-content')
  await a.keyboard.type('Alpha beta gamma delta')
  await sameText([a, b], 'Alpha beta gamma delta')

  // Nothing selected: nothing to comment on.
  assert.equal(await a.isDisabled('#comment-selection'), true)
  await selectFromEnd(a, 6, 5) // "gamma"
  assert.equal(await a.isDisabled('#comment-selection'), false)
  await a.click('#comment-selection')
  assert.equal(await a.textContent('.chat-compose-quote .chat-quote'), 'gamma', 'the quote above the chat box')
  assert.ok(await a.evaluate(() => document.activeElement.id === 'chat-input'), 'the chat box has the focus')
  await a.keyboard.type('Is gamma right?')
  await a.keyboard.press('Enter')
  assert.equal(await a.isVisible('.chat-compose-quote'), false, 'sent: the quote goes from the box')

  const expected = [{ quote: 'gamma', text: 'Is gamma right?', deleted: null }]
  await eventually(async () => assert.deepEqual(await quotes(b), expected), { what: 'the quote on the other page' })
  // On screen in both chats: the passage is marked in both editors.
  for (const page of [a, b]) {
    await eventually(async () => assert.equal(await decorated(page, 'cm-comment-mark'), 'gamma'), { what: 'the marked passage' })
  }

  // The shortcut does the same; "Remove" takes the passage back out of the box.
  await selectFromEnd(a, 17, 5) // "Alpha"
  await a.keyboard.press('Control+Alt+m')
  assert.equal(await a.textContent('.chat-compose-quote .chat-quote'), 'Alpha')
  await a.click('.chat-compose-cancel')
  assert.equal(await a.isVisible('.chat-compose-quote'), false)

  // Bob types right before the passage: the comment stays on "gamma" alone.
  await selectFromEnd(b, 11, 0)
  await b.keyboard.type('very ')
  await sameText([a, b], 'Alpha beta very gamma delta')
  await b.click('#chat-log .chat-quote')
  await eventually(async () => assert.equal(await decorated(b, 'cm-comment-current'), 'gamma'), { what: 'the highlighted passage' })
  assert.equal(await decorated(b, 'cm-comment-mark'), 'gamma')
  await eventually(async () => assert.equal(await decorated(a, 'cm-comment-mark'), 'gamma'), { what: 'the mark moved on the other page' })

  // The chat covered by the history panel: the message is not on screen, nothing is marked.
  await a.click('#history-toggle')
  await eventually(async () => assert.equal(await decorated(a, 'cm-comment-mark'), ''), { what: 'no mark while the chat is covered' })
  await a.click('#history-close')
  await eventually(async () => assert.equal(await decorated(a, 'cm-comment-mark'), 'gamma'), { what: 'the mark back' })

  // Alice deletes the passage: both pages say so, and nothing is marked any more.
  await selectFromEnd(a, 6, 5)
  await a.keyboard.press('Backspace')
  await sameText([a, b], 'Alpha beta very  delta')
  const gone = [{ ...expected[0], deleted: 'passage deleted' }]
  for (const page of [a, b]) {
    await eventually(async () => assert.deepEqual(await quotes(page), gone), { what: '"passage deleted"' })
    assert.equal(await decorated(page, 'cm-comment-mark'), '')
  }

  // From the server's history after a reload, the same.
  await b.reload()
  await eventually(async () => assert.deepEqual(await quotes(b), gone), { what: '"passage deleted" after a reload' })
})

scenario('on a phone, Comment opens the Chat tab and a click on the quote goes back to the passage', async (s) => {
  const { a } = await s.twoUsersInRoom('comments-phone', { bobOpens: false })
  await a.setViewportSize({ width: 390, height: 844 })
  await a.click('#editor .cm-content')
  await a.keyboard.type('One two three')
  await selectFromEnd(a, 6, 3) // "two"
  await a.click('#comment-selection')
  assert.equal(await a.getAttribute('#room', 'data-tab'), 'chat')
  assert.ok(await a.isVisible('#chat-input'))
  await a.keyboard.type('why two?')
  await a.keyboard.press('Enter')
  await eventually(async () => assert.deepEqual(await quotes(a), [{ quote: 'two', text: 'why two?', deleted: null }]), { what: 'the comment' })
  await a.click('#chat-log .chat-quote')
  assert.equal(await a.getAttribute('#room', 'data-tab'), 'document')
  await eventually(async () => assert.equal(await decorated(a, 'cm-comment-current'), 'two'), { what: 'the highlighted passage' })
})

scenario('a comment on text typed offline goes once that text is back on the server', async (s) => {
  const { alice, a, b, gate } = await s.twoUsersInRoom('comments-offline', { gate: true })
  await typeAtEnd(a, 'Online.')
  await sameText([a, b], 'Online.')
  gate.refuse()
  await alice.context.setOffline(true)
  await a.locator('#connection-status[data-state="offline"]').waitFor({ state: 'attached' })
  await typeAtEnd(a, ' Typed offline.')
  await selectFromEnd(a, 1, 13) // "Typed offline"
  await a.click('#comment-selection')
  await a.keyboard.type('said offline')
  await a.keyboard.press('Enter')

  // Back: the socket's first frames would be the outbox; the comment waits for the document.
  await alice.context.setOffline(false)
  gate.allow()
  await waitLive(a)
  const expected = [{ quote: 'Typed offline', text: 'said offline', deleted: null }]
  await eventually(async () => assert.deepEqual(await quotes(b), expected), { what: 'the comment on the other page' })
  const log = await chatLog(a)
  assert.equal(log.length, 1)
  assert.ok(log[0].id !== null && !log[0].pending, 'stored, not refused')
  await b.click('#chat-log .chat-quote')
  await eventually(async () => assert.equal(await decorated(b, 'cm-comment-current'), 'Typed offline'), { what: 'the passage' })
})
