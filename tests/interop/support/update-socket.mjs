// The real server's verdict on one update: a signed-in raw socket on a room sends it as a sync
// update frame, then a sync step 1 with an empty state vector. A refused update closes the socket
// (4400) before the step 1 is answered; an accepted one is followed by the server's step 2, which
// carries the room's whole state. Refused updates leave the room as it was, so it is reused for
// the next update on the same base; after an accepted one a new room is made.
import WebSocket from 'ws'
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import { uniqueName } from './accounts.mjs'
import { within } from './wait.mjs'

const MESSAGE_SYNC = 0
const SYNC_STEP1 = 0
const SYNC_STEP2 = 1
const SYNC_UPDATE = 2

const syncFrame = (sub, payload) => {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, MESSAGE_SYNC)
  encoding.writeVarUint(encoder, sub)
  encoding.writeVarUint8Array(encoder, payload)
  return encoding.toUint8Array(encoder)
}

/** Step 1 with an empty state vector: "send me everything". */
const ASK_EVERYTHING = syncFrame(SYNC_STEP1, Uint8Array.of(0))

/**
 * Sends `update` then a step 1 on a new socket; resolves `{ accepted: true, state }` with the
 * step 2's payload, or `{ accepted: false, code }` when the server closed the socket first.
 */
const sendUpdate = (url, cookie, update) => new Promise((resolve, reject) => {
  const socket = new WebSocket(url, { headers: { cookie } })
  socket.binaryType = 'arraybuffer'
  let settled = false
  const settle = (outcome) => {
    if (settled) return
    settled = true
    resolve(outcome)
  }
  socket.on('open', () => {
    socket.send(syncFrame(SYNC_UPDATE, update))
    socket.send(ASK_EVERYTHING)
  })
  socket.on('message', (data) => {
    const decoder = decoding.createDecoder(new Uint8Array(data))
    if (decoding.readVarUint(decoder) !== MESSAGE_SYNC || decoding.readVarUint(decoder) !== SYNC_STEP2) return
    settle({ accepted: true, state: decoding.readVarUint8Array(decoder) })
    socket.close()
  })
  socket.on('close', (code) => settle({ accepted: false, code }))
  socket.on('error', (error) => { if (!settled) reject(error) })
})

export class UpdateJudge {
  /** @param {{ wsBase: string }} server @param {import('./accounts.mjs').User} user */
  constructor (server, user) {
    this.server = server
    this.user = user
    this.room = null
    this.roomBase = undefined
    this.roomsMade = 0
  }

  async send (room, update) {
    const url = `${this.server.wsBase}/${room}`
    return within(`the server's answer on ${room}`, 10_000, sendUpdate(url, this.user.cookie, update))
  }

  /** A room holding exactly `base` (null: an empty room), made anew after an accepted update. */
  async roomWith (base) {
    if (this.room !== null && this.roomBase === base) return this.room
    const room = await this.user.createRoom(uniqueName('diff'))
    this.roomsMade++
    if (base) {
      const seeded = await this.send(room, base)
      if (!seeded.accepted) throw new Error(`the base was refused with ${seeded.code}`)
    }
    this.room = room
    this.roomBase = base
    return room
  }

  /** The server's verdict on `update` sent to a room holding `base`. */
  async judge (base, update) {
    const outcome = await this.send(await this.roomWith(base), update)
    if (outcome.accepted) this.room = null
    return outcome
  }
}
