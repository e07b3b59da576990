// Crash trials: the server is killed (SIGKILL) at random moments while stock clients type and
// chat, and restarted on the same database and port; afterwards nothing it acknowledged may be
// missing. One server and one database serve every trial of a run, so damage left by one crash
// is there for the next.
//
// Two rooms, three users in each:
// - "live": the same three clients throughout; y-websocket reconnects them by itself and they
//   send what the server lost (their sync step 2). This checks reconnection and convergence.
// - "durable": at every crash its clients are destroyed while the server is down and fresh
//   ones (empty documents) join after the restart, so nothing but the database can bring the
//   text back. This checks the server's own promise at every crash.
// After every restart, fresh clients in both rooms must hold every marker that an answered
// `since` covered before the crash (and nobody deleted), and the history endpoint must hold
// every acknowledged chat message. At the end everyone stops, has all edits confirmed and all
// chat acknowledged, the clients must agree with each other and with a fresh client, then one
// last crash with every client destroyed: a fresh client must get exactly that text back.
import { setTimeout as sleep } from 'node:timers/promises'
import { Harness } from './harness.mjs'
import { MESSAGE_CHAT } from './clients.mjs'
import { uniqueName } from './accounts.mjs'
import { seededSource } from './random.mjs'
import { TrialClient, RoomBook, MARKER } from './trial-client.mjs'
import { eventually } from './wait.mjs'

const USERS = ['alice', 'bob', 'carol']
/** Missing items listed per failure. */
const SHOWN = 10

/** The markers of a text, and whatever in it is not a marker or is one twice. */
const parse = (text) => {
  const present = new Set()
  const duplicates = []
  let covered = 0
  for (const [marker] of text.matchAll(MARKER)) {
    if (present.has(marker)) duplicates.push(marker)
    present.add(marker)
    covered += marker.length
  }
  return { present, duplicates, stray: text.length - covered }
}

/** Every message of a room's history through `GET /rooms/{name}/messages`, oldest first. */
const history = async (user, room) => {
  const messages = []
  let before = null
  for (;;) {
    const query = before === null ? 'limit=200' : `limit=200&before=${before}`
    const response = await user.request('GET', `/rooms/${room}/messages?${query}`)
    if (response.status !== 200) throw new Error(`GET /rooms/${room}/messages answered ${response.status}`)
    const page = JSON.parse(response.text)
    messages.unshift(...page.messages)
    if (!page.more || page.messages.length === 0) return messages
    before = page.messages[0].id
  }
}

/**
 * Runs `trials` crash trials and returns the figures; `failures` lists every broken promise.
 * @param {{ trials: number, seed: number, trialMs?: [number, number], compactAfter?: number,
 *   log?: (line: string) => void }} options `trialMs`: how long the clients work before each
 *   crash (drawn uniformly); `compactAfter`: the server's `--compact-after-updates`, low so that
 *   crashes also meet compactions
 */
