// A structural codec of Yjs v1 updates, for crafting hostile ones: an update is parsed into its
// client sections (blocks with their info byte, origins, parent and raw content bytes) and delete
// set, changed, and written back byte for byte in the v1 layout (as Yjs's `readClientsStructRefs`
// and `readDeleteSet` read it). Content is kept as raw bytes; only its length in clock ticks is
// worked out, so that block ids can be computed.
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'

export const GC = 0
export const DELETED = 1
export const JSON_CONTENT = 2
export const BINARY = 3
export const STRING = 4
export const EMBED = 5
export const FORMAT = 6
export const TYPE = 7
export const ANY = 8
export const DOC = 9
export const SKIP = 10
export const HAS_ORIGIN = 0x80
export const HAS_RIGHT_ORIGIN = 0x40
export const HAS_PARENT_SUB = 0x20

/** Type refs whose content carries a name (XML element and hook). */
const NAMED_TYPES = new Set([3, 5])

/** Skips one item content of reference `ref`; returns its length in clock ticks. */
const skipContent = (d, ref) => {
  switch (ref) {
    case DELETED: return decoding.readVarUint(d)
    case JSON_CONTENT: {
      const len = decoding.readVarUint(d)
      for (let i = 0; i < len; i++) decoding.readVarString(d)
      return len
    }
    case BINARY: decoding.readVarUint8Array(d); return 1
    case STRING: return decoding.readVarString(d).length // UTF-16 units, as clocks count
    case EMBED: decoding.readVarString(d); return 1
    case FORMAT: decoding.readVarString(d); decoding.readVarString(d); return 1
    case TYPE: {
      if (NAMED_TYPES.has(decoding.readVarUint(d))) decoding.readVarString(d)
      return 1
    }
    case ANY: {
      const len = decoding.readVarUint(d)
      for (let i = 0; i < len; i++) decoding.readAny(d)
      return len
    }
    case DOC: decoding.readVarString(d); decoding.readAny(d); return 1
    default: throw new Error(`unknown content ref ${ref}`)
  }
}

const readId = (d) => [decoding.readVarUint(d), decoding.readVarUint(d)]

/**
 * @typedef {{ kind: 'gc' | 'skip', info: number, len: number }} Filler
 * @typedef {{ kind: 'item', info: number, origin: number[] | null, rightOrigin: number[] | null,
 *   parent: { root: string } | { id: number[] } | null, parentSub: string | null,
 *   content: Uint8Array, len: number }} ItemBlock
 * @typedef {{ client: number, clock: number, blocks: Array<Filler | ItemBlock> }} Section
 * @typedef {{ sections: Section[], deletes: Array<{ client: number, ranges: number[][] }>,
 *   rest: Uint8Array }} Parsed
 */

/** Parses a valid v1 update (throws on one that is not). @returns {Parsed} */
export const parseUpdate = (bytes) => {
  const d = decoding.createDecoder(bytes)
  const sections = []
  const clients = decoding.readVarUint(d)
  for (let i = 0; i < clients; i++) {
    const count = decoding.readVarUint(d)
    const section = { client: decoding.readVarUint(d), clock: decoding.readVarUint(d), blocks: [] }
    for (let j = 0; j < count; j++) {
      const info = decoding.readUint8(d)
      const ref = info & 0x1f
      if (ref === GC || ref === SKIP) {
        section.blocks.push({ kind: ref === GC ? 'gc' : 'skip', info, len: decoding.readVarUint(d) })
        continue
      }
      const origin = info & HAS_ORIGIN ? readId(d) : null
      const rightOrigin = info & HAS_RIGHT_ORIGIN ? readId(d) : null
      let parent = null
      let parentSub = null
      if (origin === null && rightOrigin === null) {
        parent = decoding.readVarUint(d) === 1 ? { root: decoding.readVarString(d) } : { id: readId(d) }
        if (info & HAS_PARENT_SUB) parentSub = decoding.readVarString(d)
      }
      const start = d.pos
      const len = skipContent(d, ref)
      section.blocks.push({ kind: 'item', info, origin, rightOrigin, parent, parentSub, content: bytes.slice(start, d.pos), len })
    }
    sections.push(section)
  }
  const deletes = []
  const dsClients = decoding.readVarUint(d)
  for (let i = 0; i < dsClients; i++) {
    const client = decoding.readVarUint(d)
    const n = decoding.readVarUint(d)
    const ranges = []
    for (let j = 0; j < n; j++) ranges.push(readId(d))
    deletes.push({ client, ranges })
  }
  return { sections, deletes, rest: bytes.slice(d.pos) }
}

/** Writes `parsed` back as v1 bytes, exactly as given (origins and parent as they are). */
export const encodeUpdate = (parsed) => {
  const e = encoding.createEncoder()
  const uint = (n) => encoding.writeVarUint(e, n)
  uint(parsed.sections.length)
  for (const section of parsed.sections) {
    uint(section.blocks.length)
    uint(section.client)
    uint(section.clock)
    for (const block of section.blocks) {
      encoding.writeUint8(e, block.info)
      if (block.kind !== 'item') {
        uint(block.len)
        continue
      }
      for (const id of [block.origin, block.rightOrigin]) if (id) id.forEach(uint)
      if (block.parent) {
        if ('root' in block.parent) {
          uint(1)
          encoding.writeVarString(e, block.parent.root)
        } else {
          uint(0)
          block.parent.id.forEach(uint)
        }
        if (block.parentSub !== null) encoding.writeVarString(e, block.parentSub)
      }
      encoding.writeUint8Array(e, block.content)
    }
  }
  uint(parsed.deletes.length)
  for (const { client, ranges } of parsed.deletes) {
    uint(client)
    uint(ranges.length)
    for (const range of ranges) range.forEach(uint)
  }
  encoding.writeUint8Array(e, parsed.rest)
  return encoding.toUint8Array(e)
}

/** A deep copy, safe to mutate. */
export const cloneParsed = (parsed) => ({
  sections: parsed.sections.map((s) => ({ ...s, blocks: s.blocks.map((b) => ({ ...b })) })),
  deletes: parsed.deletes.map((d) => ({ client: d.client, ranges: d.ranges.map((r) => [...r]) })),
  rest: parsed.rest
})

/** The clock of each block of `section`. */
export const blockClocks = (section) => {
  let clock = section.clock
  return section.blocks.map((b) => {
    const at = clock
    clock += b.len
    return at
  })
}

/** Recomputes an item's info byte from its fields, as Yjs writes it (origins, content ref). */
export const infoFor = (block, ref) =>
  (ref & 0x1f) | (block.origin ? HAS_ORIGIN : 0) | (block.rightOrigin ? HAS_RIGHT_ORIGIN : 0) |
  (block.parentSub !== null && !block.origin && !block.rightOrigin ? HAS_PARENT_SUB : 0)

/** Raw content bytes: a string, deleted content of `len`. */
export const stringContent = (text) => {
  const e = encoding.createEncoder()
  encoding.writeVarString(e, text)
  return encoding.toUint8Array(e)
}
export const deletedContent = (len) => {
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, len)
  return encoding.toUint8Array(e)
}

export const toHex = (bytes) => Buffer.from(bytes).toString('hex')
export const fromHex = (hex) => new Uint8Array(Buffer.from(hex, 'hex'))
