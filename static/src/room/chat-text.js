// The text of a chat message as shown: `@username` mentions of room members (the server lists
// them in the message's `mentions`) highlighted, the reader's own name more strongly; a deleted
// message as a placeholder. Text is only ever assigned with textContent.
import { el } from './chat-dom.js'

const NAME_CHAR = /[A-Za-z0-9_.-]/
const MENTION = /@([A-Za-z0-9_.-]+)/g

/**
 * Splits `text` into strings and mentions of the names in `mentions`, the way the server finds
 * them: `@` not preceded by a username character or another `@`; a trailing `.` or `-` is tried
 * with and without.
 * @returns {Array<string | {name: string, text: string}>}
 */
export const splitMentions = (text, mentions) => {
  const known = new Set(mentions.map((name) => name.toLowerCase()))
  const parts = []
  let last = 0
  if (known.size === 0) return [text]
  for (const match of text.matchAll(MENTION)) {
    const before = match.index > 0 ? text[match.index - 1] : ''
    if (before === '@' || NAME_CHAR.test(before)) continue
    let name = match[1]
    if (!known.has(name.toLowerCase())) name = name.replace(/[.-]+$/, '')
    if (!known.has(name.toLowerCase())) continue
    if (match.index > last) parts.push(text.slice(last, match.index))
    parts.push({ name, text: `@${name}` })
    last = match.index + 1 + name.length
  }
  if (last < text.length) parts.push(text.slice(last))
  return parts
}

/** Whether `message` mentions `username`. */
export const mentionsUser = (message, username) => {
  const me = username.toLowerCase()
  return message.mentions.some((name) => name.toLowerCase() === me)
}

/** Fills the `.chat-text` paragraph `node` for `message`, as read by `username`. */
export const renderText = (node, message, username) => {
  node.classList.toggle('chat-text--deleted', message.deleted)
  if (message.deleted) {
    node.textContent = 'message deleted'
    return
  }
  const me = username.toLowerCase()
  node.replaceChildren(
    ...splitMentions(message.text, message.mentions).map((part) => {
      if (typeof part === 'string') return document.createTextNode(part)
      const own = part.name.toLowerCase() === me
      return el('span', own ? 'chat-mention chat-mention--me' : 'chat-mention', part.text)
    })
  )
}
