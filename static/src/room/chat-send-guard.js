// The Send button is only enabled when there is something to send: an empty box or one holding
// nothing but spaces and line breaks would be refused by the server anyway ("empty"), so the
// button says so before the round trip, in its tooltip and in a hint under the box.
const EMPTY_TITLE = 'Type a message to send'
const BLANK_HINT = 'Only spaces or line breaks: nothing to send.'

export class SendGuard {
  /**
   * @param {object} opts
   * @param {HTMLFormElement} opts.form
   * @param {HTMLTextAreaElement} opts.input
   */
  constructor ({ form, input }) {
    this.input = input
    this.button = form.querySelector('[type="submit"]')
    this.hint = document.createElement('p')
    this.hint.id = 'chat-send-hint'
    this.hint.className = 'chat-send-hint'
    this.hint.hidden = true
    form.append(this.hint)
    if (this.button) this.button.setAttribute('aria-describedby', this.hint.id)
    input.addEventListener('input', () => this.update())
    this.update()
  }

  /** Re-reads the box; call it after changing the box's value from script. */
  update () {
    if (!this.button) return
    const text = this.input.value
    const blank = text.trim() === ''
    this.button.disabled = blank
    this.button.title = blank ? (text === '' ? EMPTY_TITLE : BLANK_HINT) : ''
    // An empty box needs no explanation; one that looks filled but is not does.
    this.hint.hidden = !(blank && text !== '')
    this.hint.textContent = this.hint.hidden ? '' : BLANK_HINT
  }
}
