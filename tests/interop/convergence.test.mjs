// Three stock clients and one Rust client edit the same text at once, at random places, without
// waiting for each other; all four end up with the same text, and nobody's typing is lost.
//
// support/typing.mjs hands out every character once, so the final text says where each piece
// came from and what was deleted.
//
// The Rust client is a separate process, so the index it is told to use may be stale by the
// time it applies it. Its deletes therefore stay in a region at the start of the text that only
// it edits (ended by MARKER), where its view is always exact; the stock clients, whose view is
// exact at the moment they edit, insert and delete anywhere after MARKER.
import assert from 'node:assert/strict'
import { scenario } from './support/harness.mjs'
import { uniqueName } from './support/accounts.mjs'
import { eventually } from './support/wait.mjs'
import { randomSource, seed } from './support/random.mjs'
import { MARKER, Typing, fillerRun } from './support/typing.mjs'

const OPS_PER_CLIENT = 40
const RUST_REGION_FILLER = 80
const SHARED_FILLER = 500
/** Stock deletes are at most 3 characters, so the part after MARKER never gets shorter than this. */
const SHARED_MINIMUM = SHARED_FILLER - 3 * 3 * OPS_PER_CLIENT

const editAsRustClient = async (typing, client, random, initialRegion) => {
  let region = initialRegion // what only this client edits: everything before MARKER
  for (let done = 0; done < OPS_PER_CLIENT; done++) {
    // Skip reports older than our own last edit: the region must be what we made it.
    const text = await client.text((t) => t.slice(0, t.indexOf(MARKER)) === region)
    const choice = random.below(10)
    const run = choice < 3 ? fillerRun(region, 0, region.length, random) : null
    if (run) {
      typing.deleting(region.slice(run.start, run.start + run.length))
      region = region.slice(0, run.start) + region.slice(run.start + run.length)
      client.delete(run.start, run.length)
    } else if (choice < 7) {
      const index = random.below(region.length + 1)
      const token = typing.token(client.name)
      region = region.slice(0, index) + token + region.slice(index)
      client.insert(index, token)
    } else {
      // After MARKER the view may be stale; stay where the text is sure to reach.
      const room = Math.min(text.length - region.length - 1, SHARED_MINIMUM)
      client.insert(region.length + 1 + random.below(room + 1), typing.token(client.name))
    }
  }
}

scenario('three stock clients and a Rust client editing at once converge without losing anyone\'s typing', async (h) => {
  const [alice, bob, carol, dave] = await Promise.all(['alice', 'bob', 'carol', 'dave'].map((p) => h.user(p)))
  const room = await alice.createRoom(uniqueName('converge'))
  const typing = new Typing()

  const a = h.stock(alice, room, 'alice')
  await a.waitSynced()
  const region = typing.filler(RUST_REGION_FILLER)
  const initial = region + MARKER + typing.filler(SHARED_FILLER)
  a.insert(0, initial)

  const b = h.stock(bob, room, 'bob')
  const c = h.stock(carol, room, 'carol')
  const rust = h.rust(dave, room, 'dave (Rust)')
  await Promise.all([b.waitSynced(), c.waitSynced(), rust.waitSynced()])
  await eventually('everyone to have the starting text', async () =>
    b.value === initial && c.value === initial && (await rust.text()) === initial)

  await Promise.all([
    typing.typeAsStockClient(a, randomSource(1), { ops: OPS_PER_CLIENT }),
    typing.typeAsStockClient(b, randomSource(2), { ops: OPS_PER_CLIENT }),
    typing.typeAsStockClient(c, randomSource(3), { ops: OPS_PER_CLIENT }),
    editAsRustClient(typing, rust, randomSource(4), region)
  ])

  const expectedLength = typing.expectedLength(initial)
  let texts = []
  await eventually('all four clients to hold the same text', async () => {
    texts = [a.value, b.value, c.value, await rust.text()]
    return texts.every((t) => t === texts[0]) && texts[0].length === expectedLength
  }, {
    describe: () => `seed ${seed}, expected length ${expectedLength}, lengths ${texts.map((t) => t.length)}`
  })

  const final = texts[0]
  typing.check(final, initial, seed)
  assert.deepEqual(rust.errors, [], 'the Rust client reported errors')

  // The server's copy converged too: someone joining now gets exactly this text.
  const late = h.stock(alice, room, 'late joiner')
  await late.waitSynced()
  await eventually('a late joiner to receive the converged text', () => late.value === final)
})
