// ChatSpace in real Chromium against the real server binary. Every user has a browser context
// of their own (own cookies, IndexedDB and localStorage) and signs up through the real forms.
// Nothing here asserts how fast something happens: convergence is awaited by polling with
// generous time limits.
import assert from 'node:assert/strict'
import {
  eventually,
  uniqueName,
  waitLive,
  waitReady,
  editorText,
  chatLog,
  sendChat,
  typeAtEnd,
  fetchMessages,
  seedOutbox,
  unsentAfterReload,
  waitSaveState
} from './support/browser.mjs'
import { isChat } from './support/socket-gate.mjs'
import { browserSuite } from './support/suite.mjs'

const { scenario } = browserSuite()

/** Whether the characters of `needle` appear in `haystack` in order (not necessarily together). */
const isSubsequence = (needle, haystack) => {
  let i = 0
  for (const ch of haystack) if (ch === needle[i]) i++
  return i === needle.length
}

const count = (list, predicate) => list.filter(predicate).length

scenario('text typed by one user appears for the other, and typing at once in the same place converges', async (s) => {
  const { a, b } = await s.twoUsersInRoom('doc')
  assert.equal(await a.evaluate(() => 'chatspace' in window), false, 'the page exposes no test hook')

  const greeting = 'Hello from alice.'
  await typeAtEnd(a, greeting)
  await eventually(async () => assert.equal(await editorText(b), greeting), { what: "alice's text in bob's editor" })

  // Both carets at the same spot, both typing at the same time.
  await Promise.all([
    typeAtEnd(a, ' AAAA', { delay: 40 }),
    typeAtEnd(b, ' BBBB', { delay: 40 })
  ])
  const merged = await eventually(async () => {
    const [ta, tb] = await Promise.all([editorText(a), editorText(b)])
    assert.equal(ta, tb, 'both documents hold the same text')
    assert.equal(ta.length, greeting.length + 10, 'no keystroke lost')
    return ta
  }, { what: 'the two documents to converge' })
  assert.ok(merged.startsWith(greeting), merged)
  assert.ok(isSubsequence(' AAAA', merged.slice(greeting.length)), `alice's typing kept in order: ${merged}`)
  assert.ok(isSubsequence(' BBBB', merged.slice(greeting.length)), `bob's typing kept in order: ${merged}`)
})

scenario('undo reverts only one\'s own edits', async (s) => {
  const { alice, bob, a, b } = await s.twoUsersInRoom('undo')

  await typeAtEnd(b, 'Bob line.')
  await eventually(async () => assert.equal(await editorText(a), 'Bob line.'), { what: "bob's line on alice's page" })
  await typeAtEnd(a, ' Alice words.')
  await eventually(async () => assert.equal(await editorText(b), 'Bob line. Alice words.'), { what: "alice's words on bob's page" })

  await a.click('#editor .cm-content')
  await a.keyboard.press('Control+z')
  await eventually(async () => {
    assert.equal(await editorText(a), 'Bob line.')
    assert.equal(await editorText(b), 'Bob line.')
  }, { what: "alice's undo to remove her words only" })

  await a.keyboard.press('Control+y')
  await eventually(async () => assert.equal(await editorText(b), 'Bob line. Alice words.'), { what: 'redo' })
})

scenario('a remote cursor carries the other user\'s name in a colour that stays with the user', async (s) => {
  const { alice, bob, a, b } = await s.twoUsersInRoom('cursor')

  await typeAtEnd(a, 'Where is my cursor?')
  const label = b.locator('#editor .cm-ySelectionInfo', { hasText: alice.name })
  await label.waitFor({ state: 'visible' })
  assert.equal((await label.textContent()).trim(), alice.name)
  const caretColor = () =>
    b.locator('#editor .cm-ySelectionCaret', { has: b.locator('.cm-ySelectionInfo', { hasText: alice.name }) })
      .evaluate((el) => getComputedStyle(el).backgroundColor)
  const firstColor = await caretColor()

  // Presence: both listed, each page marks its own user, colours match the cursor.
  const aliceOnBob = b.locator('#presence li', { hasText: alice.name })
  await aliceOnBob.waitFor()
  await b.locator('#presence li.presence-user--own', { hasText: bob.name }).waitFor()
  await a.locator('#presence li.presence-user--own', { hasText: alice.name }).waitFor()
  await a.locator('#presence li', { hasText: bob.name }).waitFor()
  const swatch = await aliceOnBob.locator('.presence-swatch').evaluate((el) => getComputedStyle(el).backgroundColor)
  assert.equal(swatch, firstColor, 'presence swatch and cursor share the colour')

  // A new session of alice (reload) has the same colour.
  await a.reload()
  await waitLive(a)
  await typeAtEnd(a, '!')
  await eventually(async () => assert.equal(await editorText(b), 'Where is my cursor?!'), { what: 'the edit after reload' })
  await label.waitFor({ state: 'visible' })
  assert.equal(await caretColor(), firstColor, 'same colour after a reload')

  // Leaving the room takes alice off bob's list (and her cursor off his editor).
  await a.close()
  await aliceOnBob.waitFor({ state: 'detached' })
  await label.waitFor({ state: 'detached' })
})

