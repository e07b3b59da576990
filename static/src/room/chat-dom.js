// Small DOM helpers of the chat log: elements with text (always textContent, never HTML) and
// message times in the reader's zone and locale.

export const el = (tag, className, text) => {
  const node = document.createElement(tag)
  if (className) node.className = className
  if (text !== undefined) node.textContent = text
  return node
}

const sameDay = (a, b) =>
  a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate()

/** A `<time>` showing `iso` in the reader's time zone and locale. */
export const timeElement = (iso) => {
  const node = el('time', 'chat-time')
  const date = new Date(iso)
  if (Number.isNaN(date.getTime())) {
    node.textContent = iso
    return node
  }
  node.dateTime = date.toISOString()
  node.title = date.toLocaleString()
  const clock = date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
  node.textContent = sameDay(date, new Date())
    ? clock
    : `${date.toLocaleDateString([], { month: 'short', day: 'numeric' })} ${clock}`
  return node
}
