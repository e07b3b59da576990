// Chat messages written but not yet acknowledged by the server, kept in localStorage so they
// survive a reload while offline. Keyed by user and room: the server deduplicates resends per
// author and room, so an entry must only ever be sent by the user who wrote it.
//
// Every change re-reads the stored list first, because another tab of the same room may have
// added or removed entries since this one last looked.
import { readJson, writeJson } from '../lib/storage.js'

const isEntry = (e) =>
  e !== null && typeof e === 'object' && typeof e.clientId === 'string' && typeof e.text === 'string'

export class Outbox {
  constructor (username, room) {
    this.key = `chatspace:outbox:${username.toLowerCase()}:${room.toLowerCase()}`
  }

  /** @returns {Array<{clientId: string, text: string, createdAt: string}>} oldest first */
  all () {
    const list = readJson(this.key, [])
    return Array.isArray(list) ? list.filter(isEntry) : []
  }

  add (entry) {
    const list = this.all()
    if (!list.some((e) => e.clientId === entry.clientId)) list.push(entry)
    writeJson(this.key, list)
  }

  /** Removes the entry; returns whether it was there. */
  remove (clientId) {
    const list = this.all()
    const kept = list.filter((e) => e.clientId !== clientId)
    if (kept.length !== list.length) writeJson(this.key, kept)
    return kept.length !== list.length
  }

  has (clientId) {
    return this.all().some((e) => e.clientId === clientId)
  }
}
