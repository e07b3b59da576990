// The history panel of the room page: the room's versions newest first, "Save version",
// a selected version's text and its changes up to the current text, its exports, "Restore
// this version" (with an in-page confirmation) and the time slider. The save and restore
// controls carry `.editor-only`, which room.css hides while the user is a viewer; the server
// refuses viewers either way.
import { HistoryApi } from './history-api.js'
import { insertedRanges, renderChanges } from './diff-view.js'
import { TimeSlider } from './timeline.js'

const KIND_LABELS = {
  auto: 'Automatic version',
  named: 'Saved version',
  before_restore: 'Before restore',
  before_import: 'Before import'
}

const formatTime = (ms) => new Date(ms).toLocaleString()

/** While the panel is open, the list and the selected diff follow the text this long after it changes. */
const FOLLOW_MS = 3000

/** "Draft 2" for a named version, else what kind of version it is. */
const versionTitle = (v) => (typeof v.name === 'string' && v.name !== '' ? v.name : KIND_LABELS[v.kind] ?? 'Version')

const versionMeta = (v) => {
  const parts = [formatTime(v.time)]
  if (v.name) parts.push(KIND_LABELS[v.kind] ?? v.kind)
  if (v.saved_by) parts.push(`saved by ${v.saved_by}`)
  parts.push(Array.isArray(v.authors) && v.authors.length > 0 ? `written by ${v.authors.join(', ')}` : 'no new writing')
  parts.push(`${v.size} characters`)
  return parts.join(' · ')
}

