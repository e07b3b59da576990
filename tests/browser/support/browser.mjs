// Chromium and the user-level steps the tests share: registering through the real form,
// creating a room from the home page, opening a room and waiting until it is live, polling
// for a condition, and screenshots when a scenario fails.
import { chromium } from 'playwright-core'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

/** Patient defaults: this suite checks that things happen, never how fast. */
export const WAIT_MS = 30_000

export const launchChromium = () =>
  chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync'
    ]
  })

/**
 * Retries `check` until it returns without throwing (and returns its value), or throws the last
 * failure after `timeout` ms.
 */
export const eventually = async (check, { timeout = WAIT_MS, interval = 100, what = 'condition' } = {}) => {
  const deadline = Date.now() + timeout
  let lastError = null
  for (;;) {
    try {
      return await check()
    } catch (error) {
      lastError = error
    }
    if (Date.now() > deadline) {
      const detail = lastError instanceof Error ? lastError.message : String(lastError)
      throw new Error(`timed out after ${timeout} ms waiting for ${what}: ${detail}`, { cause: lastError })
    }
    await sleep(interval)
  }
}

let userCounter = 0
/** A username that is new in this run (3 to 32 characters of A-Z a-z 0-9 _ . -). */
export const uniqueName = (prefix) => `${prefix}${process.pid % 10000}_${++userCounter}`

export const PASSWORD = 'correct horse battery staple 42'

/**
 * A person: their own browser context (cookie jar, IndexedDB, localStorage), registered through
 * the register form, which logs them in.
 */
export class User {
  constructor (browser, server, prefix) {
    this.browser = browser
    this.server = server
    this.name = uniqueName(prefix)
    this.context = null
    this.pages = []
    /** messages of dialogs (alert, confirm, ...) any of this user's pages opened */
    this.dialogs = []
    /** uncaught exceptions in this user's pages */
    this.pageErrors = []
    this.consoleLines = []
  }

  async init () {
    this.context = await this.browser.newContext({ baseURL: this.server.origin })
    this.context.setDefaultTimeout(WAIT_MS)
    return this
  }

  async newPage () {
    const page = await this.context.newPage()
    page.on('dialog', (dialog) => {
      this.dialogs.push(dialog.message())
      dialog.dismiss().catch(() => {})
    })
    page.on('pageerror', (error) => this.pageErrors.push(String(error && error.stack ? error.stack : error)))
    page.on('console', (msg) => {
      this.consoleLines.push(`[${msg.type()}] ${msg.text()}`)
      if (this.consoleLines.length > 200) this.consoleLines.shift()
    })
    this.pages.push(page)
    page.once('close', () => {
      this.pages = this.pages.filter((p) => p !== page)
    })
    return page
  }

  async register () {
    const page = await this.newPage()
    await page.goto('/accounts/register')
    // The form carries its hidden csrf_token input; submitting the real form sends it.
    const form = page.locator('form:has(input[name="password_confirm"])')
    if ((await form.locator('input[name="csrf_token"]').count()) !== 1) {
      throw new Error('register form has no hidden csrf_token input')
    }
    await form.locator('input[name="username"]').fill(this.name)
    await form.locator('input[name="password"]').fill(PASSWORD)
    await form.locator('input[name="password_confirm"]').fill(PASSWORD)
    await Promise.all([
      page.waitForURL((url) => url.pathname === '/'),
      form.locator('[type="submit"]').first().click()
    ])
    await page.close()
    return this
  }

  async login () {
    const page = await this.newPage()
    await page.goto('/accounts/login')
    const form = page.locator('form:has(input[name="password"]):not(:has(input[name="password_confirm"]))')
    await form.locator('input[name="username"]').fill(this.name)
    await form.locator('input[name="password"]').fill(PASSWORD)
    await Promise.all([
      page.waitForURL((url) => url.pathname === '/'),
      form.locator('[type="submit"]').first().click()
    ])
    await page.close()
    return this
  }

  /**
   * Creates `room` through the home page form (public unless `visibility` is `private`) and
   * leaves the page on the new room, live.
   */
  async createRoom (room, { visibility = 'public' } = {}) {
    const page = await this.newPage()
    await page.goto('/')
    const form = page.locator('form[action="/rooms"]')
    await form.locator('input[name="name"]').fill(room)
    await form.locator(`input[name="visibility"][value="${visibility}"]`).check()
    await Promise.all([
      page.waitForURL((url) => url.pathname === `/rooms/${room}`),
      form.locator('[type="submit"]').first().click()
    ])
    await waitLive(page)
    return page
  }

  async openRoom (room, page = null) {
    page = page ?? (await this.newPage())
    await page.goto(`/rooms/${room}`)
    await waitLive(page)
    return page
  }

  async close () {
    if (this.context) await this.context.close().catch(() => {})
  }
}

/** The room script has started (local copy loaded, editor shown). */
export const waitReady = (page) => page.waitForSelector('#room[data-ready="true"]', { state: 'attached' })

