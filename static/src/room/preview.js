// The Markdown preview of the shared text and the Edit / Side by side / Preview switch.
//
// The preview is rendered from the live Y.Text (so it follows everyone's typing, debounced) and
// always goes through DOMPurify before it touches the page: the text is written by every editor
// of the room, so a `<script>`, an `onerror=` or a `javascript:` link in it must never run for
// the others. The chosen mode is remembered per browser.
import { marked } from 'marked'
import DOMPurify from 'dompurify'

const MODES = ['edit', 'split', 'preview']
const STORAGE_KEY = 'chatspace:doc-mode'
/** Typing bursts re-render once; long documents are not parsed on every keystroke. */
const RENDER_DELAY_MS = 150

const readMode = () => {
  try {
    const stored = localStorage.getItem(STORAGE_KEY)
    return MODES.includes(stored) ? stored : 'edit'
  } catch {
    return 'edit'
  }
}

const storeMode = (mode) => {
  try {
    localStorage.setItem(STORAGE_KEY, mode)
  } catch {
    // storage refused (private mode): the choice lasts for this page only
  }
}

// Links from the document open in a new tab and pass nothing to the site they lead to.
DOMPurify.addHook('afterSanitizeAttributes', (node) => {
  if (node.tagName === 'A' && node.hasAttribute('href')) {
    node.setAttribute('target', '_blank')
    node.setAttribute('rel', 'noopener noreferrer nofollow')
  }
})

/** Safe DOM for `text`: Markdown (GitHub flavour) through DOMPurify's defaults, no forms or styles. */
export const renderMarkdown = (text) =>
  DOMPurify.sanitize(marked.parse(text, { async: false, gfm: true }), {
    RETURN_DOM_FRAGMENT: true,
    FORBID_TAGS: ['style', 'form', 'input', 'button', 'textarea', 'select'],
    FORBID_ATTR: ['style']
  })

export class DocPreview {
  /**
   * @param {object} opts
   * @param {HTMLElement} opts.panel the document panel; its data-doc-mode drives the layout
   * @param {HTMLElement} opts.output where the rendered preview goes
   * @param {HTMLElement} opts.switcher the group of mode buttons (each with data-mode)
   * @param {import('yjs').Text} opts.ytext
   */
  constructor ({ panel, output, switcher, ytext }) {
    this.panel = panel
    this.output = output
    this.ytext = ytext
    this.buttons = [...switcher.querySelectorAll('button[data-mode]')]
    this.timer = null
    this.buttons.forEach((button) =>
      button.addEventListener('click', () => this.setMode(button.dataset.mode, { remember: true })))
    ytext.observe(() => this.schedule())
    this.setMode(readMode(), { remember: false })
  }

  setMode (mode, { remember }) {
    if (!MODES.includes(mode)) return
    this.mode = mode
    this.panel.dataset.docMode = mode
    this.buttons.forEach((button) => button.setAttribute('aria-pressed', String(button.dataset.mode === mode)))
    if (remember) storeMode(mode)
    if (mode !== 'edit') this.render()
  }

  /** Re-render soon, when the preview is shown; hidden, it is rendered when it is next shown. */
  schedule () {
    if (this.mode === 'edit' || this.timer !== null) return
    this.timer = setTimeout(() => {
      this.timer = null
      this.render()
    }, RENDER_DELAY_MS)
  }

  render () {
    this.output.replaceChildren(renderMarkdown(this.ytext.toString()))
  }
}
