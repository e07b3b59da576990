// What the user may do in the room, as the server says: `data-role` on #room when the page is
// rendered, then the socket's `role` frames (docs/protocol.md, "Roles") whenever it changes.
// A viewer's editor is read-only with a note above it, and the chat box is replaced by a note.
// The server enforces the same on the socket; this only keeps the page honest about it.

const canEdit = (role) => role === 'owner' || role === 'editor'

const ARTICLE = { owner: 'an owner', editor: 'an editor', viewer: 'a viewer' }

/** A hidden note placed before `next`. */
const note = (id, text, next) => {
  const node = document.createElement('p')
  node.id = id
  node.className = 'readonly-note'
  node.textContent = text
  node.hidden = true
  next.before(node)
  return node
}

export class RoomAccess {
  /**
   * @param {object} view
   * @param {HTMLElement} view.root #room, whose `data-role` is kept up to date (for styling)
   * @param {HTMLElement | null} view.summary #room-access ("public · You are an editor.")
   * @param {HTMLElement} view.editor #editor; a note goes above it while it is read-only
   * @param {HTMLFormElement} view.chatForm replaced by a note while the user may not chat
   */
  constructor ({ root, summary, editor, chatForm }) {
    this.root = root
    this.summary = summary
    this.editorNote = note('editor-readonly-note',
      'You can read this document and follow the changes live, but not edit it: you are a viewer in this room.',
      editor)
    this.chatForm = chatForm
    this.chatNote = note('chat-readonly-note', 'Viewers can read the chat but not post to it.', chatForm)
    /** @type {(readOnly: boolean) => void} set once the editor exists */
    this.onEditable = () => {}
    this.role = root.dataset.role || 'editor'
    this.render()
  }

  get readOnly () {
    return !canEdit(this.role)
  }

  /** The editor to make read-only or editable with the role. */
  bindEditor (setReadOnly) {
    this.onEditable = setReadOnly
    setReadOnly(this.readOnly)
  }

  /** The server's `role` frame. */
  setRole (role) {
    if (!(role in ARTICLE) || role === this.role) return
    this.role = role
    this.render()
    this.onEditable(this.readOnly)
  }

  render () {
    const readOnly = this.readOnly
    this.root.dataset.role = this.role
    this.editorNote.hidden = !readOnly
    this.chatNote.hidden = !readOnly
    this.chatForm.hidden = readOnly
    const sentence = this.summary?.lastChild
    if (sentence && sentence.nodeType === Node.TEXT_NODE) {
      sentence.textContent = ` You are ${ARTICLE[this.role]}.`
    }
  }
}