export const runCrashTrials = async ({ trials, seed, trialMs = [300, 2500], compactAfter = 300, log = () => {} }) => {
  const started = Date.now()
  const clock = () => Date.now() - started
  const random = seededSource(seed, 0)
  const figures = {
    seed,
    trials: 0,
    kills: 0,
    /** acknowledged chat messages in the final check, and checks of one message over the run */
    chatAcked: 0,
    chatChecks: 0,
    /** covered markers in the final check, and checks of one marker over the run */
    markersCovered: 0,
    markerChecks: 0,
    /** markers typed in the durable room, never covered, gone after the crash (allowed) */
    uncoveredLost: 0,
    failures: []
  }
  const harness = new Harness({ serverArgs: ['--compact-after-updates', String(compactAfter)] })
  let streams = 0
  let instances = 0
  let trial = 0
  /** missing markers and messages already reported: a loss is a failure once, not at every later check */
  const reported = new Set()
  const fail = (room, what, detail = '') => {
    figures.failures.push({ trial, room, what, detail })
    log(`  FAILURE (trial ${trial}, ${room}): ${what}${detail ? `\n    ${detail}` : ''}`)
  }

  try {
    await harness.server.start()
    const users = await Promise.all(USERS.map((name) => harness.user(name)))
    const live = new RoomBook(await users[0].createRoom(uniqueName('live')))
    const durable = new RoomBook(await users[0].createRoom(uniqueName('durable')))
    const books = [live, durable]
    const client = (book, user, letter) => new TrialClient({
      harness, user, book, tag: `${letter}${++instances}`, random: seededSource(seed, ++streams), clock
    })
    const liveClients = users.map((user, i) => client(live, user, 'abc'[i]))
    let durableClients = users.map((user, i) => client(durable, user, 'def'[i]))
    const everyone = () => [...liveClients, ...durableClients]
    await Promise.all(everyone().map((c) => c.stock.waitSynced()))
    for (const c of everyone()) c.start()

    /** A fresh client's text: what the server alone holds for the room. */
    const fresh = async (book) => {
      const reader = harness.stock(users[0], book.name, `fresh reader of ${book.name}`)
      reader.provider.messageHandlers[MESSAGE_CHAT] = () => {} // chat is not its business
      await reader.waitSynced()
      const text = reader.value
      reader.destroy()
      return text
    }

    /** The markers of `required` (minus those deleted by now) must be in `text`, intact, once. */
    const checkMarkers = (book, text, required, where) => {
      const { present, duplicates, stray } = parse(text)
      if (duplicates.length > 0) fail(book.name, `${where}: markers twice in the text`, duplicates.slice(0, SHOWN).join(' '))
      if (stray > 0) fail(book.name, `${where}: ${stray} characters that belong to no marker`)
      const wanted = required.filter((m) => !book.deleted.has(m))
      figures.markerChecks += wanted.length
      const missing = wanted.filter((m) => !present.has(m) && !reported.has(m))
      for (const m of missing) reported.add(m)
      if (missing.length > 0) {
        const detail = missing.slice(0, SHOWN).map((m) => {
          const { client: c, edit, at } = book.markers.get(m)
          return `${m} typed at ${at} ms as edit ${edit} of ${c.tag}, covered by a since answered at ${c.confirmedAt} ms (edits confirmed ${c.confirmedEdits})`
        }).join('\n    ')
        fail(book.name, `${where}: ${missing.length} of ${wanted.length} covered markers newly missing`, detail)
      }
      return { present, wanted: wanted.length }
    }

    /** The messages of `acked` must be in the history, once, as acknowledged. */
    const checkChat = async (book, acked, where) => {
      const stored = await history(users[0], book.name)
      const byKey = new Map()
      for (const m of stored) {
        const key = `${m.author}/${m.client_id}`
        if (byKey.has(key) && !reported.has(`twice ${key}`)) {
          reported.add(`twice ${key}`)
          fail(book.name, `${where}: message ${key} stored twice`)
        }
        byKey.set(key, m)
      }
      figures.chatChecks += acked.length
      const wrong = acked.filter(([author, clientId, ack]) => {
        const m = byKey.get(`${author}/${clientId}`)
        return (!m || m.id !== ack.id || m.text !== ack.text) && !reported.has(`${author}/${clientId}`)
      })
      for (const [author, clientId] of wrong) reported.add(`${author}/${clientId}`)
      if (wrong.length > 0) {
        fail(book.name, `${where}: ${wrong.length} of ${acked.length} acknowledged messages newly missing or changed`,
          wrong.slice(0, SHOWN).map(([author, clientId, ack]) => `${author}/${clientId}: acked ${JSON.stringify(ack)}, stored ${JSON.stringify(byKey.get(`${author}/${clientId}`))}`).join('\n    '))
      }
      return acked.length
    }

    /**
     * SIGKILL; once every client has noticed (and so has read every frame the server sent),
     * what the server promised until then: per room, the covered markers and the acknowledged
     * chat messages. Clients that reconnect get more promises from the new server, which a
     * check made meanwhile must not expect.
     */
    const crash = async () => {
      await harness.server.kill()
      figures.kills++
      await eventually('every client to notice the crash', () => everyone().every((c) => !c.stock.provider.wsconnected))
      return new Map(books.map((book) => [book, { markers: book.covered(), acked: book.acked() }]))
    }

    for (trial = 1; trial <= trials; trial++) {
      const runFor = random.between(...trialMs)
      await sleep(runFor)
      const killedAt = clock()
      const promised = await crash()
      // Typed by the clients about to go, not deleted, not covered: the server may have lost
      // these, and only these.
      const covered = new Set(promised.get(durable).markers)
      const uncovered = [...durable.markers]
        .filter(([m, { client: c }]) => durableClients.includes(c) && !durable.deleted.has(m) && !covered.has(m))
        .map(([m]) => m)
      for (const c of durableClients) c.destroy()
      await harness.server.start()
      const restartMs = clock() - killedAt
      durableClients = users.map((user, i) => client(durable, user, 'def'[i]))
      const [durableText, liveText] = await Promise.all([
        Promise.all(durableClients.map((c) => c.stock.waitSynced())).then(() => durableClients[0].text),
        fresh(live)
      ])
      for (const c of durableClients.slice(1)) {
        if (c.text !== durableText) fail(durable.name, 'fresh clients got different texts after the restart', JSON.stringify([durableText.length, c.text.length]))
      }
      const d = checkMarkers(durable, durableText, promised.get(durable).markers, 'after the restart')
      const l = checkMarkers(live, liveText, promised.get(live).markers, 'a fresh reader after the restart')
      figures.uncoveredLost += uncovered.filter((m) => !d.present.has(m)).length
      const chat = await Promise.all(books.map((book) => checkChat(book, promised.get(book).acked, 'after the restart')))
      for (const c of durableClients) c.start()
      await Promise.all(liveClients.map((c) => c.stock.waitSynced()))
      figures.trials++
      log(`trial ${trial}/${trials}: killed after ${runFor} ms, up again in ${restartMs} ms, everyone back after ${clock() - killedAt} ms; ` +
        `covered markers present: durable ${d.wanted}, live ${l.wanted}; acknowledged chat present: ${chat[0] + chat[1]}`)
    }
    trial = 'final'

    // Quiet: all edits confirmed, all chat acknowledged, everyone agrees with a fresh client.
    await Promise.all(everyone().map((c) => c.stop()))
    await Promise.all(everyone().map((c) => c.stock.waitSynced()))
    await Promise.all(everyone().map((c) => c.settle()))
    const expected = new Map()
    for (const [book, clients] of [[live, liveClients], [durable, durableClients]]) {
      await eventually(`the clients of ${book.name} to converge`, () => clients.every((c) => c.text === clients[0].text), {
        describe: () => clients.map((c) => `${c.tag}: ${c.text.length} chars`).join(', ')
      }).catch((error) => fail(book.name, 'the clients did not converge', error.message))
      const text = await fresh(book)
      if (text !== clients[0].text) fail(book.name, 'a fresh client got another text than the clients hold', `${text.length} vs ${clients[0].text.length} chars`)
      expected.set(book, clients[0].text)
    }

    // The last crash: every client gone before the restart, so only the database speaks.
    const promised = await crash()
    for (const c of everyone()) c.destroy()
    await harness.server.start()
    for (const book of books) {
      const text = await fresh(book)
      const { wanted } = checkMarkers(book, text, promised.get(book).markers, 'after the last crash, clients destroyed')
      figures.markersCovered += wanted
      if (text !== expected.get(book)) {
        fail(book.name, 'after the last crash a fresh client got another text than every client had confirmed',
          `${text.length} vs ${expected.get(book).length} chars`)
      }
      figures.chatAcked += await checkChat(book, promised.get(book).acked, 'after the last crash')
    }
    for (const c of books.flatMap((book) => book.clients)) {
      for (const violation of c.violations) fail(c.book.name, `${c.tag} saw the protocol broken`, violation)
    }
  } catch (error) {
    fail('-', 'the run stopped', `${error.stack ?? error}\n--- diagnostics ---\n${harness.describe()}`)
  } finally {
    await harness.close()
  }
  return figures
}

/** The figures as lines of text. */
export const summary = (figures) => [
  `seed ${figures.seed}`,
  `trials ${figures.trials}, kills ${figures.kills} (SIGKILL, one after each trial and a last one with every client destroyed)`,
  `acknowledged chat messages checked: ${figures.chatAcked} in the final check, ${figures.chatChecks} message checks over the run`,
  `covered document markers checked: ${figures.markersCovered} in the final check, ${figures.markerChecks} marker checks over the run`,
  `uncovered markers lost to a crash (allowed: never confirmed): ${figures.uncoveredLost}`,
  `failures: ${figures.failures.length}`
].join('\n')
