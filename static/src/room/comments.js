// Anchored comments (issue 21): a chat message about a passage of the document.
//
// Selecting text and pressing "Comment" (or Ctrl/Cmd+Alt+M) puts the passage above the chat box;
// the next message sent carries it as an `anchor` (docs/protocol.md, "Anchored comments"): two
// Yjs relative positions, which name characters rather than offsets and so survive edits around
// the passage, and the quoted text. The start sticks to the passage's first character, the end
// to its last, so text typed just before or after it stays outside.
//
// A message with an anchor shows the quote. Clicking it finds the passage in the live document,
// scrolls the editor to it and highlights it; while the message is on screen in the chat pane
// the passage is marked in the editor, following the text as it changes; once nothing of the
// passage is left, the message says "passage deleted".
import * as Y from 'yjs'
import { fromBase64, toBase64 } from 'lib0/buffer'
import { StateEffect, StateField } from '@codemirror/state'
import { Decoration, EditorView, keymap } from '@codemirror/view'
import { el } from './chat-dom.js'
import { coalesced } from '../lib/later.js'

/** The server takes quotes of at most this many characters (code points). */
export const MAX_QUOTE = 300

/** `{ marked: [{from, to}], current: {from, to} | null }`: the editor's comment marks. */
const setMarks = StateEffect.define()
const markDeco = Decoration.mark({ class: 'cm-comment-mark' })
const currentDeco = Decoration.mark({ class: 'cm-comment-current' })

const marksField = StateField.define({
  create: () => Decoration.none,
  update (marks, tr) {
    for (const effect of tr.effects) {
      if (effect.is(setMarks)) return buildMarks(effect.value, tr.state.doc.length)
    }
    return tr.docChanged ? marks.map(tr.changes) : marks
  },
  provide: (field) => EditorView.decorations.from(field)
})

const buildMarks = ({ marked, current }, length) => {
  const fits = (r) => r !== null && r.from < r.to && r.to <= length
  const ranges = marked.filter(fits).map((r) => markDeco.range(r.from, r.to))
  if (fits(current)) ranges.push(currentDeco.range(current.from, current.to))
  return Decoration.set(ranges, true)
}

/** The quote of `text`: whole, or cut to fit the server's limit with an ellipsis. */
const quoteOf = (text) => {
  const chars = [...text]
  return chars.length <= MAX_QUOTE ? text : chars.slice(0, MAX_QUOTE - 1).join('') + '…'
}

/**
 * Where an anchor is in the live document: `{from, to}`, `'deleted'` when nothing of the
 * passage is left, or `'unknown'` while this page does not hold the text it names yet (the
 * document is still loading).
 */
export const locate = (anchor, ydoc, ytext) => {
  const index = (encoded) => {
    let rpos
    try {
      rpos = Y.decodeRelativePosition(fromBase64(encoded))
    } catch {
      return 'deleted'
    }
    if (rpos.item !== null && Y.getState(ydoc.store, rpos.item.client) <= rpos.item.clock) return 'unknown'
    const abs = Y.createAbsolutePositionFromRelativePosition(rpos, ydoc)
    return abs !== null && abs.type === ytext ? abs.index : 'deleted'
  }
  const from = index(anchor.start)
  const to = index(anchor.end)
  if (from === 'unknown' || to === 'unknown') return 'unknown'
  if (from === 'deleted' || to === 'deleted' || to <= from) return 'deleted'
  return { from, to }
}

export class Comments {
  /**
   * @param {object} opts
   * @param {Y.Doc} opts.ydoc
   * @param {Y.Text} opts.ytext
   * @param {HTMLButtonElement} opts.button the toolbar's "Comment" button
   * @param {HTMLFormElement} opts.form the chat form (the quote is shown at its top)
   * @param {HTMLTextAreaElement} opts.input the chat box
   * @param {HTMLElement} opts.log the chat log (what is on screen in it gets marked)
   * @param {() => boolean} opts.canComment whether the user may post (not a viewer)
   * @param {(tab: string) => void} opts.showTab brings the chat or the document forward (narrow layout)
   */
  constructor ({ ydoc, ytext, button, form, input, log, canComment, showTab }) {
    Object.assign(this, { ydoc, ytext, button, form, input, canComment, showTab })
    this.view = null
    /** the anchor the next message will carry */
    this.pending = null
    /** the anchor whose quote was clicked last: highlighted until the user selects or types */
    this.current = null
    /** @type {Map<HTMLElement, object>} anchored messages in the log, with their anchors */
    this.anchors = new Map()
    /** @type {Set<HTMLElement>} those on screen */
    this.visible = new Set()
    /** Re-marks once the current change (local or remote) is over. */
    this.schedule = coalesced(() => {
      if (this.view) this.view.dispatch({ effects: this.marksEffect() })
    })

    this.preview = el('div', 'chat-compose-quote')
    this.preview.hidden = true
    this.previewQuote = el('blockquote', 'chat-quote')
    const cancel = el('button', 'chat-compose-cancel', 'Remove')
    cancel.type = 'button'
    cancel.title = 'Send the message without the passage'
    cancel.addEventListener('click', () => {
      this.setPending(null)
      input.focus()
    })
    this.preview.append(el('span', 'chat-compose-label', 'Comment on:'), this.previewQuote, cancel)
    form.prepend(this.preview)

    button.addEventListener('click', () => this.commentOnSelection())
    this.observer = typeof IntersectionObserver === 'function'
      ? new IntersectionObserver((entries) => this.onIntersect(entries), { root: log })
      : null
    ytext.observe(() => this.schedule())
    this.renderButton()
  }

