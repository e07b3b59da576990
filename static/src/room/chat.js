// The chat panel: history over HTTP (chat-history.js), live messages over the room socket, and
// the outbox. How one message is shown is in chat-message.js.
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
import { el } from './chat-dom.js'
import { regroupAround, removeGrouped } from './chat-groups.js'
import { ChatEditing } from './chat-edit.js'
import { ChatHistory } from './chat-history.js'
import { buildItem, markRejected, showState } from './chat-message.js'

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
    this.username = username
    this.log = log
    this.form = form
    this.input = input
    this.onSent = onSent
    this.history = new ChatHistory({
      room,
      log,
      insertMany: (messages, opts) => this.insertMany(messages, opts),
      lowestId: () => this.lowestId,
      scrollToEnd: () => this.scrollToEnd()
    })
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
    this.catchingUp = false

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
  }

  /** @param {import('./chat-channel.js').ChatChannel} channel */
  attach (channel) {
    this.channel = channel
  }

  // ---- history over HTTP (see chat-history.js) ----------------------------------------------

  /** Loads the latest page once; a failed load is retried by the next call. */
  loadLatest () {
    return this.history.loadLatest()
  }

  /** Resolves once the first page of history is in (which may need a later `loadLatest`). */
  whenHistoryLoaded () {
    return this.history.whenHistoryLoaded()
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

  /** Shows why a message was not sent (see chat-message.js); dismissing it forgets it. */
  markRejected (item, clientId, reason) {
    markRejected(item, reason, () => this.byClientId.delete(clientId))
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

  /** Shows the state `message` of a confirmed message: its text, "edited", its actions. */
  showState (item, message, own) {
    showState(item, message, own, this)
    this.highestChange = Math.max(this.highestChange, message.change)
  }

  pendingLabel () {
    return this.connected ? 'Sending…' : 'Waiting for connection'
  }

  showPending (entry) {
    if (this.byClientId.has(entry.clientId)) return
    const item = buildItem({ author: this.username, text: entry.text, sentAt: entry.createdAt, anchor: normalizeAnchor(entry.anchor) }, true, this)
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
    const item = buildItem(message, own, this)
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