/** Ready and synced with the server. */
export const waitLive = async (page) => {
  await waitReady(page)
  await page.waitForSelector('#connection-status[data-state="connected"]', { state: 'attached' })
}

/**
 * The text of the editor's elements that `selector` matches, joined with `joiner`, without the
 * remote carets, their name labels and the placeholder.
 */
export const shownText = (page, selector, joiner = '') =>
  page.$$eval(selector, (nodes, joiner) =>
    nodes
      .map((node) => {
        const copy = node.cloneNode(true)
        copy.querySelectorAll('.cm-ySelectionCaret, .cm-widgetBuffer, .cm-placeholder').forEach((n) => n.remove())
        return copy.textContent
      })
      .join(joiner), joiner)

/** The text the editor shows. */
export const editorText = (page) => shownText(page, '#editor .cm-line', '\n')

/** The save badge of the document toolbar: `state` is idle, unsaved, saving or saved. */
export const saveStatus = (page) =>
  page.locator('#sync-status').evaluate((el) => ({ state: el.dataset.state, text: el.textContent }))

export const waitSaveState = (page, state) =>
  page.waitForSelector(`#sync-status[data-state="${state}"]`, { state: 'attached' })

/** The chat log as [{author, text, id, pending, own}], in display order. */
export const chatLog = (page) =>
  page.$$eval('#chat-log > li.chat-message', (items) =>
    items.map((li) => ({
      author: li.querySelector('.chat-author')?.textContent ?? '',
      text: li.querySelector('.chat-text')?.textContent ?? '',
      id: li.dataset.id ? Number(li.dataset.id) : null,
      pending: li.classList.contains('chat-message--pending'),
      own: li.classList.contains('chat-message--own')
    }))
  )

/** Makes the page believe its browser tab is in the background (or back in front). */
export const setTabHidden = (page, hidden) =>
  page.evaluate((hidden) => {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => (hidden ? 'hidden' : 'visible') })
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => hidden })
    document.dispatchEvent(new Event('visibilitychange'))
  }, hidden)

export const sendChat = async (page, text) => {
  await page.fill('#chat-input', text)
  await page.click('#chat-form [type="submit"]')
}

/** Puts the caret at the end of the document and types `text` key by key. */
export const typeAtEnd = async (page, text, { delay = 0 } = {}) => {
  await page.click('#editor .cm-content')
  await page.keyboard.press('Control+End')
  await page.keyboard.type(text, { delay })
}

/**
 * Leaves chat messages in `user`'s outbox for `room`, as a page closed before they were
 * acknowledged would have: the list the room page keeps in localStorage.
 */
export const seedOutbox = (page, user, room, entries) =>
  page.evaluate(({ key, entries }) => {
    const list = JSON.parse(localStorage.getItem(key) ?? '[]')
    localStorage.setItem(key, JSON.stringify([...list, ...entries]))
  }, { key: `chatspace:outbox:${user.name.toLowerCase()}:${room.toLowerCase()}`, entries })

/**
 * The chat messages a page still means to send: the ones it shows as pending after a reload
 * that cannot reach the server (so nothing is sent and acknowledged meanwhile). The server is
 * let through again and the page is live when this returns.
 */
export const unsentAfterReload = async (page, gate) => {
  gate.refuse()
  await page.reload()
  await waitReady(page)
  const unsent = (await chatLog(page)).filter((m) => m.pending).map((m) => m.text)
  gate.allow()
  await waitLive(page)
  return unsent
}

/** GET /rooms/{room}/messages with this context's session. */
export const fetchMessages = async (user, room, query = 'limit=50') => {
  const response = await user.context.request.get(`/rooms/${room}/messages?${query}`)
  if (!response.ok()) throw new Error(`GET messages: HTTP ${response.status()}`)
  return response.json()
}

const screenshotDir = () => {
  if (!screenshotDir.path) screenshotDir.path = mkdtempSync(join(tmpdir(), 'chatspace-browser-failures-'))
  return screenshotDir.path
}

/**
 * Runs a scenario; when it fails, saves a screenshot of every open page of `users` and prints
 * where they are, with the pages' console and the server log, before rethrowing.
 */
export const withDiagnostics = async (title, users, server, body) => {
  try {
    await body()
  } catch (error) {
    const dir = screenshotDir()
    const slug = title.replace(/[^a-z0-9]+/gi, '-').toLowerCase()
    for (const user of users) {
      for (const [i, page] of user.pages.entries()) {
        const file = join(dir, `${slug}-${user.name}-${i}.png`)
        await page.screenshot({ path: file, fullPage: true }).catch(() => {})
        console.error(`screenshot: ${file}`)
      }
      if (user.consoleLines.length) console.error(`console of ${user.name}:\n${user.consoleLines.slice(-40).join('\n')}`)
      if (user.pageErrors.length) console.error(`page errors of ${user.name}:\n${user.pageErrors.join('\n')}`)
    }
    if (server) console.error(`server log (tail):\n${server.logTail()}`)
    throw error
  }
}