  /** The editor extensions: the marks, the shortcut, and the button following the selection. */
  extension () {
    return [
      marksField,
      keymap.of([{ key: 'Mod-Alt-m', run: () => this.commentOnSelection() }]),
      EditorView.updateListener.of((update) => {
        if (update.selectionSet || update.docChanged) this.renderButton()
        const byUser = update.transactions.some((tr) => ['select', 'input', 'delete'].some((e) => tr.isUserEvent(e)))
        if (byUser && this.current !== null) {
          this.current = null
          this.schedule()
        }
      })
    ]
  }

  attach (view) {
    this.view = view
    this.renderButton()
    this.schedule()
  }

  selection () {
    if (!this.view) return null
    const { from, to } = this.view.state.selection.main
    return from < to ? { from, to } : null
  }

  renderButton () {
    this.button.disabled = this.selection() === null
  }

  /** "Comment": the selected passage goes above the chat box, which gets the focus. */
  commentOnSelection () {
    const range = this.selection()
    if (range === null || !this.canComment()) return false
    const rpos = (index, assoc) =>
      toBase64(Y.encodeRelativePosition(Y.createRelativePositionFromTypeIndex(this.ytext, index, assoc)))
    this.setPending({
      start: rpos(range.from, 0),
      end: rpos(range.to, -1),
      quote: quoteOf(this.view.state.sliceDoc(range.from, range.to))
    })
    this.showTab('chat')
    this.input.focus()
    return true
  }

  setPending (anchor) {
    this.pending = anchor
    this.preview.hidden = anchor === null
    this.previewQuote.textContent = anchor === null ? '' : anchor.quote
  }

  /** The anchor for the message being sent now (none after it). */
  takeAnchor () {
    const anchor = this.pending
    this.setPending(null)
    return anchor
  }

  /** Adds the quote to a chat message `item` that carries `anchor`. */
  decorate (item, anchor) {
    const quote = el('blockquote', 'chat-quote', anchor.quote)
    quote.tabIndex = 0
    quote.setAttribute('role', 'button')
    quote.title = 'Show this passage in the document'
    quote.addEventListener('click', () => this.show(item))
    quote.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' || event.key === ' ') {
        event.preventDefault()
        this.show(item)
      }
    })
    const state = el('p', 'chat-quote-state', 'passage deleted')
    state.hidden = true
    item.querySelector('.chat-text').before(quote, state)
    this.anchors.set(item, anchor)
    this.refreshItem(item)
    if (this.observer) this.observer.observe(item)
  }

  /** The item's message was deleted: its quote and its mark go (the server erased them). */
  undecorate (item) {
    if (!this.anchors.delete(item)) return
    this.visible.delete(item)
    if (this.observer) this.observer.unobserve(item)
    item.querySelector('.chat-quote')?.remove()
    item.querySelector('.chat-quote-state')?.remove()
    item.classList.remove('chat-message--passage-deleted')
    this.schedule()
  }

  /** Marks the item when its passage is gone; returns where the passage is (or null). */
  refreshItem (item) {
    const found = locate(this.anchors.get(item), this.ydoc, this.ytext)
    const deleted = found === 'deleted'
    item.classList.toggle('chat-message--passage-deleted', deleted)
    item.querySelector('.chat-quote-state').hidden = !deleted
    return typeof found === 'object' ? found : null
  }

  /** A click on a quote: the document scrolls to the passage and highlights it. */
  show (item) {
    const range = this.refreshItem(item)
    if (range === null || !this.view) return
    this.current = this.anchors.get(item)
    this.showTab('document')
    this.view.dispatch({ effects: [this.marksEffect(), EditorView.scrollIntoView(range.from, { y: 'center' })] })
  }

  onIntersect (entries) {
    for (const entry of entries) {
      if (entry.isIntersecting) this.visible.add(entry.target)
      else this.visible.delete(entry.target)
    }
    this.schedule()
  }

  /** The marks of the messages on screen (their "passage deleted" notes brought up to date). */
  marksEffect () {
    for (const item of this.anchors.keys()) {
      if (!item.isConnected) {
        this.anchors.delete(item)
        this.visible.delete(item)
        if (this.observer) this.observer.unobserve(item)
      }
    }
    const marked = [...this.visible].map((item) => this.refreshItem(item))
    const current = this.current === null ? null : locate(this.current, this.ydoc, this.ytext)
    return setMarks.of({ marked, current: typeof current === 'object' ? current : null })
  }
}
