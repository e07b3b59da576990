// The chat log's history over HTTP: the latest page once, and the page before the oldest
// message shown whenever the reader is at (or near) the top of the log.
import { el } from './chat-dom.js'

const PAGE_SIZE = 50
/** Older messages are fetched when the reader scrolls to within this many pixels of the top. */
const NEAR_TOP_PX = 80

export class ChatHistory {
  /**
   * @param {object} opts
   * @param {string} opts.room
   * @param {HTMLOListElement} opts.log
   * @param {(messages: object[], opts?: { scroll?: boolean }) => void} opts.insertMany shows fetched messages
   * @param {() => number} opts.lowestId the id of the oldest message shown (0: none yet)
   * @param {() => void} opts.scrollToEnd
   */
  constructor ({ room, log, insertMany, lowestId, scrollToEnd }) {
    this.room = room
    this.log = log
    this.insertMany = insertMany
    this.lowestId = lowestId
    this.scrollToEnd = scrollToEnd
    /** the server has messages older than the oldest one shown */
    this.moreOlder = false
    this.loadingOlder = false
    /** the first page of history has been loaded, so `since` requests can start from it */
    this.historyLoaded = false
    this.historyLoading = null
    /** @type {Array<() => void>} */
    this.historyWaiters = []

    // Scrolling to the top loads the page before; so does a log too short to scroll, once it
    // is on screen (on a phone the chat starts hidden behind its tab).
    log.addEventListener('scroll', () => this.maybeLoadOlder(), { passive: true })
    if (typeof ResizeObserver === 'function') new ResizeObserver(() => this.onResize()).observe(log)
    this.lastHeight = 0
  }

  async fetchPage (before) {
    const params = new URLSearchParams({ limit: String(PAGE_SIZE) })
    if (before) params.set('before', String(before))
    const response = await fetch(`/rooms/${encodeURIComponent(this.room)}/messages?${params}`, {
      credentials: 'same-origin',
      headers: { Accept: 'application/json' }
    })
    if (!response.ok) throw new Error(`GET messages: HTTP ${response.status}`)
    const body = await response.json()
    const messages = Array.isArray(body.messages) ? body.messages : []
    return { messages, more: body.more === true }
  }

  /** Loads the latest page once; a failed load is retried by the next call. */
  loadLatest () {
    if (this.historyLoaded) return Promise.resolve()
    if (this.historyLoading) return this.historyLoading
    this.historyLoading = this.fetchPage(0).then(
      ({ messages, more }) => {
        this.setNotice(null)
        this.insertMany(messages)
        this.moreOlder = more
        this.historyLoaded = true
        this.historyLoading = null
        const waiters = this.historyWaiters
        this.historyWaiters = []
        waiters.forEach((resolve) => resolve())
        this.maybeLoadOlder()
      },
      (error) => {
        this.historyLoading = null
        this.setNotice('Earlier messages could not be loaded. They will appear once the connection is back.')
        console.warn('chatspace: loading chat history failed', error)
      }
    )
    return this.historyLoading
  }

  /** Resolves once the first page of history is in (which may need a later `loadLatest`). */
  whenHistoryLoaded () {
    if (this.historyLoaded) return Promise.resolve()
    return new Promise((resolve) => this.historyWaiters.push(resolve))
  }

  /**
   * A hidden log loses its scroll position: when it is shown again (the Chat tab, the history
   * panel closed) it starts from the latest messages, rather than at the top, where it would
   * load all of the history.
   */
  onResize () {
    const height = this.log.clientHeight
    if (this.lastHeight === 0 && height > 0) this.scrollToEnd()
    this.lastHeight = height
    this.maybeLoadOlder()
  }

  /** Loads the page before the oldest message shown when the reader is at (or near) the top. */
  maybeLoadOlder () {
    const log = this.log
    if (!this.moreOlder || this.loadingOlder || log.clientHeight === 0) return
    if (log.scrollTop > NEAR_TOP_PX) return
    this.loadOlder()
  }

  async loadOlder () {
    this.loadingOlder = true
    this.log.setAttribute('aria-busy', 'true')
    let loaded = false
    try {
      const { messages, more } = await this.fetchPage(this.lowestId())
      // Keep the message that was at the top where it was (it may also lose its name line
      // now that the one before it is of the same author).
      const anchor = this.log.querySelector(':scope > li.chat-message')
      const topBefore = anchor ? anchor.getBoundingClientRect().top : 0
      this.setNotice(null)
      this.insertMany(messages, { scroll: false })
      if (anchor) this.log.scrollTop += anchor.getBoundingClientRect().top - topBefore
      this.moreOlder = more
      loaded = true
    } catch (error) {
      console.warn('chatspace: loading older messages failed', error)
      this.setNotice('Older messages could not be loaded. Scroll up again to retry.')
    } finally {
      this.loadingOlder = false
      this.log.removeAttribute('aria-busy')
    }
    // Still at the top (a short page, or a tall window): keep going. After a failure the
    // next scroll retries, so a dead server is not asked in a loop.
    if (loaded) this.maybeLoadOlder()
  }

  setNotice (text) {
    let notice = this.log.querySelector(':scope > li.chat-notice')
    if (text === null) {
      if (notice) notice.remove()
      return
    }
    if (!notice) {
      notice = el('li', 'chat-notice')
      this.log.prepend(notice)
    }
    notice.textContent = text
  }
}