export class HistoryPanel {
  /**
   * @param {object} options
   * @param {string} options.room
   * @param {HTMLElement} options.root #room
   * @param {(id: string) => HTMLElement} options.byId
   * @param {() => string} options.currentText the page's current text
   * @param {(ranges: number[][]) => Promise<string[][]>} options.authorsOf who wrote these
   *   ranges of the current text
   */
  constructor ({ room, root, byId, currentText, authorsOf }) {
    this.currentText = currentText
    this.authorsOf = authorsOf
    this.api = new HistoryApi(room)
    this.root = root
    this.panel = byId('history-panel')
    this.toggle = byId('history-toggle')
    this.status = byId('history-status')
    this.list = byId('version-list')
    this.view = byId('version-view')
    this.saveForm = byId('version-save')
    this.restoreButton = byId('version-restore')
    this.restoreForm = byId('version-restore-confirm')
    this.els = {
      title: byId('version-title'),
      meta: byId('version-meta'),
      text: byId('version-text'),
      diff: byId('version-diff'),
      exports: ['txt', 'md', 'yjs'].map((format) => [format, byId(`version-export-${format}`)])
    }
    this.slider = new TimeSlider({
      slider: byId('timeline-slider'),
      info: byId('timeline-info'),
      note: byId('timeline-note'),
      text: byId('timeline-text')
    })
    /** @type {object[]} */
    this.versions = []
    this.selected = null
    /** bumped on every selection, so that a slow answer for an older one is dropped */
    this.selection = 0
    this.followTimer = null

    this.toggle.addEventListener('click', () => this.setOpen(this.panel.hidden))
    byId('history-close').addEventListener('click', () => this.setOpen(false))
    this.panel.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') this.setOpen(false)
    })
    this.saveForm.addEventListener('submit', (event) => {
      event.preventDefault()
      this.save()
    })
    this.restoreButton.addEventListener('click', () => {
      this.restoreForm.hidden = false
      this.restoreForm.querySelector('[type="submit"]').focus()
    })
    byId('version-restore-cancel').addEventListener('click', () => {
      this.restoreForm.hidden = true
      this.restoreButton.focus()
    })
    this.restoreForm.addEventListener('submit', (event) => {
      event.preventDefault()
      this.restore()
    })
  }

  /**
   * The document changed (here or elsewhere): once it has been quiet for a moment, list the
   * versions again (a restore or the historian may have saved one) and compare the selected
   * version with the new current text.
   */
  documentChanged () {
    if (this.panel.hidden) return
    clearTimeout(this.followTimer)
    this.followTimer = setTimeout(() => {
      if (this.panel.hidden) return
      this.refresh()
      if (this.selected) this.refreshChanges(this.selected.id)
    }, FOLLOW_MS)
  }

  async refreshChanges (id) {
    const turn = this.selection
    try {
      const detail = await this.api.version(id)
      if (turn === this.selection) await this.showChanges(detail.changes, turn)
    } catch {
      // the next change or selection tries again
    }
  }

  /** The diff at once, then again with who added each inserted run once that is known. */
  async showChanges (changes, turn) {
    const list = Array.isArray(changes) ? changes : []
    renderChanges(this.els.diff, list)
    const ranges = insertedRanges(list, this.currentText())
    if (ranges === null || ranges.length === 0) return
    const authors = await this.authorsOf(ranges).catch(() => null)
    if (authors !== null && turn === this.selection) renderChanges(this.els.diff, list, authors)
  }

  get csrfToken () {
    return this.saveForm.querySelector('input[name="csrf_token"]')?.value ?? ''
  }

  setOpen (open) {
    this.panel.hidden = !open
    this.toggle.setAttribute('aria-expanded', String(open))
    this.root.classList.toggle('room--history-open', open)
    if (open) {
      this.refresh()
      this.panel.querySelector('h2')?.focus?.()
    } else {
      this.toggle.focus()
    }
  }

  say (message, kind = 'info') {
    this.status.textContent = message
    this.status.dataset.kind = kind
  }

  async refresh () {
    try {
      const versions = await this.api.versions()
      this.versions = Array.isArray(versions) ? versions : []
      this.renderList()
      if (this.status.dataset.kind === 'error') this.say('')
    } catch (error) {
      this.say(error.message, 'error')
    }
  }

  renderList () {
    const items = this.versions.map((v) => {
      const item = document.createElement('li')
      item.dataset.id = String(v.id)
      item.dataset.kind = v.kind
      const button = document.createElement('button')
      button.type = 'button'
      button.className = 'version-item'
      button.setAttribute('aria-pressed', String(this.selected?.id === v.id))
      const title = document.createElement('span')
      title.className = 'version-name'
      title.textContent = versionTitle(v)
      const meta = document.createElement('span')
      meta.className = 'version-meta'
      meta.textContent = versionMeta(v)
      button.append(title, meta)
      button.addEventListener('click', () => this.select(v.id))
      item.append(button)
      return item
    })
    if (items.length === 0) {
      const empty = document.createElement('li')
      empty.className = 'empty'
      empty.textContent = 'No versions yet. One is saved automatically once editing pauses, or save one now.'
      items.push(empty)
    }
    this.list.replaceChildren(...items)
  }

  async save () {
    const input = this.saveForm.querySelector('input[name="name"]')
    const button = this.saveForm.querySelector('[type="submit"]')
    button.disabled = true
    try {
      await this.api.saveVersion(this.csrfToken, input.value.trim())
      input.value = ''
      this.say('Version saved.')
      await this.refresh()
    } catch (error) {
      this.say(error.message, 'error')
    } finally {
      button.disabled = false
    }
  }

  async select (id) {
    const turn = ++this.selection
    const summary = this.versions.find((v) => v.id === id)
    if (!summary) return
    this.selected = summary
    this.renderList()
    this.view.hidden = false
    this.restoreForm.hidden = true
    this.els.title.textContent = versionTitle(summary)
    this.els.meta.textContent = versionMeta(summary)
    for (const [format, link] of this.els.exports) link.href = this.api.exportUrl(format, id)
    // what the confirmation form posts to (the script sends it itself, staying on the page)
    this.restoreForm.action = `${this.api.base}/versions/${id}/restore`
    this.els.text.textContent = 'Loading…'
    this.els.diff.replaceChildren()
    this.slider.clear('Loading…')
    // The next newer version ends the slider's range; the newest one runs to now.
    const index = this.versions.findIndex((v) => v.id === id)
    const next = index > 0 ? this.versions[index - 1] : null
    try {
      const [detail, timeline] = await Promise.all([
        this.api.version(id),
        this.api.timeline(id, next ? next.id : null)
      ])
      if (turn !== this.selection) return
      this.els.text.textContent = detail.text
      this.showChanges(detail.changes, turn)
      this.slider.load(timeline, `the text of “${versionTitle(summary)}”`,
        next ? `the next version, “${versionTitle(next)}”` : 'the current text')
    } catch (error) {
      if (turn !== this.selection) return
      this.els.text.textContent = ''
      this.slider.clear('')
      this.say(error.message, 'error')
    }
  }

  async restore () {
    const version = this.selected
    if (!version) return
    const button = this.restoreForm.querySelector('[type="submit"]')
    button.disabled = true
    try {
      await this.api.restore(this.csrfToken, version.id)
      this.restoreForm.hidden = true
      this.say(`Restored “${versionTitle(version)}”. The text before it is saved as “Before restore”.`)
      await this.refresh()
    } catch (error) {
      this.say(error.message, 'error')
    } finally {
      button.disabled = false
    }
  }
}
