// The Rust client: `chatspace-load client`, a yrs document on a room socket driven through JSON
// lines. Commands go to its stdin (`{"op":"insert","index":N,"text":…}`, `{"op":"delete",
// "index":N,"len":N}`, `{"op":"text"}`, `{"op":"disconnect"}`, `{"op":"connect"}`,
// `{"op":"quit"}`; indices in UTF-16 units, like JavaScript strings); events come from its
// stdout (`synced`, `text`, `disconnected`, `closed`, `error`).
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { binary } from '../../support/server.mjs'
import { within } from './wait.mjs'

export const rustClientBinary = () => binary('CHATSPACE_LOAD_BIN', 'chatspace-load')

export class RustClient {
  /**
   * @param {{ wsBase: string, room: string, cookie: string, name: string }} options
   */
  constructor ({ wsBase, room, cookie, name }) {
    const bin = rustClientBinary()
    if (!existsSync(bin)) {
      throw new Error(`chatspace-load not found at ${bin}: run \`cargo build --release -p chatspace-load\` or set CHATSPACE_LOAD_BIN`)
    }
    this.name = name
    /** every event in order of arrival */
    this.events = []
    /** stdout lines that were not JSON events, and the tail of stderr, for failure messages */
    this.garbage = []
    this.stderr = ''
    this.waiters = new Set()
    this.child = spawn(bin, ['client', '--url', `${wsBase}/${room}`, '--cookie', cookie], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1' }
    })
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })))
    this.exit = null
    this.exited.then((exit) => {
      this.exit = exit
      this.notify()
    })
    // A client that died must not take the test runner down with EPIPE.
    this.child.stdin.on('error', () => {})
    this.child.stderr.on('data', (chunk) => { this.stderr = (this.stderr + chunk).slice(-4_000) })
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      if (line.trim() === '') return
      try {
        this.events.push(JSON.parse(line))
      } catch {
        this.garbage.push(line)
      }
      this.notify()
    })
  }

  notify () {
    for (const waiter of this.waiters) waiter()
  }

  get errors () {
    return this.events.filter((e) => e.event === 'error')
  }

  describe () {
    const last = this.events.slice(-5).map((e) => JSON.stringify(e)).join('\n  ')
    return `${this.name}: exit ${JSON.stringify(this.exit)}, last events:\n  ${last}\n` +
      `non-JSON stdout: ${JSON.stringify(this.garbage.slice(-5))}\nstderr tail:\n${this.stderr.slice(-1_500)}`
  }

  /** The first event from index `from` on that satisfies `accept`. */
  next (what, accept, { from = 0, timeout = 15_000 } = {}) {
    let waiter
    const found = new Promise((resolve, reject) => {
      waiter = () => {
        const event = this.events.slice(from).find(accept)
        if (event) resolve(event)
        else if (this.exit) reject(new Error(`${this.name} exited while waiting for ${what}\n${this.describe()}`))
      }
      this.waiters.add(waiter)
      waiter()
    })
    return within(`${this.name} to report ${what}\n${this.describe()}`, timeout, found)
      .finally(() => this.waiters.delete(waiter))
  }

  send (command) {
    this.child.stdin.write(JSON.stringify(command) + '\n')
  }

  waitSynced () {
    return this.next('synced', (e) => e.event === 'synced')
  }

  insert (index, text) {
    this.send({ op: 'insert', index, text })
  }

  delete (index, len) {
    this.send({ op: 'delete', index, len })
  }

  /**
   * Asks for the text and returns the first `text` event after the question that `accept`s it
   * (the client may also report text on its own; `accept` lets a caller skip older ones).
   */
  async text (accept = () => true) {
    const from = this.events.length
    this.send({ op: 'text' })
    const event = await this.next('its text', (e) => e.event === 'text' && accept(e.text), { from })
    return event.text
  }

  /** Asks it to quit; kills it when it has not exited after 5 s. */
  async quit () {
    if (this.exit) return this.exit
    this.send({ op: 'quit' })
    this.child.stdin.end()
    try {
      return await within(`${this.name} to quit`, 5_000, this.exited)
    } catch {
      this.child.kill('SIGKILL')
      return this.exited
    }
  }
}
