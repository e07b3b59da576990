// The seeded corpus of the differential check: valid updates of stock Yjs text clients (typing,
// deleting, concurrent edits, whole states with garbage-collected content), valid updates of
// shapes a text room must not hold (maps, arrays, XML, embeds, formats, other roots, nested types,
// sub-documents), hand-made malformed shapes (self-origins, zero lengths, repeated clients...),
// and seeded mutations of all of them: struct-level (origins, parents, content, lengths, client
// sections, delete set, blocks spliced in from the foreign shapes) and byte-level (flips,
// interesting values, inserted, removed, repeated bytes, truncation).
import * as Y from 'yjs'
import * as decoding from 'lib0/decoding'
import { generator } from './random.mjs'
import {
  parseUpdate, encodeUpdate, cloneParsed, blockClocks, infoFor, stringContent, deletedContent,
  toHex, GC, DELETED, STRING, JSON_CONTENT, SKIP, HAS_ORIGIN, HAS_PARENT_SUB
} from './updates.mjs'

/** The base text's author: the room holds its text before each update is tried. */
const BASE_CLIENT = 1

const newDoc = (clientID, state = null) => {
  const doc = new Y.Doc()
  if (state) Y.applyUpdate(doc, state)
  // After the state: Yjs picks a new id when a remote update writes with its own.
  doc.clientID = clientID
  return doc
}

/** The updates `edit` makes on `doc`, one per transaction. */
const updatesOf = (doc, edit) => {
  const out = []
  const listener = (update) => out.push(update)
  doc.on('update', listener)
  edit(doc)
  doc.off('update', listener)
  return out
}

/** The one update of `edit`, made in one transaction. */
const updateOf = (doc, edit) => updatesOf(doc, (d) => d.transact(() => edit(d)))[0]

/** The base document: typed in two transactions, with an emoji, and two characters deleted. */
const makeBase = () => {
  const doc = newDoc(BASE_CLIENT)
  const text = doc.getText('colabspace')
  text.insert(0, 'hello wörld')
  text.insert(text.length, ' 😀 base text')
  text.delete(3, 2)
  return Y.encodeStateAsUpdate(doc)
}

/** Valid updates of text clients on top of `base`, by name. */
const textSeeds = (base) => {
  const seeds = []
  const add = (name, update, onBase = true) => seeds.push({ name, update, base: onBase ? base : null })
  const text = (doc) => doc.getText('colabspace')

  const typist = newDoc(2, base)
  updatesOf(typist, (d) => ['a', 'b', 'c'].forEach((c, i) => text(d).insert(5 + i, c)))
    .forEach((u, i) => add(`keystroke ${i}`, u))
  const author = newDoc(BASE_CLIENT, base)
  updatesOf(author, (d) => ['!', '?'].forEach((c) => text(d).insert(text(d).length, c)))
    .forEach((u, i) => add(`base author keeps typing ${i}`, u))
  add('deletion', updateOf(newDoc(2, base), (d) => text(d).delete(2, 4)))
  add('insert and delete', updateOf(newDoc(2, base), (d) => { text(d).insert(3, 'xyz'); text(d).delete(1, 2) }))
  add('delete everything', updateOf(newDoc(2, base), (d) => text(d).delete(0, text(d).length)))
  const left = updateOf(newDoc(2, base), (d) => text(d).insert(4, 'LEFT'))
  const right = updateOf(newDoc(3, base), (d) => text(d).insert(4, 'RIGHT'))
  add('concurrent insert 1', left)
  add('concurrent insert 2', right)
  add('concurrent inserts merged', Y.mergeUpdates([left, right]))
  add('emoji next to emoji', updateOf(newDoc(2, base), (d) => text(d).insert(11, '😀🎉 é')))
  add('paste', updateOf(newDoc(3, base), (d) => text(d).insert(6, 'pasted line\n'.repeat(10))))

  // Several clients, deletions garbage-collected: a whole state as a sync step 2 carries it.
  const busy = newDoc(4, base)
  for (const u of [left, right]) Y.applyUpdate(busy, u)
  text(busy).insert(0, 'typed then deleted ')
  text(busy).delete(0, 12)
  text(busy).delete(8, 3)
  add('whole state, deletions collected', Y.encodeStateAsUpdate(busy))
  add('whole state into an empty room', Y.encodeStateAsUpdate(busy), false)
  add('what the base lacks', Y.encodeStateAsUpdate(busy, Y.encodeStateVector(newDoc(9, base))))
  return seeds
}

