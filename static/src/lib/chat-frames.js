// Encoding of chat frames on the room socket (docs/protocol.md, "Chat (type 100)"):
// a lib0 varUint message type 100 followed by a lib0 string holding one JSON object.
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'

export const messageChat = 100

/** @param {object} payload @returns {Uint8Array} */
export const encodeChatFrame = (payload) => {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, messageChat)
  encoding.writeVarString(encoder, JSON.stringify(payload))
  return encoding.toUint8Array(encoder)
}

/**
 * Reads the JSON payload of a chat frame whose type varUint has already been consumed (this is
 * how y-websocket hands a decoder to `provider.messageHandlers[type]`). Returns null for a
 * payload that is not a JSON object rather than throwing inside the provider's socket handler.
 * @param {decoding.Decoder} decoder
 */
export const readChatPayload = (decoder) => {
  try {
    const value = JSON.parse(decoding.readVarString(decoder))
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? value : null
  } catch {
    return null
  }
}

/**
 * A chat message object as the server sends it, or null when a field is missing or of the wrong
 * type. Only checked fields are copied, so nothing else from the wire reaches the page. The
 * fields of edits (`edited_at`, `deleted`, `change`, `mentions`) default to "never changed",
 * as an older server sends no such fields.
 */
/** The longest chat text the server takes, in characters (Unicode code points). */
export const MAX_TEXT = 4000

export const normalizeMessage = (m) => {
  if (m === null || typeof m !== 'object') return null
  const { id, client_id: clientId, author, text, sent_at: sentAt } = m
  if (!Number.isSafeInteger(id) || id <= 0) return null
  if (typeof author !== 'string' || typeof text !== 'string' || typeof sentAt !== 'string') return null
  return {
    id,
    clientId: typeof clientId === 'string' ? clientId : null,
    author,
    text,
    sentAt,
    anchor: normalizeAnchor(m.anchor),
    editedAt: typeof m.edited_at === 'string' ? m.edited_at : null,
    deleted: m.deleted === true,
    change: Number.isSafeInteger(m.change) && m.change > 0 ? m.change : 0,
    mentions: Array.isArray(m.mentions) ? m.mentions.filter((name) => typeof name === 'string') : []
  }
}

/** A message's anchor (the passage it comments on) with its three strings, or null. */
export const normalizeAnchor = (a) => {
  if (a === null || typeof a !== 'object') return null
  const { start, end, quote } = a
  if (typeof start !== 'string' || typeof end !== 'string' || typeof quote !== 'string') return null
  return { start, end, quote }
}
