// A stock client that keeps typing and chatting during crash trials, and keeps the books that
// say what the server has promised to hold.
//
// The text is a sequence of unique markers such as `[b3.17]` (client instance b3, its 17th).
// A client inserts a whole marker at a boundary between markers of its own view and deletes a
// whole marker, so no marker is ever split by another's insert: a marker is in a text or not.
//
// What counts as stored (docs/protocol.md, "Ordering"): when the `history` answer to a `since`
// arrives, everything the client sent on that socket before the `since` is stored. A local
// edit goes out on the current socket at once (y-websocket sends every local update while
// connected); an edit made while no socket was open goes out in the client's sync step 2, the
// reply to the server's step 1, which holds everything the server lacks. So on each socket:
// once the client's step 2 has gone out, every later step 2 or update frame means "all my
// edits so far went out on this socket"; a `since` sent then covers them. The socket wrapper
// (`observer` in clients.mjs) reports every frame with the socket it went over.
import * as decoding from 'lib0/decoding'
import { setTimeout as sleep } from 'node:timers/promises'
import { MESSAGE_CHAT, chatFrame } from './clients.mjs'
import { eventually } from './wait.mjs'

const MESSAGE_SYNC = 0
const SYNC_STEP2 = 1
const SYNC_UPDATE = 2
/** A marker: `[`, its owner's tag, `.`, its number, `]`. */
export const MARKER = /\[[a-z0-9]+\.[0-9]+\]/g

/**
 * What the clients of one room did, over every trial and every client instance: the markers
 * typed (with who typed them), those deleted by anyone, the chat messages sent.
 */
export class RoomBook {
  constructor (name) {
    this.name = name
    /** every client instance that ever worked in the room, destroyed ones included */
    this.clients = []
    /** marker -> { client, edit, at }: the instance that typed it, as its `edit`th edit, when */
    this.markers = new Map()
    /** markers some client deleted (whether or not the server kept the deletion) */
    this.deleted = new Set()
  }

  /** Markers the server promised to hold: covered by an answered `since`, deleted by nobody. */
  covered () {
    const covered = []
    for (const [marker, { client, edit }] of this.markers) {
      if (edit <= client.confirmedEdits && !this.deleted.has(marker)) covered.push(marker)
    }
    return covered
  }

  /** Every acknowledged chat message of the room: [author, client id, the acknowledged message]. */
  acked () {
    return this.clients.flatMap((c) => [...c.acks].map(([clientId, message]) => [c.user.username, clientId, message]))
  }
}

/** The books a client keeps per socket. */
const socketBook = () => ({
  /** the client's step 2 went out on this socket */
  step2Sent: false,
  /** how many of the client's edits had gone out on this socket */
  sentEdits: 0,
  /** for each `since` sent and not answered yet, oldest first: `sentEdits` when it went out */
  pendingSince: []
})

export class TrialClient {
  /**
   * @param {{ harness: import('./harness.mjs').Harness, user: import('./accounts.mjs').User,
   *   book: RoomBook, tag: string, random: ReturnType<import('./random.mjs').seededSource>,
   *   clock: () => number }} options `tag` is unique to this instance (lowercase letters and
   *   digits); `clock` gives the run's time in ms
   */
  constructor ({ harness, user, book, tag, random, clock }) {
    this.user = user
    this.book = book
    this.tag = tag
    this.random = random
    this.clock = clock
    /** local edits made (inserts and deletes) */
    this.edits = 0
    /** the highest number of edits an answered `since` covered */
    this.confirmedEdits = 0
    this.confirmedAt = null
    this.typed = 0
    this.sockets = new WeakMap()
    /** highest chat message id seen, for `since` */
    this.highestId = 0
    /** client id -> text of every chat message sent */
    this.chatSent = new Map()
    /** client ids sent and not acknowledged */
    this.outbox = new Set()
    /** client id -> the acknowledged message */
    this.acks = new Map()
    /** what contradicts the protocol, seen by this client (a failure of the run) */
    this.violations = []
    this.stopped = true
    this.loop = null
    this.stock = harness.stock(user, book.name, tag, {
      observer: this,
      // A crash-restart takes well under a second; the default 2.5 s cap only slows the trials.
      providerOptions: { maxBackoffTime: 1_000 }
    })
    // Chat frames are this client's business; the provider would log each as unknown.
    this.stock.provider.messageHandlers[MESSAGE_CHAT] = () => {}
    this.stock.provider.on('sync', (synced) => { if (synced) this.flushOutbox() })
    book.clients.push(this)
  }

  get text () {
    return this.stock.value
  }

  socketBook (socket) {
    let book = this.sockets.get(socket)
    if (!book) {
      book = socketBook()
      this.sockets.set(socket, book)
    }
    return book
  }

  /** Called by the socket wrapper before each frame the provider (or this client) sends. */
  sent (socket, bytes) {
    if (bytes[0] !== MESSAGE_SYNC) return
    const book = this.socketBook(socket)
    if (bytes[1] === SYNC_STEP2) book.step2Sent = true
    if (book.step2Sent && (bytes[1] === SYNC_STEP2 || bytes[1] === SYNC_UPDATE)) book.sentEdits = this.edits
  }