/** Valid Yjs updates of shapes a text room must not hold, on top of `base`. */
const foreignSeeds = (base) => {
  const seeds = []
  const add = (name, update) => seeds.push({ name, update, base })
  const doc = () => newDoc(5, base)
  add('format', updateOf(doc(), (d) => d.getText('colabspace').format(1, 4, { bold: true })))
  add('insert with attributes', updateOf(doc(), (d) => d.getText('colabspace').insert(3, 'B', { italic: true })))
  add('embed', updateOf(doc(), (d) => d.getText('colabspace').insertEmbed(2, { image: 'x.png' })))
  add('map', updateOf(doc(), (d) => { d.getMap('m').set('k', 'v'); d.getMap('m').set('n', 3) }))
  add('array of values', updateOf(doc(), (d) => d.getArray('a').push([1, 'two', { three: 3 }, [4], null, true])))
  add('binary', updateOf(doc(), (d) => d.getArray('a').push([new Uint8Array([1, 2, 3])])))
  add('nested map', updatesOf(doc(), (d) => {
    const inner = new Y.Map()
    d.getArray('a').push([inner])
    inner.set('x', 1)
  })[0])
  const nested = doc()
  const inner = new Y.Map()
  nested.getArray('a').push([inner])
  add('item inside a nested type', updateOf(nested, () => inner.set('y', 'by parent id')))
  add('xml', updateOf(doc(), (d) => {
    const p = new Y.XmlElement('p')
    p.setAttribute('class', 'c')
    p.insert(0, [new Y.XmlText('hi')])
    d.getXmlFragment('x').insert(0, [p])
  }))
  add('other text root', updateOf(doc(), (d) => d.getText('other').insert(0, 'elsewhere')))
  add('sub-document', updateOf(doc(), (d) => d.getMap('docs').set('d', new Y.Doc())))
  const gc = doc()
  gc.getArray('a').push([new Y.Map([['k', 'v']])])
  gc.getArray('a').delete(0, 1)
  add('collected nested type', Y.encodeStateAsUpdate(gc))
  return seeds
}

/**
 * Hand-made shapes on top of the parsed `typing` seed (client 2 inserting one character after
 * base text) that Yjs's encoder never writes.
 */
const craftedSeeds = (base, typing, surrogateLow) => {
  const seeds = []
  const add = (name, change) => {
    const parsed = cloneParsed(typing)
    change(parsed, parsed.sections[0], parsed.sections[0].blocks[0])
    seeds.push({ name, update: encodeUpdate(parsed), base })
  }
  const retype = (block, ref) => { block.info = infoFor(block, ref) }
  add('origin is itself', (p, s, b) => { b.origin = [s.client, s.clock]; retype(b, STRING) })
  add('origin comes later', (p, s, b) => { b.origin = [s.client, s.clock + 5]; retype(b, STRING) })
  add('right origin is itself', (p, s, b) => { b.rightOrigin = [s.client, s.clock]; retype(b, STRING) })
  add('origin inside a surrogate pair', (p, s, b) => {
    b.origin = [BASE_CLIENT, surrogateLow - 1]
    b.rightOrigin = [BASE_CLIENT, surrogateLow]
    retype(b, STRING)
  })
  add('right origin left of the origin', (p, s, b) => { b.origin = [BASE_CLIENT, 18]; retype(b, STRING) })
  add('right origin inside a surrogate pair', (p, s, b) => {
    b.origin = null
    b.rightOrigin = [BASE_CLIENT, surrogateLow]
    retype(b, STRING)
  })
  add('empty string', (p, s, b) => { b.content = stringContent(''); b.len = 0 })
  add('deleted content of length 0', (p, s, b) => { b.content = deletedContent(0); b.len = 0; retype(b, DELETED) })
  add('GC of length 0', (p, s) => { s.blocks = [{ kind: 'gc', info: GC, len: 0 }] })
  add('skip of length 0', (p, s) => { s.blocks = [{ kind: 'skip', info: SKIP, len: 0 }, ...s.blocks] })
  add('GC with origin bits', (p, s) => { s.blocks = [{ kind: 'gc', info: GC | HAS_ORIGIN, len: 1 }] })
  add('skip with origin bits', (p, s) => { s.blocks = [{ kind: 'skip', info: SKIP | HAS_ORIGIN, len: 1 }, ...s.blocks] })
  add('parent key on a text item', (p, s, b) => {
    b.origin = b.rightOrigin = null
    b.parent = { root: 'colabspace' }
    b.parentSub = 'key'
    retype(b, STRING)
  })
  add('parent is a base item', (p, s, b) => {
    b.origin = b.rightOrigin = null
    b.parent = { id: [BASE_CLIENT, 0] }
    retype(b, STRING)
  })
  add('legacy JSON content', (p, s, b) => {
    b.content = Uint8Array.of(1, ...stringContent('"json"'))
    retype(b, JSON_CONTENT)
  })
  for (const ref of [11, 15, 16, 20, 31]) add(`content ref ${ref}`, (p, s, b) => retype(b, ref))
  add('client twice', (p) => { p.sections.push({ ...p.sections[0], clock: p.sections[0].clock + 1 }) })
  add('deleted range of length 0', (p) => { p.deletes = [{ client: BASE_CLIENT, ranges: [[1, 0]] }] })
  add('delete set lists a client twice', (p) => {
    p.deletes = [{ client: BASE_CLIENT, ranges: [[1, 1]] }, { client: BASE_CLIENT, ranges: [[3, 1]] }]
  })
  add('clock near 2^32', (p, s) => { s.clock = 2 ** 32 - 1 })
  add('client 2^53 - 1', (p, s) => { s.client = 2 ** 53 - 1 })
  add('delete range past 2^32', (p) => { p.deletes = [{ client: BASE_CLIENT, ranges: [[2 ** 32 - 2, 5]] }] })
  return seeds
}

