// Renders text for the history panel: a version's changes as marked runs (`ins` underlined,
// `del` struck through, each also coloured, so the colour is never the only sign), and the
// time slider's texts, rebuilt from the timeline's edit operations.

/**
 * @param {HTMLElement} target
 * @param {{kind: string, text: string}[]} changes runs from the version's text to the current one
 */
export const renderChanges = (target, changes) => {
  const nodes = changes.map(({ kind, text }) => {
    if (kind === 'inserted') {
      const node = document.createElement('ins')
      node.title = 'added since this version'
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
