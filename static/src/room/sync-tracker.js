// Knows whether this tab has document changes the server has not stored yet.
//
// y-protocols has no acknowledgement for updates; the chat channel gives one. The server handles
// the frames of one socket in order and answers a `since` with `history` only once everything
// the socket sent before it is applied and stored (docs/protocol.md, "Ordering"). So a `history`
// reply proves that every edit that went out on that socket ahead of its `since` is stored. The
// tracker sends such a `since` (the barrier) after local edits, and has to know that the edits
// are on the socket ahead of it. It learns that from the provider's public events alone:
//
// - On a new socket, y-websocket sends its sync step 1 when the socket opens. The server sends
//   its own step 1 as the socket's first frame, when the socket joins the room and before it
//   handles any frame of the socket, and answers our step 1 with its step 2 after that. A
//   WebSocket keeps order, so the page reads the server's step 1 first. y-websocket answers it
//   with our step 2 from within that message's handler, then reads the server's step 2 and
//   reports `sync` true. So once `sync` true fires for a socket, our step 2 is on the wire, and
//   a `since` sent afterwards on that socket follows it. Our step 2 holds every edit of ours the
//   server lacked when it greeted the socket: the ones made offline and the ones made while the
//   socket was connecting. The ones the server already had are covered too: the server's writer
//   stores what the room applied in order, and a `since` waits for all of it, whichever socket
//   brought it.
// - While the socket is up, y-websocket sends every local edit as an update the moment it is
//   made, so an edit made before a `since` is sent precedes it.
// - When the socket goes (`connection-close`, `status` other than connected, `sync` false), a
//   barrier in flight will never be answered; the tracker forgets it and waits for `sync` true
//   on the next socket, whose step 2 carries whatever had not been stored.
//
// A barrier therefore covers every local edit counted when it is sent, provided it is sent
// after `sync` true on the socket it travels on. Edits that reach this tab from another tab
// (over BroadcastChannel) or from IndexedDB are not counted: the tab that made them tracks them.
//
// A flag in localStorage carries "there are unstored changes" across a reload made while
// offline; the changes themselves are in y-indexeddb.
import { readJson, writeJson, remove } from '../lib/storage.js'

/** quiet time after the last local edit before asking the server to confirm */
const BARRIER_DELAY_MS = 400

export class SyncTracker {
  /**
   * @param {object} opts
   * @param {import('yjs').Doc} opts.ydoc
   * @param {import('y-websocket').WebsocketProvider} opts.provider
   * @param {import('./chat-channel.js').ChatChannel} opts.channel
   * @param {import('./chat.js').ChatPanel} opts.chat
   * @param {any} opts.persistence origin of updates replayed from IndexedDB (not new edits)
   * @param {string} opts.room
   * @param {string} opts.username
   * @param {() => void} opts.onChange
   */
  constructor ({ ydoc, provider, channel, chat, persistence, room, username, onChange }) {
    this.channel = channel
    this.chat = chat
    this.onChange = onChange
    this.key = `chatspace:unsaved:${username.toLowerCase()}:${room.toLowerCase()}`
    /** local edits counted since load (1 if a previous load left unstored edits) */
    this.localSeq = readJson(this.key, false) === true ? 1 : 0
    /** the localStorage flag is set (saves a write per keystroke) */
    this.flagged = this.localSeq > 0
    /** the highest `localSeq` the server has confirmed */
    this.ackedSeq = 0
    /** the server has confirmed our state at least once since load */
    this.confirmedOnce = false
    /** `sync` true has fired on the current socket: our step 2 has gone out on it */
    this.synced = false
    this.barrierInFlight = false
    /** bumped whenever the socket goes, so callbacks of an old socket do nothing */
    this.generation = 0
    this.timer = null

    ydoc.on('update', (_update, origin) => {
      if (origin === provider || (persistence && origin === persistence)) return
      this.localSeq++
      if (!this.flagged) this.flagged = writeJson(this.key, true)
      this.scheduleBarrier()
      this.onChange()
    })

    provider.on('sync', (synced) => {
      if (!synced) {
        this.socketGone()
      } else if (!this.synced) {
        this.synced = true
        // Nothing of ours is missing from what the server has stored.
        if (!this.unsaved) this.confirmedOnce = true
        this.requestBarrier()
      }
      this.onChange()
    })
    provider.on('status', ({ status }) => {
      if (status !== 'connected') this.socketGone()
    })
    provider.on('connection-close', () => this.socketGone())
  }

  socketGone () {
    this.generation++
    this.synced = false
    this.barrierInFlight = false
  }

  get unsaved () {
    return this.localSeq > this.ackedSeq
  }

  scheduleBarrier () {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = setTimeout(() => {
      this.timer = null
      this.requestBarrier()
    }, BARRIER_DELAY_MS)
  }

  requestBarrier () {
    if (!this.synced || this.barrierInFlight || !this.unsaved) return
    this.barrierInFlight = true
    const generation = this.generation
    // `since` needs the id to start from, which the first page of history provides.
    this.chat.whenHistoryLoaded().then(() => {
      if (generation !== this.generation) return
      const seq = this.localSeq
      const sent = this.channel.since(this.chat.highestId, this.chat.highestChange, (messages, more) => {
        if (generation !== this.generation) return
        this.barrierInFlight = false
        this.ackedSeq = Math.max(this.ackedSeq, seq)
        this.confirmedOnce = true
        if (!this.unsaved) {
          remove(this.key)
          this.flagged = false
        }
        if (more && !this.chat.catchingUp && messages.length > 0) this.chat.catchUp(this.chat.highestId)
        this.onChange()
        if (this.unsaved) this.scheduleBarrier()
      })
      if (!sent) this.barrierInFlight = false
    })
  }
}