const INTERESTING = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x14, 0x20, 0x24, 0x3f, 0x40, 0x44, 0x7f, 0x80, 0x81, 0x84, 0xc4, 0xff]

/** Byte-level mutation of `bytes`. */
const mutateBytes = (bytes, r) => {
  const out = [...bytes]
  const at = () => r.below(out.length + 1)
  switch (r.below(7)) {
    case 0: if (out.length) out[r.below(out.length)] ^= 1 << r.below(8); break
    case 1: if (out.length) out[r.below(out.length)] = r.pick(INTERESTING); break
    case 2: out.splice(at(), 0, r.chance(0.5) ? r.pick(INTERESTING) : r.below(256)); break
    case 3: if (out.length) out.splice(r.below(out.length), 1); break
    case 4: { // remove a range
      const from = at()
      out.splice(from, 1 + r.below(6))
      break
    }
    case 5: { // repeat a range
      const from = r.below(out.length)
      out.splice(at(), 0, ...out.slice(from, from + 1 + r.below(8)))
      break
    }
    default: out.length = r.below(out.length + 1) // truncate
  }
  return Uint8Array.from(out)
}

/** Ids an origin or parent may be set to: around the item, in the base, nowhere. */
const anId = (r, ctx, own) => r.pick([
  () => own, // itself
  () => [own[0], own[1] + 1 + r.below(4)], // later
  () => [own[0], Math.max(0, own[1] - 1)], // the one before
  () => r.pick(ctx.baseIds),
  () => [BASE_CLIENT, ctx.surrogateLow],
  () => [77, r.below(3)], // a client nobody has seen
  () => [own[0], 2 ** 32 - 1]
])()

/** Struct-level mutation of a parsed update, in place. */
const mutateStructure = (parsed, r, ctx) => {
  if (parsed.sections.length === 0 || r.chance(0.15)) return mutateDeletes(parsed, r)
  const section = r.pick(parsed.sections)
  if (section.blocks.length === 0 || r.chance(0.2)) return mutateSection(parsed, section, r, ctx)
  const index = r.below(section.blocks.length)
  const block = section.blocks[index]
  const own = [section.client, blockClocks(section)[index]]
  if (block.kind !== 'item') {
    if (r.chance(0.5)) block.len = r.pick([0, 1, block.len + 1, 2 ** 32 - 1])
    else block.info = r.pick([GC, SKIP, GC | HAS_ORIGIN, SKIP | HAS_PARENT_SUB, 0x20, r.below(256)])
    return
  }
  const ref = block.info & 0x1f
  switch (r.below(8)) {
    case 0: block.origin = r.chance(0.2) ? null : anId(r, ctx, own); break
    case 1: block.rightOrigin = r.chance(0.3) ? null : anId(r, ctx, own); break
    case 2: // written parent: a root, an item, with or without a key
      block.origin = block.rightOrigin = null
      block.parent = r.chance(0.5)
        ? { root: r.pick(['colabspace', 'other', '', 'm', 'colabspac']) }
        : { id: anId(r, ctx, own) }
      block.parentSub = r.chance(0.3) ? 'k' : null
      break
    case 3: { // another content, from a foreign shape
      const donor = r.pick(ctx.donorItems)
      block.content = donor.content
      block.len = donor.len
      block.info = infoFor(block, donor.info & 0x1f)
      return
    }
    case 4: // lengths of nothing, or of a lot
      if (ref === STRING) block.content = stringContent(r.pick(['', '😀', 'x'.repeat(1 + r.below(40))]))
      else if (ref === DELETED) block.content = deletedContent(r.pick([0, 1, 1000, 2 ** 32 - 1]))
      break
    case 5: block.info = r.chance(0.5) ? block.info ^ (1 << r.below(8)) : r.below(256); return
    case 6: section.blocks.splice(index, 1); return // a gap: later blocks change ids
    default: section.blocks[index] = { kind: r.chance(0.5) ? 'gc' : 'skip', info: r.chance(0.5) ? GC : SKIP, len: block.len }; return
  }
  block.info = infoFor(block, ref)
}

