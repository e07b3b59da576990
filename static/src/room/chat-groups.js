// Grouping of the chat log, and its unread line. A message that follows one by the same author
// within five minutes is a continuation (`chat-message--cont`), shown without its name and
// time, so a run of short messages reads as one block, as in Slack or Matrix clients. The first
// unread message always starts a group of its own, so that the unread line is followed by a name.
export const GROUP_GAP_MS = 5 * 60 * 1000
const FIRST_UNREAD = 'chat-message--first-unread'

const isMessage = (node) => node !== null && node.classList.contains('chat-message')

const continues = (item, previous) => {
  if (!isMessage(previous) || item.classList.contains(FIRST_UNREAD)) return false
  if (item.dataset.author !== previous.dataset.author) return false
  const gap = Date.parse(item.dataset.sentAt) - Date.parse(previous.dataset.sentAt)
  // A time that cannot be read, or a message older than the one before it, starts a group.
  return Number.isFinite(gap) && gap >= 0 && gap <= GROUP_GAP_MS
}

/** Sets `item`'s continuation class from the message shown before it. */
const regroupOne = (item) => {
  if (!isMessage(item)) return
  item.classList.toggle('chat-message--cont', continues(item, item.previousElementSibling))
}

/**
 * Regroups `item` and the message after it, the only two whose grouping changes when `item`
 * is inserted, marked or about to be removed (pass the node after a removed one).
 */
export const regroupAround = (item) => {
  if (!item) return
  regroupOne(item)
  regroupOne(item.nextElementSibling)
}

/** Removes `item` from the log and regroups the message that followed it. */
export const removeGrouped = (item) => {
  const next = item.nextElementSibling
  item.remove()
  regroupAround(next)
}

/** Tags `item` with what grouping compares: the author (case-insensitively) and the time. */
export const tagForGrouping = (item, author, sentAt) => {
  item.dataset.author = author.toLowerCase()
  item.dataset.sentAt = sentAt
}

/** Draws the unread line above `item` (and nowhere else in `log`). */
export const markFirstUnread = (log, item) => {
  clearUnreadLine(log)
  item.classList.add(FIRST_UNREAD)
  regroupAround(item)
}

/** Removes the unread line from `log`. */
export const clearUnreadLine = (log) => {
  for (const item of log.querySelectorAll(`:scope > .${FIRST_UNREAD}`)) {
    item.classList.remove(FIRST_UNREAD)
    regroupAround(item)
  }
}
