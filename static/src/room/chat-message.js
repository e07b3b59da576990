// One message of the chat log as shown: its item (author, "(you)", time, text, the passage it
// comments on), the state of a confirmed message (edited or deleted text, the "edited" mark,
// the author's actions) and why a message was not sent.
import { MAX_TEXT } from '../lib/chat-frames.js'
import { el, timeElement } from './chat-dom.js'
import { removeGrouped, tagForGrouping } from './chat-groups.js'
import { renderText } from './chat-text.js'

const REJECTION_TEXT = {
  empty: 'Not sent: the message was empty.',
  too_long: `Not sent: messages can be at most ${MAX_TEXT.toLocaleString('en')} characters.`,
  invalid_text: 'Not sent: the message holds a broken character.',
  forbidden: 'Not sent: viewers cannot chat in this room.',
  invalid_anchor: 'Not sent: the commented passage was not found in the document.'
}

/**
 * The log item of `message`, written by the reader if `own`.
 * @param {object} panel
 * @param {string} panel.username the reader
 * @param {import('./comments.js').Comments | null} panel.comments shows the passage a message comments on
 */
export const buildItem = (message, own, { username, comments }) => {
  const { author, sentAt, anchor } = message
  const item = el('li', own ? 'chat-message chat-message--own' : 'chat-message')
  tagForGrouping(item, author, sentAt)
  const meta = el('div', 'chat-meta')
  meta.append(el('span', 'chat-author', author))
  if (own) meta.append(el('span', 'chat-you', '(you)'))
  meta.append(timeElement(sentAt))
  const text = el('p', 'chat-text')
  renderText(text, { mentions: [], deleted: false, ...message }, username)
  item.append(meta, text)
  if (anchor && comments) comments.decorate(item, anchor)
  return item
}

/**
 * Shows the state `message` of a confirmed message: its text, "edited", its actions.
 * @param {object} panel
 * @param {string} panel.username the reader
 * @param {import('./comments.js').Comments | null} panel.comments
 * @param {import('./chat-edit.js').ChatEditing} panel.editing the actions on the reader's own messages
 */
export const showState = (item, message, own, { username, comments, editing }) => {
  item.dataset.change = String(message.change)
  item.dataset.text = message.text
  item.classList.toggle('chat-message--deleted', message.deleted)
  if (message.deleted && comments) comments.undecorate(item)
  renderText(item.querySelector('.chat-text'), message, username)
  const meta = item.querySelector('.chat-meta')
  meta.querySelector('.chat-edited')?.remove()
  if (message.editedAt && !message.deleted) {
    const mark = el('span', 'chat-edited', '(edited)')
    const when = new Date(message.editedAt)
    if (!Number.isNaN(when.getTime())) mark.title = `Edited ${when.toLocaleString()}`
    meta.append(mark)
  }
  if (own) editing.decorate(item, message)
}

/**
 * Shows why a message was not sent; the text stays visible (and copyable) until dismissed,
 * which removes the item and then calls `onDismiss`.
 */
export const markRejected = (item, reason, onDismiss) => {
  item.classList.remove('chat-message--pending')
  item.classList.add('chat-message--rejected')
  const state = item.querySelector('.chat-state')
  state.textContent = REJECTION_TEXT[reason] ?? `Not sent (${reason || 'refused by the server'}).`
  const dismiss = el('button', 'chat-dismiss', 'Dismiss')
  dismiss.type = 'button'
  dismiss.addEventListener('click', () => {
    removeGrouped(item)
    onDismiss()
  })
  item.querySelector('.chat-meta').append(dismiss)
}
