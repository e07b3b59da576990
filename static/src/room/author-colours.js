// "Author colours": each character of the editor tinted with its author's presence colour,
// the author's name on hover, as Etherpad does. Authorship comes from the Y.Text's items (each
// carries the client id that inserted it; deleted items are skipped), and the client ids are
// mapped to usernames by the server (`GET /rooms/{name}/authors`, fetched again whenever an
// unknown client id shows up). The decorations are rebuilt after every change of the Y.Text,
// outside CodeMirror's update cycle. Off by default; the choice is kept in localStorage.
import { Compartment, StateEffect } from '@codemirror/state'
import { Decoration, ViewPlugin } from '@codemirror/view'
import { userColor } from '../lib/colors.js'
import { readJson, writeJson } from '../lib/storage.js'
import { coalesced } from '../lib/later.js'

const STORAGE_KEY = 'chatspace:author-colours'
/** Wait at least this long between two fetches of the authors map. */
const REFETCH_MS = 1000
/** Ask about one client id this many times at most (a client the server never saw stays unknown). */
const MAX_ASKS = 3

const refresh = StateEffect.define()

/**
 * Runs of `{from, to, client}` over the visible text, adjacent items of one client merged.
 * @param {import('yjs').Text} ytext
 */
export const authorRuns = (ytext) => {
  const runs = []
  let at = 0
  for (let item = ytext._start; item !== null; item = item.right) {
    if (item.deleted || !item.countable) continue
    const client = item.id.client
    const last = runs[runs.length - 1]
    if (last && last.client === client && last.to === at) last.to += item.length
    else runs.push({ from: at, to: at + item.length, client })
    at += item.length
  }
  return runs
}

const markFor = (() => {
  const cache = new Map()
  return (name) => {
    if (!cache.has(name)) {
      const { colorLight } = userColor(name)
      cache.set(name, Decoration.mark({
        class: 'cm-author',
        attributes: { title: `Written by ${name}`, 'data-author': name, style: `background-color: ${colorLight}` }
      }))
    }
    return cache.get(name)
  }
})()

export class AuthorColours {
  /**
   * @param {object} options
   * @param {import('yjs').Text} options.ytext
   * @param {number} options.ownClientId this page's Y.Doc client id, known to be ours at once
   * @param {string} options.username
   * @param {() => Promise<{clients: Record<string, string>}>} options.fetchAuthors
   * @param {HTMLButtonElement} options.button the toolbar toggle (aria-pressed)
   */
  constructor ({ ytext, ownClientId, username, fetchAuthors, button }) {
    Object.assign(this, { ytext, fetchAuthors, button })
    /** @type {Map<number, string>} */
    this.names = new Map([[ownClientId, username]])
    this.compartment = new Compartment()
    this.view = null
    this.on = readJson(STORAGE_KEY, false) === true
    this.fetching = null
    this.lastFetch = 0
    /** @type {Map<number, number>} how often the server was asked about an unknown client id */
    this.asked = new Map()
    /** Rebuild once the current update (local or remote) is over. */
    this.schedule = coalesced(() => {
      if (this.on && this.view) this.view.dispatch({ effects: refresh.of(null) })
    })
    this.onYText = () => this.schedule()
    button.addEventListener('click', () => this.setOn(!this.on))
    this.renderButton()
  }

  /** The extension to put into the editor (its compartment, filled while the toggle is on). */
  extension () {
    return this.compartment.of(this.on ? this.plugin() : [])
  }

  attach (view) {
    this.view = view
    if (this.on) this.start()
  }

  setOn (on) {
    this.on = on
    writeJson(STORAGE_KEY, on)
    this.renderButton()
    if (!this.view) return
    this.view.dispatch({ effects: this.compartment.reconfigure(on ? this.plugin() : []) })
    if (on) this.start()
    else this.ytext.unobserve(this.onYText)
  }

  renderButton () {
    this.button.setAttribute('aria-pressed', String(this.on))
  }

  start () {
    this.ytext.unobserve(this.onYText)
    this.ytext.observe(this.onYText)
    this.schedule()
  }

  /**
   * Who wrote each of `ranges` (`[from, to]` of the current text): a list of names per range.
   * Client ids not known yet are asked about first (once); still unknown ones are left out.
   */
  async authorsOf (ranges) {
    const unknown = new Set(authorRuns(this.ytext).map((r) => r.client).filter((c) => !this.names.has(c)))
    if (unknown.size > 0) {
      this.learn(unknown)
      await this.fetching
    }
    const runs = authorRuns(this.ytext)
    return ranges.map(([from, to]) => [...new Set(runs
      .filter((run) => run.from < to && run.to > from && this.names.has(run.client))
      .map((run) => this.names.get(run.client)))])
  }

  /** Asks the server who owns the client ids not known yet (at most once a second). */
  learn (unknown) {
    if (this.fetching) return
    const worth = [...unknown].filter((client) => (this.asked.get(client) ?? 0) < MAX_ASKS)
    if (worth.length === 0) return
    for (const client of worth) this.asked.set(client, (this.asked.get(client) ?? 0) + 1)
    const wait = Math.max(0, this.lastFetch + REFETCH_MS - Date.now())
    this.fetching = new Promise((resolve) => setTimeout(resolve, wait))
      .then(() => {
        this.lastFetch = Date.now()
        return this.fetchAuthors()
      })
      .then(({ clients }) => {
        for (const [id, name] of Object.entries(clients ?? {})) {
          if (typeof name === 'string' && name !== '') this.names.set(Number(id), name)
        }
      })
      .catch((error) => console.warn('chatspace: authors unavailable', error))
      .finally(() => {
        this.fetching = null
        // The answer may already be stale: unknown ids left over ask again (a second later).
        this.schedule()
      })
  }

  decorations (docLength) {
    const runs = authorRuns(this.ytext)
    const ranges = []
    const unknown = new Set()
    for (const { from, to, client } of runs) {
      if (to > docLength) break
      const name = this.names.get(client)
      if (name === undefined) unknown.add(client)
      else ranges.push(markFor(name).range(from, to))
    }
    this.learn(unknown)
    return Decoration.set(ranges)
  }

  plugin () {
    const owner = this
    return ViewPlugin.fromClass(class {
      constructor (view) {
        this.decorations = owner.decorations(view.state.doc.length)
      }

      update (update) {
        if (update.transactions.some((tr) => tr.effects.some((e) => e.is(refresh)))) {
          this.decorations = owner.decorations(update.state.doc.length)
        } else if (update.docChanged) {
          // until the rebuild that the Y.Text change scheduled
          this.decorations = this.decorations.map(update.changes)
        }
      }
    }, { decorations: (plugin) => plugin.decorations })
  }
}

