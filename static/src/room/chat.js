// The chat panel: history over HTTP, live messages over the room socket, and the outbox.
//
// Invariants of the log (#chat-log):
// - confirmed messages (stored by the server, `data-id`) come first, sorted by id, each once;
// - messages not yet acknowledged (`data-client-id` without `data-id`) follow, in the order
//   they were written;
// - text from the server or the user is only ever assigned with textContent;
// - a confirmed message shows the newest state the server sent of it (highest `change`): edited
//   text with an "edited" mark, or a "message deleted" placeholder.
import { MAX_TEXT, normalizeAnchor, normalizeMessage } from '../lib/chat-frames.js'
import { uuid } from '../lib/storage.js'
import { Outbox } from './outbox.js'
import { el, timeElement } from './chat-dom.js'
import { regroupAround, removeGrouped, tagForGrouping } from './chat-groups.js'
import { renderText } from './chat-text.js'
import { ChatEditing } from './chat-edit.js'

const PAGE_SIZE = 50
/** Older messages are fetched when the reader scrolls to within this many pixels of the top. */
const NEAR_TOP_PX = 80

const REJECTION_TEXT = {
  empty: 'Not sent: the message was empty.',
  too_long: `Not sent: messages can be at most ${MAX_TEXT.toLocaleString('en')} characters.`,
  invalid_text: 'Not sent: the message holds a broken character.',
  forbidden: 'Not sent: viewers cannot chat in this room.',
  invalid_anchor: 'Not sent: the commented passage was not found in the document.'
}

/** The `send` payload of an outbox entry (with the passage it comments on, if any). */
const sendPayload = ({ clientId, text, anchor }) => {
  const checked = normalizeAnchor(anchor)
  const payload = { type: 'send', client_id: clientId, text }
  return checked ? { ...payload, anchor: checked } : payload
}

