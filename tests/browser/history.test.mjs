// Issue 19 in real Chromium: the history panel (save a version, select it, its text, the diff
// and the time slider), a restore seen live by a second user, and author colours on and off.
import assert from 'node:assert/strict'
import { eventually, editorText, typeAtEnd, waitLive } from './support/browser.mjs'
import { browserSuite } from './support/suite.mjs'
import { userColor } from '../../static/src/lib/colors.js'

const { scenario } = browserSuite()

/** Waits until the server has stored `text` as the room's text (what saves, restores and imports start from). */
const waitStored = (user, room, text) =>
  eventually(async () => {
    const response = await user.context.request.get(`/rooms/${room}/export?format=txt`)
    assert.equal(await response.text(), text)
  }, { what: `the stored text to be ${JSON.stringify(text)}` })

const openHistory = async (page) => {
  await page.click('#history-toggle')
  await page.waitForSelector('#history-panel', { state: 'visible' })
}

/** The versions the panel lists, newest first: [{id, kind, name}]. */
const listedVersions = (page) =>
  page.$$eval('#version-list > li[data-id]', (items) => items.map((li) => ({
    id: Number(li.dataset.id),
    kind: li.dataset.kind,
    name: li.querySelector('.version-name')?.textContent ?? ''
  })))

const saveVersion = async (page, name) => {
  await page.fill('#version-name', name)
  await page.click('#version-save [type="submit"]')
  return eventually(async () => {
    const found = (await listedVersions(page)).find((v) => v.name === name)
    assert.ok(found, `"${name}" listed`)
    return found
  }, { what: `version "${name}" in the list` })
}

const selectVersion = (page, name) =>
  page.locator('#version-list .version-item', { has: page.locator('.version-name', { hasText: name }) }).first().click()

/** "#rrggbbaa" → [r, g, b, alpha 0..1] */
const hexRgba = (hex) => [1, 3, 5, 7].map((i, n) => parseInt(hex.slice(i, i + 2), 16) / (n === 3 ? 255 : 1))
/** "rgba(r, g, b, a)" or "rgb(r, g, b)" → [r, g, b, a] */
const cssRgba = (css) => {
  const parts = css.match(/[\d.]+/g)?.map(Number) ?? []
  return parts.length === 3 ? [...parts, 1] : parts
}
const assertColour = (css, hex, what) => {
  const [got, want] = [cssRgba(css), hexRgba(hex)]
  assert.deepEqual(got.slice(0, 3), want.slice(0, 3), `${what}: ${css} is not ${hex}`)
  assert.ok(Math.abs(got[3] - want[3]) < 0.01, `${what}: alpha of ${css} is not that of ${hex}`)
}

