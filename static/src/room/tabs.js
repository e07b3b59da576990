// The narrow layout (below 720 px): one column with the tabs Document / Chat / People. The
// chosen tab is `data-tab` on #room, which room.css reads. The Chat tab shows the unread
// count that chat-unread.js keeps (messages from others that arrived while the chat was not
// seen), which it clears once the chat is opened.

export class RoomTabs {
  /**
   * @param {object} opts
   * @param {HTMLElement} opts.root #room
   * @param {HTMLElement} opts.tablist the tab bar (buttons with data-tab and aria-controls)
   * @param {HTMLElement} opts.unread the count on the Chat tab
   */
  constructor ({ root, tablist, unread }) {
    this.root = root
    this.unread = unread
    this.tabs = [...tablist.querySelectorAll('[role="tab"]')]
    /** called after a tab is chosen (the unread count checks whether the chat is now seen) */
    this.onSelect = () => {}
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
    this.onSelect(name)
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

  /**
   * Shows `count` unread messages on the Chat tab (none: no badge); `mentioned`: one of them
   * mentions the reader, and the badge says so.
   */
  setCount (count, mentioned = false) {
    this.unread.textContent = count > 0 ? `${mentioned ? '@' : ''}${count}` : ''
    this.unread.hidden = count === 0
    this.unread.classList.toggle('unread-count--mention', mentioned)
    const label = count > 0 ? `Chat, ${count} unread${mentioned ? ', you were mentioned' : ''}` : 'Chat'
    this.tabs.find((tab) => tab.dataset.tab === 'chat')?.setAttribute('aria-label', label)
  }
}
