// The two badges in the document toolbar: the connection (#connection-status) and whether local
// edits have reached the server (#sync-status). Each carries a `data-state` for styling and tests.

/** Close codes after which y-websocket 3 stops reconnecting (docs/protocol.md). */
const TERMINAL_REASONS = {
  4400: 'Disconnected: the server could not read a message. Reload the page.',
  4401: 'Disconnected: you are signed out. Log in again.',
  4403: 'Disconnected: connection refused.',
  4404: 'Disconnected: this room does not exist.',
  4405: 'Disconnected: you no longer have access to this room.',
  4409: 'Disconnected: too many rooms open at once. Close some tabs and reload the page.',
  4410: 'Disconnected: the room cannot be loaded right now.',
  4429: 'Disconnected: too many messages. Reload the page.'
}

export const terminalReason = (code) =>
  TERMINAL_REASONS[code] ?? `Disconnected (code ${code}). Reload the page.`

const setBadge = (node, state, text) => {
  if (!node) return
  if (node.dataset.state !== state) node.dataset.state = state
  if (node.textContent !== text) node.textContent = text
}

/**
 * @param {object} view
 * @param {HTMLElement} view.connectionEl
 * @param {HTMLElement} view.syncEl
 * @param {object} state
 * @param {boolean} state.online navigator.onLine
 * @param {boolean} state.synced the socket is open and the initial sync is done
 * @param {boolean} state.everConnected
 * @param {{code: number} | null} state.closed why the server ended the connection for good
 * @param {boolean} state.unsaved
 * @param {boolean} state.confirmed the server has confirmed our state at least once
 */
export const renderStatus = ({ connectionEl, syncEl }, state) => {
  if (state.closed) {
    setBadge(connectionEl, 'closed', terminalReason(state.closed.code))
  } else if (!state.online) {
    setBadge(connectionEl, 'offline', 'Offline')
  } else if (state.synced) {
    setBadge(connectionEl, 'connected', 'Connected')
  } else if (state.everConnected) {
    setBadge(connectionEl, 'reconnecting', 'Reconnecting…')
  } else {
    setBadge(connectionEl, 'connecting', 'Connecting…')
  }

  if (state.unsaved) {
    if (state.synced) setBadge(syncEl, 'saving', 'Saving…')
    else setBadge(syncEl, 'unsaved', 'Unsaved changes')
  } else if (state.confirmed) {
    setBadge(syncEl, 'saved', 'All changes saved')
  } else {
    setBadge(syncEl, 'idle', '')
  }
}