export class ChatPanel {
  /**
   * @param {object} opts
   * @param {string} opts.room
   * @param {string} opts.username
   * @param {HTMLOListElement} opts.log
   * @param {HTMLFormElement} opts.form
   * @param {HTMLTextAreaElement} opts.input
   * @param {() => void} [opts.onSent] called after a message is sent (and the box emptied)
   * @param {import('./comments.js').Comments | null} [opts.comments] shows quotes, gives the anchor to send
   * @param {() => boolean} [opts.docSynced] whether the document's sync has sent up this page's edits
   */
  constructor ({ room, username, log, form, input, onSent = () => {}, comments = null, docSynced = () => true }) {
    this.comments = comments
    this.docSynced = docSynced
    /** a comment waits in the outbox for the document's sync (see `sendEntry`) */
    this.heldForSync = false
    this.room = room
    this.username = username
    this.log = log
    this.form = form
    this.input = input
    this.onSent = onSent
    /** the server has messages older than the oldest one shown */
    this.moreOlder = false
    this.loadingOlder = false
    /** set by `attach`; chat works without it (everything waits in the outbox) */
    this.channel = null
    this.outbox = new Outbox(username, room)
    /** @type {Map<number, HTMLLIElement>} confirmed messages by id */
    this.byId = new Map()
    /** @type {Map<string, HTMLLIElement>} unacknowledged (or rejected) messages by client_id */
    this.byClientId = new Map()
    this.highestId = 0
    this.lowestId = 0
    /** the highest change counter seen (docs/protocol.md: `since` with `changes_after`) */
    this.highestChange = 0
    this.editing = new ChatEditing({ channel: () => this.channel })
    this.connected = false
    /** the first page of history has been loaded, so `since` requests can start from it */
    this.historyLoaded = false
    this.historyLoading = null
    this.catchingUp = false
    /** @type {Array<() => void>} */
    this.historyWaiters = []

    for (const entry of this.outbox.all()) this.showPending(entry)
    form.addEventListener('submit', (event) => {
      event.preventDefault()
      this.submit()
    })
    input.addEventListener('keydown', (event) => {
      // Enter sends, Shift+Enter starts a new line; never while an IME is composing.
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault()
        this.submit()
      }
    })
    // Scrolling to the top loads the page before; so does a log too short to scroll, once it
    // is on screen (on a phone the chat starts hidden behind its tab).
    log.addEventListener('scroll', () => this.maybeLoadOlder(), { passive: true })
    if (typeof ResizeObserver === 'function') new ResizeObserver(() => this.onResize()).observe(log)
    this.lastHeight = 0
  }

  /** @param {import('./chat-channel.js').ChatChannel} channel */
  attach (channel) {
    this.channel = channel
  }

  // ---- history over HTTP -------------------------------------------------------------------

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
      const { messages, more } = await this.fetchPage(this.lowestId)
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

  // ---- socket events -----------------------------------------------------------------------

  /** Called when the socket is open (again): catch up on what was missed, then send the outbox. */
  onConnected () {
    this.connected = true
    this.refreshPendingLabels()
    this.flushOutbox()
    this.loadLatest()
    this.whenHistoryLoaded().then(() => {
      if (this.connected) this.catchUp(this.highestId)
    })
  }

  onDisconnected () {
    this.connected = false
    this.catchingUp = false
    this.refreshPendingLabels()
  }

  /**
   * `since` from `after` and from the highest change seen, so that edits and deletions made
   * while this page was away arrive too; repeated while the server says there is more.
   */
  catchUp (after, changes = this.highestChange) {
    if (!this.channel) return
    this.catchingUp = this.channel.since(after, changes, (messages, more) => {
      const last = messages.length > 0 ? normalizeMessage(messages[messages.length - 1]) : null
      if (more && last) {
        this.catchUp(last.id, last.change)
      } else {
        this.catchingUp = false
      }
    })
  }

  flushOutbox () {
    for (const entry of this.outbox.all()) {
      if (!this.sendEntry(entry)) return
    }
  }

  /**
   * Sends an outbox entry now, if it can go; returns whether it went. A comment waits until the
   * document's sync has sent up this page's edits (`onDocSynced`): it may be on text typed
   * offline, and the server refuses an anchor on text it does not hold yet.
   */
  sendEntry (entry) {
    if (!this.channel) return false
    if (entry.anchor && !this.docSynced()) {
      this.heldForSync = true
      return false
    }
    return this.channel.send(sendPayload(entry))
  }

  /** The document is in sync: what waited for it goes (in order, with what followed it). */
  onDocSynced () {
    if (!this.heldForSync) return
    this.heldForSync = false
    this.flushOutbox()
  }

  onAck (raw) {
    const message = normalizeMessage(raw)
    if (!message) return
    if (message.clientId) this.settle(message.clientId)
    this.insert(message, { scroll: true })
  }

  onMessage (raw) {
    const message = normalizeMessage(raw)
    if (!message) return
    // Our own message sent from another tab: that tab's resend would be acknowledged anyway, but
    // there is no need to keep showing it as pending here.
    if (message.clientId && message.author.toLowerCase() === this.username.toLowerCase()) {
      this.settle(message.clientId)
    }
    this.insert(message, { scroll: true })
  }

  onRejected (clientId, reason) {
    this.outbox.remove(clientId)
    const item = this.byClientId.get(clientId)
    if (item && !item.classList.contains('chat-message--rejected')) this.markRejected(item, clientId, reason)
  }

  /** Shows why a message was not sent; the text stays visible (and copyable) until dismissed. */
  markRejected (item, clientId, reason) {
    item.classList.remove('chat-message--pending')
    item.classList.add('chat-message--rejected')
    const state = item.querySelector('.chat-state')
    state.textContent = REJECTION_TEXT[reason] ?? `Not sent (${reason || 'refused by the server'}).`
    const dismiss = el('button', 'chat-dismiss', 'Dismiss')
    dismiss.type = 'button'
    dismiss.addEventListener('click', () => {
      removeGrouped(item)
      this.byClientId.delete(clientId)
    })
    item.querySelector('.chat-meta').append(dismiss)
  }

  /** A catch-up: new messages, and changes of those shown. */
  onHistory (messages) {
    const stick = this.nearBottom()
    for (const raw of messages) this.onUpdated(raw, { scroll: false })
    if (stick) this.scrollToEnd()
  }

  /**
   * A message as it now is (edited or deleted, from `updated`, `update_ack` or a catch-up).
   * One older than the oldest shown is left alone: scrolling up loads it as it is then.
   */
  onUpdated (raw, { scroll = true } = {}) {
    const message = normalizeMessage(raw)
    if (!message) return
    this.highestChange = Math.max(this.highestChange, message.change)
    if (this.byId.has(message.id) || message.id > this.highestId) this.insert(message, { scroll })
  }

  /** The server refused to change message `id`. */
  onChangeRejected (id, reason) {
    const item = this.byId.get(id)
    if (item) this.editing.refused(item, reason)
  }

  // ---- sending -----------------------------------------------------------------------------

  submit () {
    const text = this.input.value
    if (text.trim() === '') {
      this.input.focus()
      return
    }
    const entry = { clientId: uuid(), text, createdAt: new Date().toISOString() }
    // The server counts characters (code points), as does this check. The textarea's maxlength
    // normally stops long input before; if it did not, say so now rather than after a round
    // trip, and leave the text in the input to be shortened.
    if ([...text].length > MAX_TEXT) {
      this.showPending(entry)
      this.markRejected(this.byClientId.get(entry.clientId), entry.clientId, 'too_long')
      this.scrollToEnd()
      return
    }
    const anchor = this.comments ? this.comments.takeAnchor() : null
    if (anchor) entry.anchor = anchor
    // Into the outbox first: if the tab dies before the ack, the next load sends it again.
    this.outbox.add(entry)
    this.showPending(entry)
    this.input.value = ''
    this.onSent()
    // Behind a comment that waits for the document's sync, it waits too (order is kept).
    if (!this.heldForSync) this.sendEntry(entry)
    this.scrollToEnd()
  }

  /** The outbox entry `clientId` is delivered: forget it and drop its pending line. */
  settle (clientId) {
    this.outbox.remove(clientId)
    const item = this.byClientId.get(clientId)
    if (item && item.classList.contains('chat-message--pending')) {
      removeGrouped(item)
      this.byClientId.delete(clientId)
    }
  }

  // ---- rendering ---------------------------------------------------------------------------

  buildItem (message, own) {
    const { author, sentAt, anchor } = message
    const item = el('li', own ? 'chat-message chat-message--own' : 'chat-message')
    tagForGrouping(item, author, sentAt)
    const meta = el('div', 'chat-meta')
    meta.append(el('span', 'chat-author', author))
    if (own) meta.append(el('span', 'chat-you', '(you)'))
    meta.append(timeElement(sentAt))
    const text = el('p', 'chat-text')
    renderText(text, { mentions: [], deleted: false, ...message }, this.username)
    item.append(meta, text)
    if (anchor && this.comments) this.comments.decorate(item, anchor)
    return item
  }

  /** Shows the state `message` of a confirmed message: its text, "edited", its actions. */
  showState (item, message, own) {
    item.dataset.change = String(message.change)
    item.dataset.text = message.text
    item.classList.toggle('chat-message--deleted', message.deleted)
    if (message.deleted && this.comments) this.comments.undecorate(item)
    renderText(item.querySelector('.chat-text'), message, this.username)
    const meta = item.querySelector('.chat-meta')
    meta.querySelector('.chat-edited')?.remove()
    if (message.editedAt && !message.deleted) {
      const mark = el('span', 'chat-edited', '(edited)')
      const when = new Date(message.editedAt)
      if (!Number.isNaN(when.getTime())) mark.title = `Edited ${when.toLocaleString()}`
      meta.append(mark)
    }
    if (own) this.editing.decorate(item, message)
    this.highestChange = Math.max(this.highestChange, message.change)
  }

  pendingLabel () {
    return this.connected ? 'Sending…' : 'Waiting for connection'
  }

  showPending (entry) {
    if (this.byClientId.has(entry.clientId)) return
    const item = this.buildItem({ author: this.username, text: entry.text, sentAt: entry.createdAt, anchor: normalizeAnchor(entry.anchor) }, true)
    item.classList.add('chat-message--pending')
    item.dataset.clientId = entry.clientId
    item.querySelector('.chat-meta').append(el('span', 'chat-state', this.pendingLabel()))
    this.byClientId.set(entry.clientId, item)
    this.log.append(item)
    regroupAround(item)
  }

  refreshPendingLabels () {
    for (const item of this.byClientId.values()) {
      if (item.classList.contains('chat-message--pending')) {
        item.querySelector('.chat-state').textContent = this.pendingLabel()
      }
    }
  }

  insertMany (rawMessages, { scroll = true } = {}) {
    const stick = scroll && this.nearBottom()
    for (const raw of rawMessages) {
      const message = normalizeMessage(raw)
      if (message) this.insert(message, { scroll: false })
    }
    if (stick) this.scrollToEnd()
  }

  insert (message, { scroll }) {
    const own = message.author.toLowerCase() === this.username.toLowerCase()
    const shown = this.byId.get(message.id)
    if (shown) {
      // A newer state of a message already shown (an older copy changes nothing).
      if (message.change > Number(shown.dataset.change)) this.showState(shown, message, own)
      return
    }
    const stick = scroll && this.nearBottom()
    const item = this.buildItem(message, own)
    this.showState(item, message, own)
    item.dataset.id = String(message.id)
    if (message.clientId) item.dataset.clientId = message.clientId
    this.byId.set(message.id, item)

    // Walk back from the last confirmed message: new messages almost always go at the end.
    let before = this.log.querySelector(':scope > li[data-client-id]:not([data-id])')
    let node = before ? before.previousElementSibling : this.log.lastElementChild
    while (node && node.dataset.id && Number(node.dataset.id) > message.id) {
      before = node
      node = node.previousElementSibling
    }
    this.log.insertBefore(item, before)
    regroupAround(item)

    this.highestId = Math.max(this.highestId, message.id)
    this.lowestId = this.lowestId === 0 ? message.id : Math.min(this.lowestId, message.id)
    if (stick) this.scrollToEnd()
  }

  nearBottom () {
    const log = this.log
    return log.scrollHeight - log.scrollTop - log.clientHeight < 48
  }

  scrollToEnd () {
    this.log.scrollTop = this.log.scrollHeight
  }
}
