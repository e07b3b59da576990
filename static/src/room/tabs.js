// The narrow layout (below 720 px): one column with the tabs Document / Chat / People. The
// chosen tab is `data-tab` on #room, which room.css reads. Messages from others that arrive
// while the chat is not shown are counted on the Chat tab until it is opened.
const NARROW = '(max-width: 719.98px)'

export class RoomTabs {
  /**
   * @param {object} opts
   * @param {HTMLElement} opts.root #room
   * @param {HTMLElement} opts.tablist the tab bar (buttons with data-tab and aria-controls)
   * @param {HTMLElement} opts.unread the count on the Chat tab
   * @param {string} opts.username
   */
  constructor ({ root, tablist, unread, username }) {
    this.root = root
    this.unread = unread
    this.username = username.toLowerCase()
    this.tabs = [...tablist.querySelectorAll('[role="tab"]')]
    this.narrow = window.matchMedia(NARROW)
    /** ids already counted or seen, so a message delivered twice counts once */
    this.seen = new Set()
    this.count = 0
    this.tabs.forEach((tab) => {
      tab.addEventListener('click', () => this.select(tab.dataset.tab))
      tab.addEventListener('keydown', (event) => this.onKey(event, tab))
    })
    this.select('document')
  }

  select (name) {
    this.current = name
    this.root.dataset.tab = name
    for (const tab of this.tabs) {
      const selected = tab.dataset.tab === name
      tab.setAttribute('aria-selected', String(selected))
      tab.tabIndex = selected ? 0 : -1
    }
    if (name === 'chat') this.setCount(0)
  }

  /** Arrow keys move between tabs, as a tab list should. */
  onKey (event, tab) {
    const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key]
    if (step === undefined) return
    const next = this.tabs[(this.tabs.indexOf(tab) + step + this.tabs.length) % this.tabs.length]
    this.select(next.dataset.tab)
    next.focus()
    event.preventDefault()
  }

  /** A live chat message from the room socket. */
  onChatMessage (message) {
    const id = message && message.id
    if (id === undefined || this.seen.has(id)) return
    this.seen.add(id)
    const author = String(message.author ?? '').toLowerCase()
    if (author === this.username) return
    if (this.narrow.matches && this.current !== 'chat') this.setCount(this.count + 1)
  }

  setCount (count) {
    this.count = count
    this.unread.textContent = count > 0 ? String(count) : ''
    this.unread.hidden = count === 0
    const label = count > 0 ? `Chat, ${count} unread` : 'Chat'
    this.tabs.find((tab) => tab.dataset.tab === 'chat')?.setAttribute('aria-label', label)
  }
}
