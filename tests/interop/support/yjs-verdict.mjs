// Stock Yjs's verdict on an update: does it apply cleanly, to an empty document and to one
// holding the room's base text, the way a client with an editor bound to the text would meet it?
// "Cleanly" means: `applyUpdate` does not throw (decoding, integration, an observer reading the
// change, or the transaction's cleanup), no transaction is left open, a local edit afterwards
// still emits an update (a client whose cleanup threw never sends one again), and the document's
// whole state loads into a fresh document with the same text.
import * as Y from 'yjs'

/** Far from any id the corpus writes with, so Yjs never sees its own id in an update. */
const OBSERVER_CLIENT = 3_999_999_937

const failed = (why) => ({ clean: false, why })

/** A document bound like an editor is: an observer reads each change of the text. */
const editorDoc = () => {
  const doc = new Y.Doc()
  doc.clientID = OBSERVER_CLIENT
  const text = doc.getText('colabspace')
  text.observe((event) => { void event.delta })
  return { doc, text }
}

/** Applies `update` (after `base`, when given) to an editor-bound document. */
const applyIn = (base, update) => {
  const { doc, text } = editorDoc()
  if (base) Y.applyUpdate(doc, base)
  try {
    Y.applyUpdate(doc, update)
  } catch (error) {
    return failed(`applyUpdate throws: ${error.message}`)
  }
  if (doc._transaction !== null || doc._transactionCleanups.length > 0) return failed('a transaction was left open')
  let value
  let state
  try {
    value = text.toString()
    state = Y.encodeStateAsUpdate(doc)
  } catch (error) {
    return failed(`reading the document throws: ${error.message}`)
  }
  const copy = editorDoc()
  try {
    Y.applyUpdate(copy.doc, state)
  } catch (error) {
    return failed(`its encoded state throws: ${error.message}`)
  }
  if (copy.text.toString() !== value) return failed('its encoded state loads to another text')
  let emitted = 0
  doc.on('update', () => { emitted++ })
  try {
    text.insert(0, '#')
  } catch (error) {
    return failed(`a local edit afterwards throws: ${error.message}`)
  }
  if (emitted !== 1) return failed('a local edit afterwards emits no update')
  return { clean: true, text: value, pending: doc.store.pendingStructs !== null || doc.store.pendingDs !== null }
}

/**
 * Yjs's verdict on `update`: `clean` when it applies cleanly both to an empty document and
 * after `base`; `text` is the text after `base` and `update` (or of `update` alone).
 */
export const yjsVerdict = (base, update) => {
  const fresh = applyIn(null, update)
  if (!fresh.clean) return { ...fresh, where: 'empty document' }
  if (!base) return fresh
  const onBase = applyIn(base, update)
  return onBase.clean ? onBase : { ...onBase, where: 'after the base' }
}

/** The text of a document holding `state` (a server's sync step 2), as a stock client shows it. */
export const yjsText = (state) => {
  const { doc, text } = editorDoc()
  Y.applyUpdate(doc, state)
  return text.toString()
}

/** Whether struct `s` covers the id `id`. */
const covers = (s, id) => s.id.client === id.client && s.id.clock <= id.clock && id.clock < s.id.clock + s.length

/** Whether `id` lies right of `from` in the list of items (both known to `store`). */
const rightOf = (store, from, id) => {
  let item
  try {
    item = Y.getItem(store, from)
  } catch {
    return true // not there: nothing to compare
  }
  if (!(item instanceof Y.Item)) return true
  if (covers(item, id)) return id.clock > from.clock
  for (let o = item.right; o !== null; o = o.right) if (covers(o, id)) return true
  return false
}

/**
 * Whether an item of `update` has its right origin left of its origin once it is applied (after
 * `base`): a shape on which Yjs's own encoding of the result loads to another text, and that
 * the server cannot tell without the document's order of the two origins.
 */
export const hasCrossedOrigins = (base, update) => {
  const { doc } = editorDoc()
  try {
    if (base) Y.applyUpdate(doc, base)
    Y.applyUpdate(doc, update)
  } catch {
    return false
  }
  return Y.decodeUpdate(update).structs.some((s) =>
    s instanceof Y.Item && s.origin !== null && s.rightOrigin !== null && !rightOf(doc.store, s.origin, s.rightOrigin))
}