scenario('chat goes both ways with names, and markup is shown as text without running', async (s) => {
  const { alice, bob, room, a, b, gate } = await s.twoUsersInRoom('chat', { gate: true })

  await sendChat(a, 'Hi Bob!')
  await eventually(async () => {
    const log = await chatLog(b)
    assert.deepEqual(log.map(({ author, text, own }) => ({ author, text, own })), [{ author: alice.name, text: 'Hi Bob!', own: false }])
  }, { what: "alice's message on bob's page" })
  await sendChat(b, 'Hello Alice')
  await eventually(async () => {
    const log = await chatLog(a)
    assert.deepEqual(
      log.map(({ author, text, own, pending }) => ({ author, text, own, pending })),
      [
        { author: alice.name, text: 'Hi Bob!', own: true, pending: false },
        { author: bob.name, text: 'Hello Alice', own: false, pending: false }
      ]
    )
  }, { what: "bob's reply on alice's page" })
  // Timestamps are shown (local time, machine-readable in datetime).
  const datetime = await b.locator('#chat-log li.chat-message time').first().getAttribute('datetime')
  assert.ok(!Number.isNaN(Date.parse(datetime)), `a valid datetime: ${datetime}`)

  const payload = '<img src=x onerror=alert(1)><script>alert(2)</script>'
  await sendChat(a, payload)
  await eventually(async () => {
    const log = await chatLog(b)
    assert.equal(count(log, (m) => m.text === payload && m.author === alice.name), 1)
  }, { what: 'the markup message on bob\'s page' })
  await eventually(async () => {
    const log = await chatLog(a)
    assert.equal(count(log, (m) => m.text === payload && !m.pending), 1)
  }, { what: 'the markup message acknowledged on alice\'s page' })
  // No element is made from the text, so none of its handlers can ever run.
  for (const page of [a, b]) {
    assert.equal(await page.locator('#chat-log img, #chat-log script').count(), 0, 'no element made from the text')
  }
  assert.deepEqual(alice.dialogs, [], 'no dialog on alice\'s page')
  assert.deepEqual(bob.dialogs, [], 'no dialog on bob\'s page')

  // The textarea stops at 4,000 characters; past its limit the page refuses the message itself,
  // says why, and keeps the text in the input.
  const tooLong = 'x'.repeat(4001)
  await a.locator('#chat-input').evaluate((el) => el.removeAttribute('maxlength'))
  await sendChat(a, tooLong)
  const refused = a.locator('#chat-log li.chat-message--rejected')
  await refused.waitFor()
  assert.match(await refused.locator('.chat-state').textContent(), /4,000 characters/)
  assert.equal(await a.inputValue('#chat-input'), tooLong)
  await refused.locator('button', { hasText: 'Dismiss' }).click()
  await refused.waitFor({ state: 'detached' })
  await a.fill('#chat-input', '')

  // A message the server refuses (here a blank one left in the outbox, which the form would not
  // take) shows the server's reason and leaves the outbox: it does not come back after a reload.
  await seedOutbox(a, alice, room, [{ clientId: 'blank-1', text: '   ', createdAt: new Date().toISOString() }])
  await a.reload()
  await waitLive(a)
  const blank = a.locator('#chat-log li.chat-message--rejected')
  await blank.waitFor()
  assert.match(await blank.locator('.chat-state').textContent(), /empty/)
  assert.deepEqual(await unsentAfterReload(a, gate), [], 'a refused message leaves the outbox')
  assert.equal(await a.locator('#chat-log li.chat-message--rejected').count(), 0, 'and is not sent again')

  const { messages } = await fetchMessages(bob, room)
  assert.deepEqual(messages.map((m) => [m.author, m.text]), [
    [alice.name, 'Hi Bob!'],
    [bob.name, 'Hello Alice'],
    [alice.name, payload]
  ])
})