const mutateSection = (parsed, section, r, ctx) => {
  switch (r.below(5)) {
    case 0: parsed.sections.push({ ...section, blocks: section.blocks.map((b) => ({ ...b })) }); break
    case 1: section.client = r.pick([BASE_CLIENT, 0, 2, 77, 2 ** 53 - 1, 2 ** 31]); break
    case 2: section.clock = r.pick([0, 1, ctx.baseLength, section.clock + 1, section.clock + 1000, 2 ** 32 - 2]); break
    case 3: { // blocks of a foreign shape spliced in
      const donor = r.pick(ctx.donorSections)
      section.blocks.splice(r.below(section.blocks.length + 1), 0, ...donor.blocks.map((b) => ({ ...b })))
      break
    }
    default: parsed.sections.splice(r.below(parsed.sections.length + 1), 0, structuredClone(r.pick(ctx.donorSections)))
  }
}

const mutateDeletes = (parsed, r) => {
  const entry = parsed.deletes.length && r.chance(0.6)
    ? r.pick(parsed.deletes)
    : (parsed.deletes.push({ client: r.pick([BASE_CLIENT, 2, 77]), ranges: [] }), parsed.deletes.at(-1))
  switch (r.below(4)) {
    case 0: entry.ranges.push([r.below(30), r.pick([0, 1, 3, 2 ** 32 - 1])]); break
    case 1: parsed.deletes.push({ client: entry.client, ranges: [[r.below(30), 1]] }); break
    case 2: if (entry.ranges.length) r.pick(entry.ranges)[1] = 0; break
    default: entry.ranges.push([2 ** 32 - 1 - r.below(3), 1 + r.below(4)])
  }
}

/**
 * The corpus: every seed unchanged, then mutations of seeds chosen at random, until `size`
 * distinct (base, update) pairs. Each entry: `{ name, base (bytes or null), update }`.
 */
export const buildCorpus = ({ seed, size }) => {
  const base = makeBase()
  const baseParsed = parseUpdate(base)
  const baseLength = baseParsed.sections[0].blocks.reduce((n, b) => n + b.len, 0)
  const baseIds = Array.from({ length: baseLength }, (_, clock) => [BASE_CLIENT, clock])
  const surrogateLow = secondHalfOf('😀', baseParsed.sections[0])
  const texts = textSeeds(base)
  const foreign = foreignSeeds(base)
  const typing = parseUpdate(texts[0].update)
  const seeds = [...texts, ...foreign, ...craftedSeeds(base, typing, surrogateLow)]
  const donorSections = foreign.flatMap((s) => parseUpdate(s.update).sections)
  const ctx = {
    baseIds,
    baseLength,
    surrogateLow,
    donorSections,
    donorItems: donorSections.flatMap((s) => s.blocks).filter((b) => b.kind === 'item')
  }
  const r = generator(seed)
  const corpus = []
  const seen = new Set()
  const push = (name, entry) => {
    const key = `${entry.base ? 'b' : 'f'}:${toHex(entry.update)}`
    if (seen.has(key)) return
    seen.add(key)
    corpus.push({ name, base: entry.base, update: entry.update })
  }
  for (const s of seeds) push(s.name, s)
  const parsedSeeds = seeds.map((s) => { try { return parseUpdate(s.update) } catch { return null } })
  for (let attempts = 0; corpus.length < size && attempts < size * 20; attempts++) {
    const i = r.below(seeds.length)
    const s = seeds[i]
    let update = s.update
    const steps = []
    if (parsedSeeds[i] && r.chance(0.7)) {
      const parsed = cloneParsed(parsedSeeds[i])
      const rounds = 1 + r.below(3)
      for (let k = 0; k < rounds; k++) mutateStructure(parsed, r, ctx)
      update = encodeUpdate(parsed)
      steps.push(`${rounds} struct`)
    }
    if (steps.length === 0 || r.chance(0.3)) {
      const rounds = 1 + r.below(3)
      for (let k = 0; k < rounds; k++) update = mutateBytes(update, r)
      steps.push(`${rounds} byte`)
    }
    push(`${s.name} + ${steps.join(' + ')}`, { base: s.base, update })
  }
  return { base, seeds, corpus }
}

/** The clock of the second UTF-16 unit of `emoji` in a string block of `section`. */
const secondHalfOf = (emoji, section) => {
  const clocks = blockClocks(section)
  for (const [i, block] of section.blocks.entries()) {
    if (block.kind !== 'item' || (block.info & 0x1f) !== STRING) continue
    const at = decoding.readVarString(decoding.createDecoder(block.content)).indexOf(emoji)
    if (at >= 0) return clocks[i] + at + 1
  }
  throw new Error(`no ${emoji} in the base`)
}
