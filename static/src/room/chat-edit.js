// Editing and deleting one's own chat messages. Each own, stored, not deleted message gets Edit
// and Delete buttons (plain buttons in the message, reached with Tab). Edit turns the text into
// a box: Enter or Save sends the new text, Shift+Enter starts a new line, Escape or Cancel
// leaves it as it was. Delete asks first, in place. The server checks everything again (only
// the author, not a viewer, text rules) and tells every tab of the room; its answer, not this
// page, changes what is shown.
import { MAX_TEXT } from '../lib/chat-frames.js'
import { el } from './chat-dom.js'

const REFUSED_TEXT = {
  empty: 'Not saved: the message was empty.',
  too_long: `Not saved: messages can be at most ${MAX_TEXT.toLocaleString('en')} characters.`,
  invalid_text: 'Not saved: the message holds a broken character.',
  forbidden: 'Not saved: viewers cannot change messages.',
  not_found: 'Not saved: the message no longer exists.',
  not_yours: 'Not saved: only its author can change a message.',
  deleted: 'Not saved: the message was deleted.'
}
const OFFLINE = 'Not saved: no connection. Try again once it is back.'

export class ChatEditing {
  /**
   * @param {object} opts
   * @param {() => (import('./chat-channel.js').ChatChannel | null)} opts.channel
   */
  constructor ({ channel }) {
    this.channel = channel
  }

  /** Adds (or, for a deleted message, removes) the Edit and Delete buttons of an own message. */
  decorate (item, message) {
    item.querySelectorAll(':scope > .chat-actions').forEach((node) => node.remove())
    if (message.deleted) {
      this.stopEditing(item)
      return
    }
    const actions = el('div', 'chat-actions')
    const edit = el('button', 'chat-action', 'Edit')
    edit.type = 'button'
    edit.setAttribute('aria-label', 'Edit message')
    edit.addEventListener('click', () => this.startEditing(item, message.id))
    const remove = el('button', 'chat-action', 'Delete')
    remove.type = 'button'
    remove.setAttribute('aria-label', 'Delete message')
    remove.addEventListener('click', () => this.confirmDelete(item, message.id, actions))
    actions.append(edit, remove)
    actions.hidden = item.querySelector('.chat-edit') !== null
    item.append(actions)
  }

  /** Sends `payload`; shows why not when the socket is closed. */
  request (item, payload) {
    const channel = this.channel()
    if (channel && channel.send(payload)) {
      this.say(item, null)
      return true
    }
    this.say(item, OFFLINE)
    return false
  }

  /** A line under the message saying why a change was not saved (`null` removes it). */
  say (item, text) {
    let line = item.querySelector(':scope > .chat-change-state')
    if (text === null) {
      line?.remove()
      return
    }
    if (!line) {
      line = el('p', 'chat-change-state')
      line.setAttribute('role', 'status')
      item.append(line)
    }
    line.textContent = text
  }

  /** The server refused a change of message `item`. */
  refused (item, reason) {
    this.say(item, REFUSED_TEXT[reason] ?? `Not saved (${reason || 'refused by the server'}).`)
  }

  startEditing (item, id) {
    if (item.querySelector('.chat-edit')) return
    const text = item.querySelector('.chat-text')
    const form = el('form', 'chat-edit')
    const box = el('textarea', 'chat-edit-input')
    box.value = item.dataset.text ?? ''
    box.maxLength = MAX_TEXT * 2
    box.rows = Math.min(6, box.value.split('\n').length + 1)
    box.setAttribute('aria-label', 'Edit message')
    const save = el('button', 'chat-action', 'Save')
    save.type = 'submit'
    const cancel = el('button', 'chat-action', 'Cancel')
    cancel.type = 'button'
    form.append(box, save, cancel)
    text.hidden = true
    text.after(form)
    item.querySelector(':scope > .chat-actions')?.setAttribute('hidden', '')
    const submit = () => {
      const value = box.value
      if (value.trim() === '') return this.refused(item, 'empty')
      if ([...value].length > MAX_TEXT) return this.refused(item, 'too_long')
      if (value === item.dataset.text) return this.stopEditing(item)
      if (this.request(item, { type: 'edit', id, text: value })) this.stopEditing(item)
    }
    form.addEventListener('submit', (event) => {
      event.preventDefault()
      submit()
    })
    box.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault()
        submit()
      } else if (event.key === 'Escape') {
        event.preventDefault()
        this.stopEditing(item)
      }
    })
    cancel.addEventListener('click', () => this.stopEditing(item))
    box.focus()
  }

  /** Closes the edit box, if open, and puts the focus back on the Edit button. */
  stopEditing (item) {
    const form = item.querySelector('.chat-edit')
    if (!form) return
    const hadFocus = form.contains(document.activeElement)
    form.remove()
    item.querySelector('.chat-text').hidden = false
    const actions = item.querySelector(':scope > .chat-actions')
    actions?.removeAttribute('hidden')
    if (hadFocus) actions?.querySelector('button')?.focus()
  }

  confirmDelete (item, id, actions) {
    const question = el('div', 'chat-actions chat-confirm')
    question.append(el('span', 'chat-confirm-text', 'Delete this message?'))
    const yes = el('button', 'chat-action chat-action--danger', 'Delete')
    yes.type = 'button'
    const no = el('button', 'chat-action', 'Keep')
    no.type = 'button'
    question.append(yes, no)
    actions.hidden = true
    actions.after(question)
    const close = () => {
      question.remove()
      actions.hidden = false
    }
    yes.addEventListener('click', () => {
      close()
      this.request(item, { type: 'delete', id })
    })
    no.addEventListener('click', () => {
      close()
      actions.querySelector('button')?.focus()
    })
    question.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') no.click()
    })
    no.focus()
  }
}