scenario('the chat shows the latest messages and loads older ones on scrolling to the top, keeping the place', async (s) => {
  const { bob, room, a } = await s.twoUsersInRoom('history', { bobOpens: false })
  const total = 57
  for (let i = 1; i <= total; i++) {
    await a.fill('#chat-input', `message ${i}`)
    await a.press('#chat-input', 'Enter')
  }
  await eventually(async () => {
    const log = await chatLog(a)
    assert.equal(count(log, (m) => !m.pending), total)
  }, { what: 'every message acknowledged' })

  const b = await bob.openRoom(room)
  await eventually(async () => {
    const texts = (await chatLog(b)).map((m) => m.text)
    assert.deepEqual(texts, Array.from({ length: 50 }, (_, i) => `message ${total - 49 + i}`))
  }, { what: 'the latest 50 messages, oldest first' })
  assert.equal(await b.locator('#chat-load-older').count(), 0, 'no button: scrolling loads them')
  await b.setViewportSize({ width: 1280, height: 800 })
  const first = b.locator('#chat-log > li.chat-message', { hasText: `message ${total - 49}` }).first()
  const topOf = (locator) => locator.evaluate((el) => el.getBoundingClientRect().top)
  await b.$eval('#chat-log', (log) => { log.scrollTop = 0 })
  await eventually(async () => {
    const texts = (await chatLog(b)).map((m) => m.text)
    assert.deepEqual(texts, Array.from({ length: total }, (_, i) => `message ${i + 1}`))
  }, { what: 'all messages after scrolling to the top' })
  // The message that was at the top is still where it was; the older ones are above it.
  const logTop = await topOf(b.locator('#chat-log'))
  const firstTop = await topOf(first)
  assert.ok(firstTop > logTop && firstTop < logTop + 40, `the old top message stays in place: ${firstTop} vs log ${logTop}`)
  assert.ok(await b.$eval('#chat-log', (log) => log.scrollTop > 0), 'the older messages are above, scrolled out of view')
})

scenario('a message whose acknowledgement was lost is sent again and still stored once', async (s) => {
  const { bob, room, a, b, gate } = await s.twoUsersInRoom('lostack', { gate: true })

  // The server's chat acks to alice are lost on the way.
  gate.dropFromServer = isChat('ack')
  await sendChat(a, 'is this stored twice?')
  await eventually(async () => {
    assert.equal(count(await chatLog(b), (m) => m.text === 'is this stored twice?'), 1)
  }, { what: 'bob to get the message' })
  assert.equal(count(await chatLog(a), (m) => m.pending), 1, 'alice never got the ack')

  // The connection drops before the ack arrives; on reconnect the outbox sends it again.
  gate.dropFromServer = () => false
  await gate.closeCurrent()
  await eventually(async () => {
    const log = await chatLog(a)
    assert.equal(count(log, (m) => m.text === 'is this stored twice?'), 1)
    assert.equal(count(log, (m) => m.pending), 0)
  }, { what: 'alice to get the ack for the resend' })
  assert.deepEqual(await unsentAfterReload(a, gate), [], 'the ack emptied the outbox')
  // The server relays a room's messages in order: once bob has a later one, a second copy of the
  // first would have reached him before it.
  await sendChat(a, 'a later message')
  await eventually(async () => {
    assert.equal(count(await chatLog(b), (m) => m.text === 'a later message'), 1)
  }, { what: 'bob to get the later message' })
  assert.equal(count(await chatLog(b), (m) => m.text === 'is this stored twice?'), 1, 'no second copy for bob')
  const { messages } = await fetchMessages(bob, room)
  assert.deepEqual(messages.map((m) => m.text), ['is this stored twice?', 'a later message'])
})

scenario('edits and chat made offline survive a reload and are delivered exactly once when back', async (s) => {
  // Alice's room sockets go through a gate, so the test can make the server unreachable for her.
  const { alice, bob, room, a, b, gate } = await s.twoUsersInRoom('offline', { gate: true })
  await typeAtEnd(a, 'Shared start.')
  await eventually(async () => assert.equal(await editorText(b), 'Shared start.'), { what: 'the starting text on bob\'s page' })
  await b.locator('#presence li', { hasText: alice.name }).waitFor()

  // Alice loses the network.
  gate.refuse()
  await alice.context.setOffline(true)
  await a.locator('#connection-status[data-state="offline"]').waitFor({ state: 'attached' })

  // Both keep working: alice offline at the end, bob online at the start.
  await typeAtEnd(a, ' Offline words by alice.')
  await b.click('#editor .cm-content')
  await b.keyboard.press('Control+Home')
  await b.keyboard.type('Bob was here. ')
  await sendChat(a, 'offline message one')
  await sendChat(a, 'offline message two')
  await waitSaveState(a, 'unsaved')
  let log = await chatLog(a)
  assert.deepEqual(log.filter((m) => m.pending).map((m) => m.text), ['offline message one', 'offline message two'])

  // Still unable to reach the server, alice reloads the page.
  await alice.context.setOffline(false)
  await a.reload()
  await waitReady(a)
  assert.notEqual(await a.locator('#connection-status').getAttribute('data-state'), 'connected')
  await eventually(async () => {
    assert.equal(await editorText(a), 'Shared start. Offline words by alice.')
  }, { what: 'the offline edits restored from IndexedDB' })
  await waitSaveState(a, 'unsaved')
  log = await chatLog(a)
  assert.deepEqual(log.filter((m) => m.pending).map((m) => m.text), ['offline message one', 'offline message two'])
  assert.equal(await editorText(b), 'Bob was here. Shared start.', 'nothing reached bob while alice was cut off')

  // The network comes back: no user action, everything converges.
  gate.allow()
  await waitLive(a)
  const expected = 'Bob was here. Shared start. Offline words by alice.'
  await eventually(async () => {
    assert.equal(await editorText(a), expected)
    assert.equal(await editorText(b), expected)
  }, { what: 'the documents to merge' })
  const deliveredOnce = async () => {
    for (const page of [a, b]) {
      const entries = await chatLog(page)
      for (const text of ['offline message one', 'offline message two']) {
        assert.equal(count(entries, (m) => m.text === text), 1, `"${text}" shown once`)
        assert.equal(count(entries, (m) => m.text === text && !m.pending && m.author === alice.name), 1)
      }
    }
    const { messages } = await fetchMessages(bob, room)
    assert.deepEqual(messages.map((m) => m.text), ['offline message one', 'offline message two'])
  }
  await eventually(deliveredOnce, { what: 'each offline message to be delivered once' })
  await waitSaveState(a, 'saved')

  // Reloading both pages later shows the same: nothing is left to send, nothing was sent twice.
  const [unsent] = await Promise.all([unsentAfterReload(a, gate), b.reload().then(() => waitLive(b))])
  assert.deepEqual(unsent, [], 'the acks emptied the outbox')
  await eventually(deliveredOnce, { what: 'the same messages after reloading' })
  assert.equal(await editorText(b), expected)
})