scenario('the history panel saves and lists a version, shows its text, the diff and the time slider; a restore reaches a second user live', async (s) => {
  const { alice, bob, room, a, b } = await s.twoUsersInRoom('history')

  await typeAtEnd(a, 'First draft text.')
  await waitStored(alice, room, 'First draft text.')
  await openHistory(a)
  const draft = await saveVersion(a, 'Draft one')
  assert.equal(draft.kind, 'named')

  await eventually(async () => assert.equal(await editorText(b), 'First draft text.'), { what: 'the text on bob\'s page' })
  await typeAtEnd(b, ' More words.')
  await waitStored(alice, room, 'First draft text. More words.')
  await eventually(async () => assert.equal(await editorText(a), 'First draft text. More words.'), { what: 'bob\'s words on alice\'s page' })

  await selectVersion(a, 'Draft one')
  await eventually(async () => assert.equal(await a.locator('#version-text').textContent(), 'First draft text.'),
    { what: 'the version\'s text' })
  const diff = a.locator('#version-diff')
  const inserted = (await diff.locator('ins').allTextContents()).join('')
  assert.match(inserted, /More words\./, 'the words added since are marked as inserted')
  assert.equal(await diff.locator('del').count(), 0, 'nothing removed since')
  await eventually(async () => assert.equal(await diff.locator('ins').first().getAttribute('data-authors'), bob.name),
    { what: 'the inserted words named as bob\'s' })
  assert.equal(await diff.locator('.diff-authors').textContent(), `Added since by ${bob.name}.`)
  assert.equal((await diff.evaluate((el) => [...el.childNodes].filter((n) => !n.classList?.contains('diff-authors')).map((n) => n.textContent).join(''))).replace(/\s+/g, ' ').trim(), 'First draft text. More words.')
  // Marked by more than colour: the inserted run is underlined.
  assert.match(await diff.locator('ins').first().evaluate((el) => getComputedStyle(el).textDecorationLine), /underline/)

  // The time slider runs from the version to now.
  const slider = a.locator('#timeline-slider')
  await eventually(async () => assert.ok(Number(await slider.getAttribute('max')) >= 1), { what: 'the slider\'s steps' })
  assert.equal(await a.locator('#timeline-text').textContent(), 'First draft text.')
  assert.equal(await a.locator('#timeline-note').isVisible(), false, 'every edit is still in the log: no compaction note')
  await slider.focus()
  await a.keyboard.press('End')
  assert.equal(await a.locator('#timeline-text').textContent(), 'First draft text. More words.')
  assert.match(await a.locator('#timeline-info').textContent(), new RegExp(`by [^.]*${bob.name}`))
  await a.keyboard.press('Home')
  assert.equal(await a.locator('#timeline-text').textContent(), 'First draft text.')

  // Alice restores the draft; bob's open editor follows.
  await a.click('#version-restore')
  await a.click('#version-restore-confirm [type="submit"]')
  await eventually(async () => assert.equal(await editorText(b), 'First draft text.'), { what: 'the restore on bob\'s page' })
  await eventually(async () => assert.equal(await editorText(a), 'First draft text.'), { what: 'the restore on alice\'s page' })
  await eventually(async () => {
    const kinds = (await listedVersions(a)).map((v) => v.kind)
    assert.ok(kinds.includes('before_restore'), `kinds: ${kinds}`)
  }, { what: 'the "before restore" version in the list' })

  // Bob keeps typing after the restore, and it reaches alice.
  await typeAtEnd(b, ' Bob after.')
  await eventually(async () => assert.equal(await editorText(a), 'First draft text. Bob after.'), { what: 'bob\'s typing after the restore' })

  // Alice imports a text file from the panel: bob sees it live, CRLF turned into LF.
  await waitStored(alice, room, 'First draft text. Bob after.')
  await a.setInputFiles('#import-file', { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('Imported\r\nlines.') })
  await Promise.all([a.waitForEvent('load'), a.click('#text-import [type="submit"]')])
  await waitLive(a)
  await eventually(async () => assert.equal(await editorText(b), 'Imported\nlines.'), { what: 'the import on bob\'s page' })
  await openHistory(a)
  await eventually(async () => assert.ok((await listedVersions(a)).some((v) => v.kind === 'before_import')),
    { what: 'the "before import" version in the list' })

  // On a narrow screen the panel takes the whole width, and closes again.
  await b.setViewportSize({ width: 390, height: 800 })
  await openHistory(b)
  const box = await b.locator('#history-panel').boundingBox()
  assert.equal(Math.round(box.width), 390)
  await eventually(async () => assert.ok((await listedVersions(b)).length >= 3), { what: 'the list on the narrow page' })
  await b.click('#history-close')
  assert.equal(await b.locator('#history-panel').isVisible(), false)
  assert.equal(await b.locator('#history-toggle').getAttribute('aria-expanded'), 'false')
})

scenario('author colours tint each user\'s text in their colour, with their name, and go away when turned off', async (s) => {
  const { alice, bob, a, b } = await s.twoUsersInRoom('authors')

  await typeAtEnd(a, 'Alice wrote this.')
  await eventually(async () => assert.equal(await editorText(b), 'Alice wrote this.'), { what: 'alice\'s text on bob\'s page' })
  await typeAtEnd(b, ' Bob wrote that.')
  await eventually(async () => assert.equal(await editorText(a), 'Alice wrote this. Bob wrote that.'), { what: 'bob\'s text on alice\'s page' })
  assert.equal(await a.locator('#editor .cm-author').count(), 0, 'off by default')
  assert.equal(await a.locator('#author-colours').getAttribute('aria-pressed'), 'false')

  const marks = (page) => page.$$eval('#editor .cm-author', (nodes) => nodes.map((n) => ({
    author: n.dataset.author, title: n.title, text: n.textContent, background: getComputedStyle(n).backgroundColor
  })))
  const textBy = (list, name) => list.filter((m) => m.author === name).map((m) => m.text).join('')

  const check = async (page) => {
    const list = await eventually(async () => {
      const found = await marks(page)
      assert.equal(textBy(found, alice.name), 'Alice wrote this.')
      assert.equal(textBy(found, bob.name), ' Bob wrote that.')
      return found
    }, { what: 'both authors marked' })
    for (const mark of list) {
      assertColour(mark.background, userColor(mark.author).colorLight, `${mark.author}'s text`)
      assert.match(mark.title, new RegExp(mark.author))
    }
  }

  await a.click('#author-colours')
  assert.equal(await a.locator('#author-colours').getAttribute('aria-pressed'), 'true')
  await check(a)

  // The choice is remembered; after a reload the page's own client id is new, so both names now
  // come from the server's record of who owns which client id.
  await a.reload()
  await waitLive(a)
  assert.equal(await a.locator('#author-colours').getAttribute('aria-pressed'), 'true')
  await check(a)

  // Live: bob's next words are tinted on alice's page as they arrive.
  await typeAtEnd(b, ' More.')
  await eventually(async () => assert.equal(textBy(await marks(a), bob.name), ' Bob wrote that. More.'), { what: 'bob\'s new words tinted' })

  await a.click('#author-colours')
  assert.equal(await a.locator('#author-colours').getAttribute('aria-pressed'), 'false')
  await eventually(async () => assert.equal(await a.locator('#editor .cm-author').count(), 0), { what: 'the tints removed' })
  assert.equal(await editorText(a), 'Alice wrote this. Bob wrote that. More.')
})
