// Entry point of the room page (bundled to static/dist/room.js).
//
// One Y.Doc per page holds the room's shared text. It is filled from IndexedDB first (edits made
// offline survive a reload), then kept in sync with the server through the stock y-websocket
// provider, whose socket also carries the room's chat (message type 100, docs/protocol.md).
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import { IndexeddbPersistence } from 'y-indexeddb'
import { userColor } from './lib/colors.js'
import { ChatChannel } from './room/chat-channel.js'
import { ChatPanel } from './room/chat.js'
import { SyncTracker } from './room/sync-tracker.js'
import { bindPresence } from './room/presence.js'
import { renderStatus } from './room/status.js'
import { createEditor } from './room/editor.js'
import { RoomAccess } from './room/access.js'
import { HistoryPanel } from './room/history.js'
import { AuthorColours } from './room/author-colours.js'
import { DocPreview } from './room/preview.js'
import { RoomTabs } from './room/tabs.js'
import { SendGuard } from './room/chat-send-guard.js'
import { ChatUnread } from './room/chat-unread.js'
import { Comments } from './room/comments.js'

/** How long to wait for IndexedDB before showing the editor anyway (it fills in when ready). */
const LOCAL_LOAD_TIMEOUT_MS = 3000

// Each user's copy apart: edits one user made offline in this browser must never be sent up by
// another user signing in here (the server refuses updates under someone else's client ids).
const openLocalCopy = (username, room, ydoc) => {
  try {
    return new IndexeddbPersistence(`chatspace:${username.toLowerCase()}:${room.toLowerCase()}`, ydoc)
  } catch (error) {
    // No IndexedDB (some private modes): the page still works, without offline persistence.
    console.warn('chatspace: offline storage unavailable', error)
    return null
  }
}

const whenLocalLoaded = (persistence) =>
  persistence === null
    ? Promise.resolve()
    : Promise.race([
      persistence.whenSynced,
      new Promise((resolve) => setTimeout(resolve, LOCAL_LOAD_TIMEOUT_MS))
    ])

const start = async (root) => {
  const room = root.dataset.room
  const username = root.dataset.username
  const byId = (id) => document.getElementById(id)

  const ydoc = new Y.Doc()
  const ytext = ydoc.getText('colabspace')
  const persistence = openLocalCopy(username, room, ydoc)

  const wsBase = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`
  // Connect only once the local copy is loaded, so that our first sync step 2 already carries
  // the edits made offline.
  const provider = new WebsocketProvider(wsBase, room, ydoc, { connect: false })
  const awareness = provider.awareness
  awareness.setLocalStateField('user', { name: username, ...userColor(username) })

  const access = new RoomAccess({
    root,
    summary: byId('room-access'),
    editor: byId('editor'),
    chatForm: byId('chat-form')
  })

  const tabs = new RoomTabs({ root, tablist: byId('room-tabs'), unread: byId('chat-unread') })
  const sendGuard = new SendGuard({ form: byId('chat-form'), input: byId('chat-input') })
  const comments = new Comments({
    ydoc,
    ytext,
    button: byId('comment-selection'),
    form: byId('chat-form'),
    input: byId('chat-input'),
    log: byId('chat-log'),
    canComment: () => !access.readOnly,
    showTab: (tab) => tabs.select(tab)
  })
  const chat = new ChatPanel({
    comments,
    docSynced: () => provider.synced,
    room,
    username,
    log: byId('chat-log'),
    form: byId('chat-form'),
    input: byId('chat-input'),
    onSent: () => {
      sendGuard.update()
      unread.onSent()
    }
  })
  const unread = new ChatUnread({ pane: byId('chat-panel'), chat, tabs, username })
  tabs.onSelect = () => unread.check()
  const channel = new ChatChannel(provider, {
    onAck: (message) => chat.onAck(message),
    onMessage: (message) => {
      chat.onMessage(message)
      unread.onChatMessage(message)
    },
    onRejected: (clientId, reason) => chat.onRejected(clientId, reason),
    onUpdated: (message) => chat.onUpdated(message),
    onChangeRejected: (id, reason) => chat.onChangeRejected(id, reason),
    onHistory: (messages) => chat.onHistory(messages),
    onRole: (role) => access.setRole(role)
  })
  chat.attach(channel)

  const connection = { everConnected: false, closed: null }
  const statusView = { connectionEl: byId('connection-status'), syncEl: byId('sync-status') }
  const render = () =>
    renderStatus(statusView, {
      online: navigator.onLine,
      synced: provider.wsconnected && provider.synced,
      everConnected: connection.everConnected,
      closed: connection.closed,
      unsaved: tracker.unsaved,
      confirmed: tracker.confirmedOnce
    })
  const tracker = new SyncTracker({ ydoc, provider, channel, chat, persistence, room, username, onChange: render })

  provider.on('status', ({ status }) => {
    if (status === 'connected') {
      connection.everConnected = true
      chat.onConnected()
    } else {
      chat.onDisconnected()
    }
    render()
  })
  provider.on('sync', (synced) => {
    if (synced) chat.onDocSynced()
    render()
  })
  // The server ended the connection for good (close code 4400-4499); y-websocket stops retrying.
  provider.on('closed', ({ code }) => {
    connection.closed = { code }
    render()
  })
  // The browser knows before the socket does: stop writing into a dead connection and let
  // everything queue locally; reconnect as soon as the network is back.
  window.addEventListener('offline', () => {
    provider.disconnect()
    render()
  })
  window.addEventListener('online', () => {
    if (connection.closed === null) provider.connect()
    render()
  })

  bindPresence(awareness, byId('presence'), username)
  render()
  chat.loadLatest()

  const authorColours = new AuthorColours({
    ytext,
    ownClientId: ydoc.clientID,
    username,
    fetchAuthors: () => historyPanel.api.authors(),
    button: byId('author-colours')
  })
  const historyPanel = new HistoryPanel({
    room,
    root,
    byId,
    currentText: () => ytext.toString(),
    authorsOf: (ranges) => authorColours.authorsOf(ranges)
  })
  ytext.observe(() => historyPanel.documentChanged())
  // eslint-disable-next-line no-new
  new DocPreview({ panel: byId('doc-panel'), output: byId('doc-preview'), switcher: byId('doc-mode'), ytext })

  await whenLocalLoaded(persistence)
  const editor = createEditor(byId('editor'), ytext, awareness, [authorColours.extension(), comments.extension()])
  authorColours.attach(editor.view)
  comments.attach(editor.view)
  access.bindEditor(editor.setReadOnly)
  if (navigator.onLine) provider.connect()
  root.dataset.ready = 'true'
}

const root = document.getElementById('room')
if (root) start(root)
