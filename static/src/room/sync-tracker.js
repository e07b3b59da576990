// Knows whether this tab has document changes the server has not received yet.
//
// y-protocols has no acknowledgement for updates, so the tracker uses the chat channel as a
// barrier: the server answers the frames of one socket in order, so a `history` reply to a
// `since` request sent after some updates proves the server has read those updates. Updates
// count as sent only once they have gone out on an open socket whose server sync step 1 has
// been answered (that answer, a sync step 2, carries everything made while offline).
//
// A flag in localStorage carries "there are unsent changes" across a reload made while offline;
// the changes themselves are in y-indexeddb.
import * as decoding from 'lib0/decoding'
import { readJson, writeJson, remove } from '../lib/storage.js'

const messageSync = 0
const syncStep1 = 0
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
   * @param {() => void} opts.onChange
   */
  constructor ({ ydoc, provider, channel, chat, persistence, room, onChange }) {
    this.provider = provider
    this.channel = channel
    this.chat = chat
    this.onChange = onChange
    this.key = `chatspace:unsaved:${room.toLowerCase()}`
    /** local edits counted since load (1 if a previous load left unsent edits) */
    this.localSeq = readJson(this.key, false) === true ? 1 : 0
    /** the localStorage flag is set (saves a write per keystroke) */
    this.flagged = this.localSeq > 0
    /** the highest `localSeq` the server has confirmed */
    this.ackedSeq = 0
    /** the server has confirmed our state at least once since load */
    this.confirmedOnce = false
    /** our answer to the server's sync step 1 on the current socket has been sent */
    this.step1Answered = false
    this.barrierInFlight = false
    /** bumped whenever the socket closes, so callbacks of an old socket do nothing */
    this.generation = 0
    this.timer = null

    ydoc.on('update', (_update, origin) => {
      if (origin === provider || (persistence && origin === persistence)) return
      this.localSeq++
      if (!this.flagged) this.flagged = writeJson(this.key, true)
      this.scheduleBarrier()
      this.onChange()
    })

    // Wrap the stock sync handler to notice the server's step 1 arriving on the socket
    // (`emitSynced` is false for messages from other tabs over BroadcastChannel).
    const handleSync = provider.messageHandlers[messageSync]
    provider.messageHandlers[messageSync] = (encoder, decoder, p, emitSynced, type) => {
      const subType = decoding.peekVarUint(decoder)
      handleSync(encoder, decoder, p, emitSynced, type)
      if (subType === syncStep1 && emitSynced) {
        // The provider sends our step 2 right after this handler returns.
        const generation = this.generation
        setTimeout(() => {
          if (generation !== this.generation || !provider.wsconnected) return
          this.step1Answered = true
          this.requestBarrier()
        }, 0)
      }
    }

    provider.on('sync', (synced) => {
      if (synced && this.localSeq === this.ackedSeq) this.confirmedOnce = true
      this.onChange()
    })
    provider.on('status', ({ status }) => {
      if (status !== 'connected') this.socketGone()
    })
    provider.on('connection-close', () => this.socketGone())
  }

  socketGone () {
    this.generation++
    this.step1Answered = false
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
    if (!this.step1Answered || this.barrierInFlight || !this.unsaved) return
    this.barrierInFlight = true
    const generation = this.generation
    // `since` needs the id to start from, which the first page of history provides.
    this.chat.whenHistoryLoaded().then(() => {
      if (generation !== this.generation) return
      const seq = this.localSeq
      const sent = this.channel.since(this.chat.highestId, (messages, more) => {
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
