// Issue 21, the layout: at 1280x800 the room page fits the window (the editor and the chat
// scroll inside their panes); at 390x844 one column with the tabs Document / Chat / People,
// an unread count on Chat, a header on one line and the message box on screen; remote cursor
// labels off the text and the gutter; the styled 404 page for any unknown path.
import assert from 'node:assert/strict'
import { eventually, chatLog, editorText, sendChat, typeAtEnd } from './support/browser.mjs'
import { browserSuite } from './support/suite.mjs'

const { scenario } = browserSuite()

const pageScroll = (page) =>
  page.evaluate(() => ({
    height: document.scrollingElement.scrollHeight,
    inner: window.innerHeight,
    width: document.scrollingElement.scrollWidth,
    innerWidth: window.innerWidth
  }))

const assertNoPageScroll = async (page, when) => {
  const m = await pageScroll(page)
  assert.ok(m.height <= m.inner, `${when}: page is ${m.height} px tall in a ${m.inner} px window`)
  assert.ok(m.width <= m.innerWidth, `${when}: page is ${m.width} px wide in a ${m.innerWidth} px window`)
}

/** An element scrolls inside itself: its content is taller than its box. */
const scrollsInside = (page, selector) =>
  page.$eval(selector, (el) => el.scrollHeight > el.clientHeight + 1 && getComputedStyle(el).overflowY !== 'visible')

const inViewport = (page, selector) =>
  page.$eval(selector, (el) => {
    const r = el.getBoundingClientRect()
    return r.width > 0 && r.height > 0 && r.top >= 0 && r.bottom <= window.innerHeight && r.left >= 0 && r.right <= window.innerWidth
  })

scenario('1280x800: a long document and a long chat scroll in their panes, the page never scrolls', async (s) => {
  const { a } = await s.twoUsersInRoom('fits', { bobOpens: false })
  await a.setViewportSize({ width: 1280, height: 800 })
  const lines = Array.from({ length: 150 }, (_, i) => `- line ${i + 1} of a long document`).join('\n')
  await a.click('#editor .cm-content')
  await a.keyboard.insertText(lines)
  for (let i = 1; i <= 30; i++) await sendChat(a, `message ${i} in a long chat`)
  await eventually(async () => assert.equal((await chatLog(a)).filter((m) => m.id !== null).length, 30),
    { what: 'thirty messages stored' })

  await assertNoPageScroll(a, 'edit mode')
  assert.ok(await scrollsInside(a, '#editor .cm-scroller'), 'the editor scrolls inside its pane')
  assert.ok(await scrollsInside(a, '#chat-log'), 'the chat scrolls inside its pane')
  assert.ok(await inViewport(a, '#chat-input'), 'the message box is on screen')

  await a.click('#doc-mode button:text-is("Both")')
  await eventually(async () => assert.ok(await scrollsInside(a, '#doc-preview')), { what: 'the preview scrolling inside its pane' })
  await assertNoPageScroll(a, 'side by side')

  await a.click('#history-toggle')
  await a.waitForSelector('#history-panel', { state: 'visible' })
  await assertNoPageScroll(a, 'history panel open')
  await a.click('#history-close')
  await a.waitForSelector('#chat-input', { state: 'visible' })
})

