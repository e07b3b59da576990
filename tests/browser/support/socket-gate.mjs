// The network between one user's pages and the server, for the room sockets: every socket goes
// through the test (Playwright's `routeWebSocket`), frames pass untouched unless a scenario asks
// otherwise. It can refuse new sockets (the server is unreachable), close the current one, drop
// chosen frames from the server, and hold the frames the page sends from a chosen one on, in
// order, until released (a stalled link). It also keeps the frames of the current socket, so a
// scenario can wait for what the page sent or received.

const MESSAGE_SYNC = 0
const SYNC_STEP2 = 1
const SYNC_UPDATE = 2
const MESSAGE_CHAT = 100

const bytes = (frame) => (typeof frame === 'string' ? null : frame)

/** The JSON object of a chat frame (type 100: a varUint length, then UTF-8 JSON), else null. */
export const chatObject = (frame) => {
  const b = bytes(frame)
  if (b === null || b.length < 2 || b[0] !== MESSAGE_CHAT) return null
  let length = 0
  let i = 1
  for (let shift = 0; i < b.length; shift += 7) {
    const byte = b[i++]
    length += (byte & 0x7f) * 2 ** shift
    if (byte < 0x80) break
  }
  try {
    return JSON.parse(b.subarray(i, i + length).toString('utf8'))
  } catch {
    return null
  }
}

/** A predicate on frames: a chat frame whose `type` is `type` (`since`, `history`, `ack`...). */
export const isChat = (type) => (frame) => chatObject(frame)?.type === type

/** The page's answer to the server's sync step 1: it carries what the server lacks. */
export const isSyncStep2 = (frame) => {
  const b = bytes(frame)
  return b !== null && b[0] === MESSAGE_SYNC && b[1] === SYNC_STEP2
}

/** A frame that carries document changes: a sync step 2 or an update. */
export const isDocumentChange = (frame) => {
  const b = bytes(frame)
  return b !== null && b[0] === MESSAGE_SYNC && (b[1] === SYNC_STEP2 || b[1] === SYNC_UPDATE)
}

export class SocketGate {
  /** Routes the room sockets of every page of `context` through a new gate. */
  static async install (context) {
    const gate = new SocketGate()
    await context.routeWebSocket(/\/ws\//, (page) => gate.route(page))
    return gate
  }

  constructor () {
    this.refusing = false
    /** the page side of the current socket, and its server side */
    this.current = null
    this.currentServer = null
    /** frames of the current socket: what the page sent (that reached the server) and got */
    this.sent = []
    this.received = []
    /** holding starts at the first page frame this accepts; null when not asked to hold */
    this.holdFrom = null
    this.holding = false
    /** @type {Array<{server: import('playwright-core').WebSocketRoute, frame: Buffer | string}>} */
    this.held = []
    /** frames from the server that this accepts never reach the page */
    this.dropFromServer = () => false
  }

  route (page) {
    if (this.refusing) {
      page.close({ code: 3000, reason: 'test: network down' }).catch(() => {})
      return
    }
    const server = page.connectToServer()
    const sent = []
    const received = []
    this.current = page
    this.currentServer = server
    this.sent = sent
    this.received = received
    page.onMessage((frame) => {
      if (!this.holding && this.holdFrom !== null && this.holdFrom(frame)) this.holding = true
      if (this.holding) {
        this.held.push({ server, frame })
      } else {
        sent.push(frame)
        server.send(frame)
      }
    })
    server.onMessage((frame) => {
      if (this.dropFromServer(frame)) return
      received.push(frame)
      page.send(frame)
    })
  }

  /** The server becomes unreachable for new sockets; an open one stays open. */
  refuse () {
    this.refusing = true
  }

  /** New sockets get through again. */
  allow () {
    this.refusing = false
  }

  /** Closes the current socket on the page's side, as a dropped connection would. */
  closeCurrent ({ code = 3001, reason = 'test: connection lost' } = {}) {
    return this.current === null ? Promise.resolve() : this.current.close({ code, reason })
  }

  /** Holds back every frame the page sends from the first one `from` accepts on. */
  hold (from = () => true) {
    this.holdFrom = from
  }

  /** Sends what was held, in order, and lets frames through again. */
  release () {
    const held = this.held
    this.held = []
    this.holdFrom = null
    this.holding = false
    for (const { server, frame } of held) {
      if (server === this.currentServer) this.sent.push(frame)
      server.send(frame)
    }
  }

  heldCount (predicate) {
    return this.held.filter(({ frame }) => predicate(frame)).length
  }

  sentCount (predicate) {
    return this.sent.filter(predicate).length
  }

  receivedCount (predicate) {
    return this.received.filter(predicate).length
  }
}
