// Work deferred until the current update (a local edit or a remote one that y-codemirror is
// applying) is over: CodeMirror refuses a dispatch from inside another one.

/** A function that runs `fn` once, after the current task, however often it is called meanwhile. */
export const coalesced = (fn) => {
  let scheduled = false
  return () => {
    if (scheduled) return
    scheduled = true
    setTimeout(() => {
      scheduled = false
      fn()
    }, 0)
  }
}