scenario('390x844: tabs Document / Chat / People, unread count on Chat, header on one line, message box reachable', async (s) => {
  const { alice, bob, a, b } = await s.twoUsersInRoom('mobile')
  await b.setViewportSize({ width: 390, height: 844 })

  // Document first: the editor, no chat.
  await b.waitForSelector('#room-tabs', { state: 'visible' })
  assert.equal(await b.getAttribute('#room-tabs [data-tab="document"]', 'aria-selected'), 'true')
  assert.ok(await b.isVisible('#editor .cm-content'))
  assert.equal(await b.isVisible('#chat-log'), false, 'the chat is on its own tab')
  await assertNoPageScroll(b, 'document tab')
  const header = await b.$$eval('.site-header > *, .site-nav > *', (els) =>
    els.filter((el) => el.getClientRects().length > 0).map((el) => el.getBoundingClientRect()))
  const rowTop = Math.min(...header.map((r) => r.top))
  const rowBottom = Math.max(...header.map((r) => r.bottom))
  assert.ok(header.every((r) => r.top < rowTop + 24), `header items on one row: ${JSON.stringify(header)}`)
  assert.ok(rowBottom - rowTop < 60, `header height ${rowBottom - rowTop}`)

  // Messages arriving while Document is shown are counted on the Chat tab.
  await sendChat(a, 'first while you read')
  await sendChat(a, 'second while you read')
  await eventually(async () => assert.equal((await b.textContent('#chat-unread')).trim(), '2'),
    { what: 'the unread count 2 on the Chat tab' })
  assert.ok(await b.isVisible('#chat-unread'))

  // People: everyone in the room.
  await b.click('#room-tabs [data-tab="people"]')
  await b.locator('#presence li', { hasText: alice.name }).waitFor()
  await b.locator('#presence li', { hasText: bob.name }).waitFor()
  assert.equal(await b.isVisible('#editor'), false)
  assert.equal(await b.isVisible('#chat-unread'), true, 'still unread on the People tab')

  // Chat: the messages, the count cleared, the box on screen even with a long chat.
  for (let i = 1; i <= 25; i++) await sendChat(a, `filler ${i}`)
  await b.click('#room-tabs [data-tab="chat"]')
  assert.equal(await b.isVisible('#chat-unread'), false, 'the count is cleared on the Chat tab')
  await eventually(async () => assert.equal((await chatLog(b)).length, 27), { what: 'the chat on bob\'s page' })
  assert.ok(await inViewport(b, '#chat-input'), 'the message box is on screen')
  assert.ok(await inViewport(b, '#chat-form [type="submit"]'), 'the Send button is on screen')
  await assertNoPageScroll(b, 'chat tab')
  await sendChat(b, 'from the phone')
  await eventually(async () => assert.ok((await chatLog(a)).some((m) => m.text === 'from the phone')),
    { what: 'bob\'s message on alice\'s page' })
  assert.equal(await b.isVisible('#chat-unread'), false, 'messages read on the Chat tab are not counted')

  // The history panel opens from the Document tab over the whole window and closes again.
  await b.click('#room-tabs [data-tab="document"]')
  await b.click('#history-toggle')
  await b.waitForSelector('#history-panel', { state: 'visible' })
  const panel = await b.$eval('#history-panel', (el) => el.getBoundingClientRect().width)
  assert.ok(panel >= 389, `history panel width ${panel}`)
  await b.click('#history-close')
  await b.waitForSelector('#editor .cm-content', { state: 'visible' })
})

scenario('remote cursor labels: hidden over the text until hovered, then above the line and off the gutter', async (s) => {
  const { bob, a, b } = await s.twoUsersInRoom('labels')
  await typeAtEnd(a, 'First line of text')
  await a.keyboard.press('Enter')
  await a.keyboard.type('Second line of text')
  await b.click('#editor .cm-content')
  await b.keyboard.press('Control+End')
  await b.keyboard.press('Home')
  await b.keyboard.type('>')
  await eventually(async () => assert.equal(await editorText(a), 'First line of text\n>Second line of text'),
    { what: 'bob\'s edit on alice\'s page' })

  const caret = a.locator('#editor .cm-ySelectionCaret', { has: a.locator('.cm-ySelectionInfo', { hasText: bob.name }) })
  const label = caret.locator('.cm-ySelectionInfo')
  await label.waitFor({ state: 'attached' })
  await a.mouse.move(5, 5)
  await eventually(async () => assert.equal(await label.evaluate((el) => getComputedStyle(el).opacity), '0'),
    { what: 'the label hidden while the pointer is elsewhere' })

  // Hovered again on each try: the caret widget is redrawn when bob's presence changes.
  await eventually(async () => {
    const r = await caret.boundingBox()
    await a.mouse.move(r.x + r.width / 2, r.y + r.height / 2)
    assert.equal(await label.evaluate((el) => getComputedStyle(el).opacity), '1')
  }, { what: 'the label shown on hover' })
  const boxes = await label.evaluate((el) => {
    const line = el.closest('.cm-line').getBoundingClientRect()
    const gutter = document.querySelector('#editor .cm-gutters').getBoundingClientRect()
    const box = el.getBoundingClientRect()
    return { line, gutter, box }
  })
  assert.ok(boxes.box.bottom <= boxes.line.top + 1, `label above its line: ${JSON.stringify(boxes)}`)
  assert.ok(boxes.box.left >= boxes.gutter.right, `label off the gutter: ${JSON.stringify(boxes)}`)
})

scenario('unknown paths get the styled 404 page with a link home, signed in or not', async (s) => {
  const alice = await s.newUser('alice')
  const page = await alice.newPage()
  for (const path of ['/no/such/page', '/rooms/x/y/z', '/accounts/nowhere']) {
    const response = await page.goto(path)
    assert.equal(response.status(), 404, path)
    assert.equal(await page.textContent('h1'), 'Not found')
    assert.equal(await page.getAttribute('.card a[href="/"]', 'href'), '/')
    assert.ok(await page.isVisible('.site-header .whoami'), 'the site header, signed in')
    assert.equal(await page.$eval('.card', (el) => getComputedStyle(el).borderRadius), '10px', 'the site stylesheet applies')
  }
  await page.click('.card a[href="/"]')
  await page.waitForURL((url) => url.pathname === '/')

  const visitor = await s.newUser('visitor', { register: false })
  const anonymous = await visitor.newPage()
  const response = await anonymous.goto('/definitely-missing')
  assert.equal(response.status(), 404)
  assert.equal(await anonymous.textContent('h1'), 'Not found')
  assert.ok(await anonymous.isVisible('a[href="/accounts/login"]'))
})
