// Renders text for the history panel: a version's changes as marked runs (`ins` underlined,
// `del` struck through, each also coloured, so the colour is never the only sign), and the
// time slider's texts, rebuilt from the timeline's edit operations.

/**
 * Where the inserted runs of `changes` sit in the current text: `[from, to]` in UTF-16 units,
 * or null when the runs do not spell `current` (the page's text has moved on since).
 */
export const insertedRanges = (changes, current) => {
  const ranges = []
  let at = 0
  let spelled = ''
  for (const { kind, text } of changes) {
    if (kind === 'deleted') continue
    if (kind === 'inserted') ranges.push([at, at + text.length])
    at += text.length
    spelled += text
  }
  return spelled === current ? ranges : null
}

/**
 * @param {HTMLElement} target
 * @param {{kind: string, text: string}[]} changes runs from the version's text to the current one
 * @param {string[][] | null} authors who wrote each inserted run, in order, when known
 */
export const renderChanges = (target, changes, authors = null) => {
  let inserted = 0
  const nodes = changes.map(({ kind, text }) => {
    if (kind === 'inserted') {
      const node = document.createElement('ins')
      const names = authors?.[inserted++] ?? []
      node.title = names.length > 0 ? `added since this version by ${names.join(', ')}` : 'added since this version'
      if (names.length > 0) node.dataset.authors = names.join(', ')
      node.textContent = text
      return node
    }
    if (kind === 'deleted') {
      const node = document.createElement('del')
      node.title = 'removed since this version'
      node.textContent = text
      return node
    }
    return document.createTextNode(text)
  })
  const writers = [...new Set((authors ?? []).flat())]
  if (writers.length > 0) {
    const by = document.createElement('p')
    by.className = 'help diff-authors'
    by.textContent = `Added since by ${writers.join(', ')}.`
    nodes.unshift(by)
  }
  if (!changes.some((c) => c.kind !== 'same')) {
    const same = document.createElement('p')
    same.className = 'help'
    same.textContent = 'No changes: the current text is the same.'
    nodes.unshift(same)
  }
  target.replaceChildren(...nodes)
}

/**
 * Applies one step's operations (`{retain: n} | {insert: s} | {delete: n}`, in UTF-16 units,
 * which JavaScript strings index by) to `text`. Whatever the operations leave untouched at the
 * end is kept.
 */
export const applyOps = (text, ops) => {
  let out = ''
  let at = 0
  for (const op of ops) {
    if (typeof op.retain === 'number') {
      out += text.slice(at, at + op.retain)
      at += op.retain
    } else if (typeof op.insert === 'string') {
      out += op.insert
    } else if (typeof op.delete === 'number') {
      at += op.delete
    }
  }
  return out + text.slice(at)
}

/** The text before the first step and after each: `steps.length + 1` texts. */
export const timelineTexts = (start, steps) => {
  const texts = [start]
  for (const step of steps) texts.push(applyOps(texts[texts.length - 1], step.ops ?? []))
  return texts
}
