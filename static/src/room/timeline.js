// The history panel's time slider: from a chosen version to the next one (or to now), one
// slider position per stored update, showing the text after it with its author(s) and time.
// Where compaction folded the log into snapshots the server sends fewer, coarser steps
// (`complete: false`), and the panel says so.
import { timelineTexts } from './diff-view.js'

const formatTime = (ms) => new Date(ms).toLocaleString()

export class TimeSlider {
  /**
   * @param {object} view
   * @param {HTMLInputElement} view.slider
   * @param {HTMLElement} view.info
   * @param {HTMLElement} view.note
   * @param {HTMLElement} view.text
   */
  constructor ({ slider, info, note, text }) {
    Object.assign(this, { slider, info, note, text })
    this.texts = ['']
    this.steps = []
    this.startLabel = ''
    slider.addEventListener('input', () => this.show(Number(slider.value)))
  }

  /** Shows nothing (no version selected, or loading). */
  clear (message = '') {
    this.texts = ['']
    this.steps = []
    this.slider.max = '0'
    this.slider.value = '0'
    this.slider.disabled = true
    this.info.textContent = message
    this.note.hidden = true
    this.text.textContent = ''
  }

  /**
   * @param {{text: string, complete: boolean, steps: {seq: number, time: number, authors: string[], ops: object[]}[]}} timeline
   * @param {string} startLabel what position 0 is ("the version of …")
   * @param {string} endLabel what the last position is ("now", "the next version")
   */
  load (timeline, startLabel, endLabel) {
    this.steps = Array.isArray(timeline.steps) ? timeline.steps : []
    this.texts = timelineTexts(String(timeline.text ?? ''), this.steps)
    this.startLabel = startLabel
    this.endLabel = endLabel
    this.slider.max = String(this.steps.length)
    this.slider.disabled = this.steps.length === 0
    this.note.hidden = timeline.complete !== false
    this.note.textContent = 'Part of this stretch was compacted: the steps here are coarser than the edits once were.'
    this.slider.value = '0'
    this.show(0)
  }

  show (position) {
    const at = Math.max(0, Math.min(position, this.steps.length))
    this.text.textContent = this.texts[at]
    const of = `Step ${at} of ${this.steps.length}`
    if (at === 0) {
      this.info.textContent = this.steps.length === 0
        ? `No edits between ${this.startLabel} and ${this.endLabel}.`
        : `${of}: ${this.startLabel}.`
      return
    }
    const step = this.steps[at - 1]
    const authors = Array.isArray(step.authors) && step.authors.length > 0 ? step.authors.join(', ') : 'unknown author'
    const end = at === this.steps.length ? ` (${this.endLabel})` : ''
    this.info.textContent = `${of}${end}: by ${authors}, ${formatTime(step.time)}.`
  }
}
