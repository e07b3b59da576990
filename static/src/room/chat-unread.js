// Unread chat: messages from others that arrive while the reader cannot see the chat (the
// browser tab is in the background, the phone layout shows another tab, or the history panel
// covers the chat) are counted. The count is the one on the Chat tab of the phone layout
// (RoomTabs shows it) and is also put in the page title, "(3) room - ChatSpace", where it can
// be seen from other tabs. A line marks the first unread message in the log. The count clears
// as soon as the chat is seen again; the line stays, so the reader finds where to start, until
// they send a message or a later absence moves it. When one of the unread messages mentions
// the reader (`@username`), the title says so, "(3) @ room - ChatSpace", and the Chat tab's
// count is drawn as a mention.
import { clearUnreadLine, markFirstUnread } from './chat-groups.js'
import { normalizeMessage } from '../lib/chat-frames.js'
import { mentionsUser } from './chat-text.js'

export class ChatUnread {
  /**
   * @param {object} opts
   * @param {HTMLElement} opts.pane the chat panel (hidden, it has no box)
   * @param {import('./chat.js').ChatPanel} opts.chat
   * @param {import('./tabs.js').RoomTabs} opts.tabs
   * @param {string} opts.username
   */
  constructor ({ pane, chat, tabs, username }) {
    this.pane = pane
    this.chat = chat
    this.tabs = tabs
    this.username = username.toLowerCase()
    this.baseTitle = document.title
    /** ids already counted or seen, so a message delivered twice counts once */
    this.seen = new Set()
    this.count = 0
    /** whether an unread message mentions the reader */
    this.mentioned = false
    document.addEventListener('visibilitychange', () => this.check())
    // The pane appears without any event of ours when the history panel closes or the layout
    // changes with the window size.
    if (typeof IntersectionObserver === 'function') {
      new IntersectionObserver(() => this.check()).observe(pane)
    }
  }

  /** Whether the reader can see the chat now. */
  chatShown () {
    if (document.visibilityState !== 'visible') return false
    const pane = this.pane
    return typeof pane.checkVisibility === 'function'
      ? pane.checkVisibility()
      : pane.getClientRects().length > 0
  }

  /** A live chat message from the room socket (after the chat panel has shown it). */
  onChatMessage (message) {
    const id = message && message.id
    if (id === undefined || this.seen.has(id)) return
    this.seen.add(id)
    if (String(message.author ?? '').toLowerCase() === this.username) return
    if (this.chatShown()) return
    const item = this.chat.byId.get(id)
    if (this.count === 0 && item) markFirstUnread(this.chat.log, item)
    const normal = normalizeMessage(message)
    this.setCount(this.count + 1, this.mentioned || (normal !== null && mentionsUser(normal, this.username)))
  }

  /** The reader answered, so they have read what was above: the line goes. */
  onSent () {
    clearUnreadLine(this.chat.log)
  }

  /** Clears the count when the chat has come into view. */
  check () {
    if (this.count > 0 && this.chatShown()) this.setCount(0, false)
  }

  setCount (count, mentioned) {
    this.count = count
    this.mentioned = count > 0 && mentioned
    this.tabs.setCount(count, this.mentioned)
    const mark = this.mentioned ? ' @' : ''
    document.title = count > 0 ? `(${count})${mark} ${this.baseTitle}` : this.baseTitle
  }
}
