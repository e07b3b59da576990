// The clients the tests drive: the stock Yjs client (an unmodified `WebsocketProvider` from
// y-websocket, given a `ws` subclass that sends the session cookie, as Node has no browser
// cookie jar) and a raw socket for frames a stock client never sends (chat, type 100).
import WebSocket from 'ws'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import { eventually, within } from './wait.mjs'

/** The chat message type of docs/protocol.md. */
export const MESSAGE_CHAT = 100

/** One chat frame: varUint 100, then the JSON of `object` as a lib0 varString. */
export const chatFrame = (object) => {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, MESSAGE_CHAT)
  encoding.writeVarString(encoder, JSON.stringify(object))
  return encoding.toUint8Array(encoder)
}

/** Every socket opened by the tests, so that cleanup can make sure none is left open. */
const sockets = new Set()

/**
 * A `WebSocket` class for `WebSocketPolyfill`: the `ws` client with a `Cookie` header (none when
 * `cookie` is empty). `log` counts the connection attempts and the message type of every frame
 * received, which the provider itself does not expose. An `observer` sees every frame the
 * provider sends (`sent(socket, bytes)`, before it goes out) and receives (`received(socket,
 * bytes)`), with the socket it went over.
 */
const cookieWebSocket = (cookie, log, observer) =>
  class CookieWebSocket extends WebSocket {
    constructor (url, protocols) {
      super(url, protocols, cookie ? { headers: { cookie } } : {})
      sockets.add(this)
      this.once('close', () => sockets.delete(this))
      log.attempts++
      this.on('message', (data) => {
        const bytes = new Uint8Array(data)
        log.frameTypes.push(bytes[0])
        observer?.received(this, bytes)
      })
    }

    send (data, ...rest) {
      observer?.sent(this, data instanceof Uint8Array ? data : new Uint8Array(data))
      return super.send(data, ...rest)
    }
  }

/** Closes whatever sockets are still open (waiting briefly for close handshakes to finish). */
export const closeStraySockets = async () => {
  const open = [...sockets].filter((s) => s.readyState !== WebSocket.CLOSED)
  await within('sockets to close', 2_000, Promise.all(open.map((s) => new Promise((resolve) => {
    if (s.readyState === WebSocket.CLOSED) return resolve()
    s.once('close', resolve)
    if (s.readyState === WebSocket.OPEN) s.close()
  })))).catch(() => {})
  for (const s of sockets) s.terminate()
  sockets.clear()
}

/** One person with the stock client: a `Y.Doc` synced through `WebsocketProvider`. */
export class StockClient {
  /**
   * @param {{ wsBase: string, room: string, cookie?: string, name: string,
   *   connect?: boolean, providerOptions?: object,
   *   observer?: { sent: (socket: WebSocket, bytes: Uint8Array) => void,
   *     received: (socket: WebSocket, bytes: Uint8Array) => void } }} options
   */
  constructor ({ wsBase, room, cookie = '', name, connect = true, providerOptions = {}, observer }) {
    this.name = name
    this.room = room
    this.doc = new Y.Doc()
    this.text = this.doc.getText('colabspace')
    /** connection attempts and the type of every frame received, over all attempts */
    this.log = { attempts: 0, frameTypes: [] }
    /** close codes of the provider's `connection-close` events (null when it closed itself) */
    this.closeCodes = []
    /** `closed` events: the server said not to reconnect */
    this.terminal = []
    this.statuses = []
    this.providerOptions = {
      WebSocketPolyfill: cookieWebSocket(cookie, this.log, observer),
      disableBc: true,
      ...providerOptions
    }
    this.provider = this.connectTo(wsBase, { connect })
    this.awareness = this.provider.awareness
  }

  /** A provider for this client's document on the room at `wsBase`. */
  connectTo (wsBase, options) {
    const provider = new WebsocketProvider(wsBase, this.room, this.doc, { ...this.providerOptions, ...options })
    provider.on('connection-close', (event) => this.closeCodes.push(event ? event.code : null))
    provider.on('closed', (event) => this.terminal.push(event.code))
    provider.on('status', ({ status }) => this.statuses.push(status))
    return provider
  }

  /**
   * Continues on another server (another node of a cluster), as a load balancer would send a
   * client whose server is gone: a new provider on the same document and presence, so that
   * whatever was typed meanwhile is sent by the usual sync.
   */
  moveTo (wsBase) {
    this.provider.destroy()
    this.provider = this.connectTo(wsBase, { awareness: this.awareness })
  }

  get value () {
    return this.text.toString()
  }

  get connected () {
    return this.provider.wsconnected && this.provider.synced
  }

  insert (index, content) {
    this.text.insert(index, content)
  }

  delete (index, length) {
    this.text.delete(index, length)
  }

  /** Resolves once the provider is connected and has the server's sync step 2. */
  waitSynced () {
    return eventually(`${this.name} to connect and sync`, () => this.connected, {
      describe: () => `statuses ${JSON.stringify(this.statuses)}, close codes ${JSON.stringify(this.closeCodes)}`
    })
  }

  destroy () {
    if (this.destroyed) return
    this.destroyed = true
    this.provider.destroy()
    this.doc.destroy()
  }
}

/**
 * A plain socket on a room, for chat frames. It ignores the sync and awareness frames the
 * server sends and keeps the chat objects it receives.
 */
export class ChatSocket {
  constructor (wsBase, room, cookie) {
    this.chat = []
    this.closeCode = null
    this.socket = new WebSocket(`${wsBase}/${room}`, { headers: { cookie } })
    sockets.add(this.socket)
    this.socket.binaryType = 'arraybuffer'
    this.firstFrame = new Promise((resolve) => this.socket.once('message', resolve))
    this.socket.on('message', (data) => {
      const decoder = decoding.createDecoder(new Uint8Array(data))
      if (decoding.readVarUint(decoder) === MESSAGE_CHAT) this.chat.push(JSON.parse(decoding.readVarString(decoder)))
    })
    this.socket.on('close', (code) => {
      this.closeCode = code
      sockets.delete(this.socket)
    })
    this.opened = within('the chat socket to open', 10_000, new Promise((resolve, reject) => {
      this.socket.once('open', resolve)
      this.socket.once('error', reject)
    }))
  }

  /**
   * Resolves once the server's first frame has arrived: it sends its sync step 1 once the room is
   * loaded, and a room subscribes to the other nodes' news before it loads.
   */
  joined () {
    return within('the chat socket\'s first frame', 10_000, this.firstFrame)
  }

  /** Sends one chat object: varUint 100, then the JSON as a lib0 varString. */
  send (object) {
    this.socket.send(chatFrame(object))
  }

  close () {
    this.socket.close()
  }
}
