// Three stock clients and one Rust client edit the same text at once, at random places, without
// waiting for each other; all four end up with the same text, and nobody's typing is lost.
//
// Every character is handed out once, so the final text says where each piece came from:
// inserted "tokens" are CJK ideographs (never deleted), filler is Hangul (deleted at random).
// A token may be split by another client's insert at the same moment, so "the token survived"
// means: its characters are all there, in order.
//
// The Rust client is a separate process, so the index it is told to use may be stale by the
// time it applies it. Its deletes therefore stay in a region at the start of the text that only
// it edits (ended by MARKER), where its view is always exact; the stock clients, whose view is
// exact at the moment they edit, insert and delete anywhere after MARKER.
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { scenario } from './support/harness.mjs'
import { uniqueName } from './support/accounts.mjs'
import { eventually } from './support/wait.mjs'
import { randomSource, seed } from './support/random.mjs'

const MARKER = '|'
const OPS_PER_CLIENT = 40
const RUST_REGION_FILLER = 80
const SHARED_FILLER = 500
/** Stock deletes are at most 3 characters, so the part after MARKER never gets shorter than this. */
const SHARED_MINIMUM = SHARED_FILLER - 3 * 3 * OPS_PER_CLIENT

let nextFiller = 0xac00 // Hangul syllables
let nextToken = 0x4e00 // CJK unified ideographs
const isFiller = (ch) => ch >= '\uac00' && ch <= '\ud7a3'
const filler = (n) => Array.from({ length: n }, () => String.fromCharCode(nextFiller++)).join('')

/** token text -> who inserted it */
const tokens = new Map()
/** the filler characters some client deleted */
const deletedFiller = new Set()

const newToken = (owner) => {
  const token = String.fromCharCode(nextToken++, nextToken++, nextToken++)
  tokens.set(token, owner)
  return token
}

/** A run of 1 to 3 filler characters in text[from, to), or null when there is none. */
const fillerRun = (text, from, to, random) => {
  const starts = []
  for (let i = from; i < to; i++) if (isFiller(text[i])) starts.push(i)
  if (starts.length === 0) return null
  const start = starts[random.below(starts.length)]
  let length = 1
  const wanted = 1 + random.below(3)
  while (length < wanted && start + length < to && isFiller(text[start + length])) length++
  return { start, length }
}

/** One edit by a stock client, on its own (exact) view, after MARKER. */
const stockEdit = (client, random) => {
  const text = client.value
  const marker = text.indexOf(MARKER)
  const run = random.chance(0.4) ? fillerRun(text, marker + 1, text.length, random) : null
  if (run) {
    for (const ch of text.slice(run.start, run.start + run.length)) deletedFiller.add(ch)
    client.delete(run.start, run.length)
  } else {
    client.insert(marker + 1 + random.below(text.length - marker), newToken(client.name))
  }
}

const editAsStockClient = async (client, random) => {
  for (let done = 0; done < OPS_PER_CLIENT;) {
    // a burst of edits, then a short pause so the others' updates arrive in between
    for (let burst = 1 + random.below(3); burst > 0 && done < OPS_PER_CLIENT; burst--, done++) stockEdit(client, random)
    await sleep(random.below(10))
  }
}

const editAsRustClient = async (client, random, initialRegion) => {
  let region = initialRegion // what only this client edits: everything before MARKER
  for (let done = 0; done < OPS_PER_CLIENT; done++) {
    // Skip reports older than our own last edit: the region must be what we made it.
    const text = await client.text((t) => t.slice(0, t.indexOf(MARKER)) === region)
    const choice = random.below(10)
    const run = choice < 3 ? fillerRun(region, 0, region.length, random) : null
    if (run) {
      for (const ch of region.slice(run.start, run.start + run.length)) deletedFiller.add(ch)
      region = region.slice(0, run.start) + region.slice(run.start + run.length)
      client.delete(run.start, run.length)
    } else if (choice < 7) {
      const index = random.below(region.length + 1)
      const token = newToken(client.name)
      region = region.slice(0, index) + token + region.slice(index)
      client.insert(index, token)
    } else {
      // After MARKER the view may be stale; stay where the text is sure to reach.
      const room = Math.min(text.length - region.length - 1, SHARED_MINIMUM)
      client.insert(region.length + 1 + random.below(room + 1), newToken(client.name))
    }
  }
}

scenario('three stock clients and a Rust client editing at once converge without losing anyone\'s typing', async (h) => {
  const [alice, bob, carol, dave] = await Promise.all(['alice', 'bob', 'carol', 'dave'].map((p) => h.user(p)))
  const room = await alice.createRoom(uniqueName('converge'))

  const a = h.stock(alice, room, 'alice')
  await a.waitSynced()
  const region = filler(RUST_REGION_FILLER)
  const initial = region + MARKER + filler(SHARED_FILLER)
  a.insert(0, initial)

  const b = h.stock(bob, room, 'bob')
  const c = h.stock(carol, room, 'carol')
  const rust = h.rust(dave, room, 'dave (Rust)')
  await Promise.all([b.waitSynced(), c.waitSynced(), rust.waitSynced()])
  await eventually('everyone to have the starting text', async () =>
    b.value === initial && c.value === initial && (await rust.text()) === initial)

  await Promise.all([
    editAsStockClient(a, randomSource(1)),
    editAsStockClient(b, randomSource(2)),
    editAsStockClient(c, randomSource(3)),
    editAsRustClient(rust, randomSource(4), region)
  ])

  const expectedLength = initial.length + 3 * tokens.size - deletedFiller.size
  let texts = []
  await eventually('all four clients to hold the same text', async () => {
    texts = [a.value, b.value, c.value, await rust.text()]
    return texts.every((t) => t === texts[0]) && texts[0].length === expectedLength
  }, {
    describe: () => `seed ${seed}, expected length ${expectedLength}, lengths ${texts.map((t) => t.length)}`
  })

  const final = texts[0]
  for (const [token, owner] of tokens) {
    const kept = [...final].filter((ch) => token.includes(ch)).join('')
    assert.equal(kept, token, `${owner}'s insertion ${token} did not survive intact (seed ${seed})`)
  }
  const keptFiller = new Set([...final].filter(isFiller))
  for (const ch of initial) {
    if (isFiller(ch)) assert.equal(keptFiller.has(ch), !deletedFiller.has(ch), `filler ${ch} (seed ${seed})`)
  }
  assert.equal(final.split(MARKER).length, 2, 'the marker is still there, once')
  assert.deepEqual(rust.errors, [], 'the Rust client reported errors')

  // The server's copy converged too: someone joining now gets exactly this text.
  const late = h.stock(alice, room, 'late joiner')
  await late.waitSynced()
  await eventually('a late joiner to receive the converged text', () => late.value === final)
})
