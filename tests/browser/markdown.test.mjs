// Issue 21, the document: Markdown in the editor (list continuation on Enter), the preview
// rendered from the live text as others type, the mode remembered per browser, and the
// sanitiser (nothing typed into the document can run script in anyone's preview).
import assert from 'node:assert/strict'
import { eventually, editorText, typeAtEnd, waitLive } from './support/browser.mjs'
import { browserSuite } from './support/suite.mjs'

const { scenario } = browserSuite()

const setMode = async (page, label) => {
  await page.click(`#doc-mode button:text-is("${label}")`)
  await page.waitForSelector(`#doc-mode button[aria-pressed="true"]:text-is("${label}")`)
}

/** What the preview shows: its headings and list items. */
const previewOutline = (page) =>
  page.$eval('#doc-preview', (root) => ({
    headings: [...root.querySelectorAll('h1, h2, h3')].map((h) => `${h.tagName}:${h.textContent}`),
    items: [...root.querySelectorAll('li')].map((li) => li.textContent.trim())
  }))

scenario('Markdown: list continuation, a live preview that follows the other user, the mode remembered', async (s) => {
  const { a, b } = await s.twoUsersInRoom('markdown')

  await setMode(a, 'Both')
  assert.ok(await a.isVisible('#editor .cm-content'), 'side by side shows the editor')
  assert.ok(await a.isVisible('#doc-preview'), 'side by side shows the preview')

  // Enter after a list item starts the next one ("- " comes from the Markdown keymap).
  await typeAtEnd(a, '# Weekly plan')
  await a.keyboard.press('Enter')
  await a.keyboard.type('- write the notes')
  await a.keyboard.press('Enter')
  await a.keyboard.type('review')
  await eventually(async () => assert.equal(await editorText(a), '# Weekly plan\n- write the notes\n- review'),
    { what: 'the list continued by Enter' })
  await eventually(async () => assert.deepEqual(await previewOutline(a), {
    headings: ['H1:Weekly plan'],
    items: ['write the notes', 'review']
  }), { what: 'the heading and the list in alice\'s preview' })

  // bob, in preview only, sees alice's text rendered; bob's typing reaches alice's preview.
  await setMode(b, 'Preview')
  assert.equal(await b.isVisible('#editor'), false, 'preview only hides the editor')
  await eventually(async () => assert.deepEqual((await previewOutline(b)).items, ['write the notes', 'review']),
    { what: 'alice\'s list in bob\'s preview' })
  await setMode(b, 'Edit')
  assert.equal(await b.isVisible('#doc-preview'), false, 'edit only hides the preview')
  await typeAtEnd(b, ' it')
  await b.keyboard.press('Enter')
  await b.keyboard.type('ship **it**')
  await eventually(async () => assert.deepEqual((await previewOutline(a)).items, ['write the notes', 'review it', 'ship it']),
    { what: 'bob\'s items in alice\'s preview' })
  assert.equal(await a.textContent('#doc-preview li:last-child strong'), 'it')

  // The mode is the browser's: alice's reload keeps "Both"; bob's last choice was "Edit".
  await a.reload()
  await waitLive(a)
  await a.waitForSelector('#doc-mode button[aria-pressed="true"]:text-is("Both")')
  await eventually(async () => assert.equal((await previewOutline(a)).items.length, 3), { what: 'the preview after a reload' })
})

scenario('Markdown preview: typed script, event handlers and javascript: links never run or reach the page', async (s) => {
  const { alice, a, b } = await s.twoUsersInRoom('sanitise')
  await setMode(a, 'Preview')
  await setMode(b, 'Edit')
  const payload = [
    '<img src="x" onerror="alert(\'img\')">',
    '',
    '<script>alert(\'script\')</script>',
    '',
    '[click me](javascript:alert(\'link\'))',
    '',
    '<a href="JaVaScRiPt:alert(1)" onclick="alert(2)">raw link</a> <svg onload="alert(3)"></svg>',
    '',
    'Payload done.'
  ]
  // bob types it; alice's preview renders it from the live text.
  await b.click('#editor .cm-content')
  for (const [i, line] of payload.entries()) {
    if (i > 0) await b.keyboard.press('Enter')
    await b.keyboard.insertText(line)
  }
  await eventually(async () => assert.match(await a.textContent('#doc-preview'), /Payload done\./),
    { what: 'the payload rendered in alice\'s preview' })
  // The broken image has been tried (so an onerror would have fired by now).
  await a.waitForFunction(() => [...document.querySelectorAll('#doc-preview img')].every((img) => img.complete))

  const found = await a.$eval('#doc-preview', (root) => ({
    scripts: root.querySelectorAll('script').length,
    handlers: [...root.querySelectorAll('*')].flatMap((el) =>
      [...el.attributes].filter((attr) => attr.name.toLowerCase().startsWith('on')).map((attr) => `${el.tagName} ${attr.name}`)),
    jsLinks: [...root.querySelectorAll('[href], [src], [xlink\\:href]')]
      .map((el) => el.getAttribute('href') ?? el.getAttribute('src') ?? '')
      .filter((url) => /^\s*javascript:/i.test(url)),
    linkTexts: [...root.querySelectorAll('a')].map((link) => link.textContent)
  }))
  assert.equal(found.scripts, 0, 'no script element in the preview')
  assert.deepEqual(found.handlers, [], 'no event handler attributes')
  assert.deepEqual(found.jsLinks, [], 'no javascript: URLs')
  assert.equal(await a.evaluate(() => document.querySelectorAll('script:not([src])').length), 0, 'no inline script anywhere on the page')
  // Clicking what is left of the links runs nothing either.
  for (const text of found.linkTexts) await a.click(`#doc-preview a:text-is("${text}")`)
  assert.deepEqual(alice.dialogs, [], 'no dialog opened')
  assert.deepEqual(s.users.flatMap((u) => u.dialogs), [], 'no dialog on any page')
})