  /** Called by the socket wrapper for each frame received. */
  received (socket, bytes) {
    if (bytes[0] !== MESSAGE_CHAT) return
    const decoder = decoding.createDecoder(bytes)
    decoding.readVarUint(decoder)
    const event = JSON.parse(decoding.readVarString(decoder))
    switch (event.type) {
      case 'history': {
        const covered = this.socketBook(socket).pendingSince.shift()
        if (covered === undefined) this.violations.push(`a history answer on a socket with no since pending: ${JSON.stringify(event).slice(0, 200)}`)
        else if (covered > this.confirmedEdits) {
          this.confirmedEdits = covered
          this.confirmedAt = this.clock()
        }
        for (const m of event.messages) this.highestId = Math.max(this.highestId, m.id)
        break
      }
      case 'ack': {
        const { message } = event
        const earlier = this.acks.get(message.client_id)
        if (earlier && earlier.id !== message.id) {
          this.violations.push(`${message.client_id} acknowledged as id ${earlier.id} and then as id ${message.id}`)
        }
        if (message.author !== this.user.username || message.text !== this.chatSent.get(message.client_id)) {
          this.violations.push(`an ack that is not for what was sent: ${JSON.stringify(message)}`)
        }
        this.acks.set(message.client_id, message)
        this.outbox.delete(message.client_id)
        this.highestId = Math.max(this.highestId, message.id)
        break
      }
      case 'message':
        this.highestId = Math.max(this.highestId, event.message.id)
        break
      case 'rejected':
        this.violations.push(`chat message rejected: ${JSON.stringify(event)}`)
        break
    }
  }

  /** The provider's socket when it is open and synced, else null. */
  openSocket () {
    const { provider } = this.stock
    const ws = provider.ws
    return provider.wsconnected && ws && ws.readyState === ws.OPEN ? ws : null
  }

  /** Sends a chat object on the provider's socket; false when it is not open. */
  sendChat (object) {
    const ws = this.openSocket()
    if (!ws) return false
    if (object.type === 'since') this.socketBook(ws).pendingSince.push(this.socketBook(ws).sentEdits)
    ws.send(chatFrame(object))
    return true
  }

  since () {
    return this.sendChat({ type: 'since', after: this.highestId })
  }

  /** A new chat message: into the outbox, and out at once when the socket is open. */
  chat () {
    const clientId = `${this.tag}-${this.chatSent.size + 1}`
    const text = `${this.tag} says ${this.chatSent.size + 1}`
    this.chatSent.set(clientId, text)
    this.outbox.add(clientId)
    this.sendChat({ type: 'send', client_id: clientId, text })
  }

  /** Sends again what was never acknowledged (the server answers a resend with the first ack). */
  flushOutbox () {
    for (const clientId of this.outbox) {
      if (!this.sendChat({ type: 'send', client_id: clientId, text: this.chatSent.get(clientId) })) return
    }
  }

  /** Inserts a new marker at a random boundary between markers of this client's view. */
  insertMarker () {
    const text = this.text
    let at = this.random.below(text.length + 1)
    if (at > 0 && text[at - 1] !== ']') at = text.indexOf(']', at) + 1
    const marker = `[${this.tag}.${++this.typed}]`
    // Counted before the insert: the provider sends the update from inside it.
    this.edits++
    this.book.markers.set(marker, { client: this, edit: this.edits, at: this.clock() })
    this.stock.insert(at, marker)
  }

  /** Deletes a whole random marker of this client's view (anyone's). */
  deleteMarker () {
    const text = this.text
    if (text.length === 0) return
    const start = text.lastIndexOf('[', this.random.below(text.length))
    const end = text.indexOf(']', start) + 1
    this.book.deleted.add(text.slice(start, end))
    this.edits++
    this.stock.delete(start, end - start)
  }

  /** Types and chats until `stop()`: an edit every 10-40 ms, a `since` every 100-300 ms. */
  start () {
    this.stopped = false
    this.loop = (async () => {
      let nextSince = this.clock() + this.random.between(100, 300)
      let nextChat = this.clock() + this.random.between(100, 400)
      while (!this.stopped) {
        if (this.random.chance(0.35)) this.deleteMarker()
        else this.insertMarker()
        const now = this.clock()
        if (now >= nextChat) {
          this.chat()
          nextChat = now + this.random.between(100, 400)
        }
        if (now >= nextSince) {
          this.since()
          nextSince = now + this.random.between(100, 300)
        }
        await sleep(this.random.between(10, 40))
      }
    })()
  }

  async stop () {
    this.stopped = true
    await this.loop
  }

  /**
   * Waits until the server has confirmed every edit and acknowledged every chat message of
   * this client (sending `since` and resending the outbox as needed).
   */
  settle () {
    let asked = null
    return eventually(`${this.tag} to have every edit and chat message confirmed`, () => {
      if (this.confirmedEdits === this.edits && this.outbox.size === 0) return true
      const ws = this.openSocket()
      if (ws && this.stock.provider.synced && asked !== ws && this.socketBook(ws).sentEdits === this.edits) {
        this.flushOutbox()
        this.since()
        asked = ws
      } else if (asked === ws && this.socketBook(ws).pendingSince.length === 0) {
        asked = null // answered; ask again if that was not enough
      }
      return false
    }, {
      describe: () => `edits ${this.edits}, confirmed ${this.confirmedEdits}, outbox ${this.outbox.size}, ` +
        `connected ${this.stock.provider.wsconnected}, synced ${this.stock.provider.synced}`
    })
  }

  destroy () {
    this.stopped = true
    this.stock.destroy()
  }
}
