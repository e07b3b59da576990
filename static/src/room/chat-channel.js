// The chat side of the room socket: a handler for message type 100 installed on the stock
// y-websocket provider, sending through the provider's current socket, and the bookkeeping that
// pairs each `since` request with its `history` reply.
import { messageChat, encodeChatFrame, readChatPayload } from '../lib/chat-frames.js'

export class ChatChannel {
  /**
   * @param {import('y-websocket').WebsocketProvider} provider
   * @param {object} handlers
   * @param {(message: object) => void} handlers.onAck
   * @param {(message: object) => void} handlers.onMessage
   * @param {(clientId: string, reason: string) => void} handlers.onRejected
   * @param {(message: object) => void} handlers.onUpdated a message edited or deleted
   * @param {(id: number, reason: string) => void} handlers.onChangeRejected an edit or deletion
   *   of message `id` was refused
   * @param {(messages: object[], more: boolean) => void} handlers.onHistory
   * @param {(role: string) => void} handlers.onRole the socket's role, on connect and on change
   */
  constructor (provider, handlers) {
    this.provider = provider
    this.handlers = handlers
    /**
     * Callbacks of `since` requests sent on the current socket, oldest first. The server answers
     * the requests of one connection in order, so each `history` reply belongs to the head.
     * Cleared when the socket closes: replies to those requests will never come.
     * @type {Array<(messages: object[], more: boolean) => void>}
     */
    this.pendingSince = []

    // y-websocket calls messageHandlers[type](encoder, decoder, provider, emitSynced, type) with
    // the type already read; whatever is written to `encoder` would be sent back, so nothing is.
    provider.messageHandlers[messageChat] = (_encoder, decoder) => {
      const payload = readChatPayload(decoder)
      if (payload !== null) this.receive(payload)
    }
    provider.on('status', ({ status }) => {
      if (status !== 'connected') this.pendingSince = []
    })
    provider.on('connection-close', () => {
      this.pendingSince = []
    })
  }

  get connected () {
    const ws = this.provider.ws
    return this.provider.wsconnected && ws !== null && ws.readyState === WebSocket.OPEN
  }

  /** Sends one chat payload when the socket is open; returns whether it was sent. */
  send (payload) {
    if (!this.connected) return false
    this.provider.ws.send(encodeChatFrame(payload))
    return true
  }

  /**
   * Asks for the messages after `after` and, when `changes` is above 0, for every message whose
   * change counter is above it (edited or deleted since). `onReply` runs with the reply; it does
   * not run when the socket closes first. Returns whether the request was sent.
   */
  since (after, changes, onReply = () => {}) {
    const request = changes > 0 ? { type: 'since', after, changes_after: changes } : { type: 'since', after }
    if (!this.send(request)) return false
    this.pendingSince.push(onReply)
    return true
  }

  receive (payload) {
    switch (payload.type) {
      case 'ack':
        this.handlers.onAck(payload.message)
        break
      case 'message':
        this.handlers.onMessage(payload.message)
        break
      case 'rejected':
        if (typeof payload.client_id === 'string') {
          this.handlers.onRejected(payload.client_id, String(payload.reason ?? ''))
        } else if (Number.isSafeInteger(payload.id)) {
          this.handlers.onChangeRejected(payload.id, String(payload.reason ?? ''))
        }
        break
      case 'update_ack':
      case 'updated':
        this.handlers.onUpdated(payload.message)
        break
      case 'role':
        if (typeof payload.role === 'string') this.handlers.onRole(payload.role)
        break
      case 'history': {
        const messages = Array.isArray(payload.messages) ? payload.messages : []
        const more = payload.more === true
        this.handlers.onHistory(messages, more)
        const onReply = this.pendingSince.shift()
        if (onReply) onReply(messages, more)
        break
      }
      default:
        // A newer server may add reply types; ignoring them keeps this client working.
        break
    }
  }
}
