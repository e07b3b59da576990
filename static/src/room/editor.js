// The CodeMirror 6 editor bound to the shared Y.Text. Undo and redo go through the
// Y.UndoManager that yCollab sets up, which tracks only this editor's own transactions, so
// Ctrl/Cmd+Z never reverts someone else's typing. CodeMirror's own history() must not be added
// next to it (both would react to the same keys).
//
// The text is highlighted as Markdown, and Enter continues a list or a quote (markdownKeymap
// before the default keys). The document itself stays a plain Y.Text.
import * as Y from 'yjs'
import { Compartment, EditorState } from '@codemirror/state'
import {
  EditorView,
  keymap,
  lineNumbers,
  highlightActiveLine,
  highlightActiveLineGutter,
  drawSelection,
  placeholder
} from '@codemirror/view'
import { defaultKeymap } from '@codemirror/commands'
import { markdownLanguage, markdownKeymap } from '@codemirror/lang-markdown'
import { LanguageSupport, syntaxHighlighting, defaultHighlightStyle } from '@codemirror/language'
import { yCollab, yUndoManagerKeymap } from 'y-codemirror.next'

/**
 * @param {HTMLElement} parent
 * @param {Y.Text} ytext
 * @param {import('y-protocols/awareness').Awareness} awareness
 * @param {import('@codemirror/state').Extension[]} extra more extensions (author colours)
 * @returns {{ view: EditorView, undoManager: Y.UndoManager, setReadOnly: (readOnly: boolean) => void }}
 */
export const createEditor = (parent, ytext, awareness, extra = []) => {
  const undoManager = new Y.UndoManager(ytext)
  // A viewer's editor shows every change live but takes no input; a promotion lifts it in place.
  const access = new Compartment()
  const accessFor = (readOnly) => [EditorState.readOnly.of(readOnly), EditorView.editable.of(!readOnly)]
  const state = EditorState.create({
    doc: ytext.toString(),
    extensions: [
      lineNumbers(),
      highlightActiveLineGutter(),
      highlightActiveLine(),
      drawSelection(),
      EditorView.lineWrapping,
      placeholder('Start writing. Everyone in the room sees your changes as you type.'),
      EditorView.contentAttributes.of({ 'aria-label': 'Shared document', 'aria-multiline': 'true' }),
      // The language alone, not markdown(): that one also bundles the HTML, CSS and JavaScript
      // parsers for embedded HTML (some 300 kB), which a notes editor does not need.
      new LanguageSupport(markdownLanguage),
      syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
      // the yjs undo keys first so that they win over anything in the default keymap; the
      // Markdown Enter/Backspace (list continuation) before the plain ones
      keymap.of([...yUndoManagerKeymap, ...markdownKeymap, ...defaultKeymap]),
      yCollab(ytext, awareness, { undoManager }),
      access.of(accessFor(false)),
      ...extra
    ]
  })
  const view = new EditorView({ state, parent })
  const setReadOnly = (readOnly) => view.dispatch({ effects: access.reconfigure(accessFor(readOnly)) })
  return { view, undoManager, setReadOnly }
}