scenario('the home page filters the room directory as one types', async (s) => {
  const alice = await s.newUser('alice')
  const tag = uniqueName('f')
  const rooms = [`alpha-${tag}`, `Beta-${tag}`, `gamma-${tag}`]
  for (const room of rooms) await (await alice.createRoom(room)).close()

  const page = await alice.newPage()
  await page.goto('/')
  // Names are compared lower-cased: room names are unique case-insensitively, and the page may
  // keep data-name in either case.
  const visible = () =>
    page.$$eval('#room-directory li[data-name]', (items) =>
      items.filter((li) => li.getClientRects().length > 0).map((li) => li.dataset.name.toLowerCase()))
  const ours = async () => (await visible()).filter((name) => name.endsWith(tag.toLowerCase())).sort()
  const expectedAll = rooms.map((r) => r.toLowerCase()).sort()
  const empty = page.locator('#room-filter-empty')

  assert.deepEqual(await ours(), expectedAll)
  await page.fill('#room-filter', `BETA-${tag.toUpperCase()}`)
  await eventually(async () => assert.deepEqual(await visible(), [`beta-${tag}`.toLowerCase()]), { what: 'the filtered list' })
  assert.equal(await empty.isVisible(), false)

  await page.fill('#room-filter', `no-room-is-called-this-${tag}`)
  await eventually(async () => assert.deepEqual(await visible(), []), { what: 'an empty list' })
  await empty.waitFor({ state: 'visible' })

  await page.fill('#room-filter', '')
  await eventually(async () => assert.deepEqual(await ours(), expectedAll), { what: 'the full list again' })
  assert.equal(await empty.isVisible(), false)
})

scenario('after everyone leaves and the server restarts, the room still has its text and chat', async (s) => {
  const { alice, bob, room, a, b } = await s.twoUsersInRoom('restart')

  await typeAtEnd(a, 'Text that must outlive a restart.')
  await sendChat(b, 'Chat that must outlive a restart.')
  await eventually(async () => {
    assert.equal(await editorText(b), 'Text that must outlive a restart.')
    const log = await chatLog(a)
    assert.equal(count(log, (m) => m.text === 'Chat that must outlive a restart.' && m.author === bob.name), 1)
  }, { what: 'text and chat on both pages' })
  await waitSaveState(a, 'saved')

  await Promise.all([a.close(), b.close()])
  await s.server.stop()
  await s.server.start()

  // A fresh context, so nothing can come from this browser's IndexedDB: only from the server.
  const returning = await s.sameUserElsewhere(alice)
  const page = await returning.openRoom(room)
  await eventually(async () => assert.equal(await editorText(page), 'Text that must outlive a restart.'), { what: 'the stored text' })
  await eventually(async () => {
    const log = await chatLog(page)
    assert.deepEqual(log.map(({ author, text }) => ({ author, text })), [{ author: bob.name, text: 'Chat that must outlive a restart.' }])
  }, { what: 'the stored chat' })
  const { messages } = await fetchMessages(returning, room)
  assert.deepEqual(messages.map((m) => [m.author, m.text]), [[bob.name, 'Chat that must outlive a restart.']])
})
