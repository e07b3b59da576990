// The time slider once compaction has folded the update log into a snapshot: the server sends
// coarser steps (`complete: false`) and the panel says so, and the slider still runs from the
// version's text to the current one. The server here compacts after a handful of updates.
import assert from 'node:assert/strict'
import { eventually, editorText, typeAtEnd, uniqueName } from './support/browser.mjs'
import { browserSuite } from './support/suite.mjs'

const { scenario } = browserSuite({ serverArgs: ['--compact-after-updates', '5'] })

const storedText = async (user, room) => (await user.context.request.get(`/rooms/${room}/export?format=txt`)).text()

scenario('after compaction the time slider says its steps are coarser and still runs from the version to now', async (s) => {
  const alice = await s.newUser('alice')
  const room = uniqueName('compact')
  const a = await alice.createRoom(room)

  await typeAtEnd(a, 'Start.')
  await eventually(async () => assert.equal(await storedText(alice, room), 'Start.'), { what: 'the first text stored' })
  await a.click('#history-toggle')
  await a.fill('#version-name', 'start')
  await a.click('#version-save [type="submit"]')
  await a.locator('#version-list .version-name', { hasText: 'start' }).waitFor()

  // One update per keystroke, far more than the five after which the log is compacted.
  await typeAtEnd(a, ' Then many keystrokes, typed one by one.', { delay: 20 })
  const now = await editorText(a)
  await eventually(async () => assert.equal(await storedText(alice, room), now), { what: 'the typing stored' })

  await eventually(async () => {
    await a.locator('#version-list .version-item', { hasText: 'start' }).click()
    await a.locator('#timeline-note').waitFor({ state: 'visible', timeout: 2000 })
  }, { what: 'the compaction note' })
  assert.match(await a.locator('#timeline-note').textContent(), /compacted/)
  assert.equal(await a.locator('#timeline-text').textContent(), 'Start.')
  await a.locator('#timeline-slider').focus()
  await a.keyboard.press('End')
  assert.equal(await a.locator('#timeline-text').textContent(), now)
})
