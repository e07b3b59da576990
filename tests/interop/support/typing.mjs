// Several clients typing into one text at once, in a way the final text can be checked against.
//
// Every character is handed out once, so the final text says where each piece came from:
// inserted "tokens" are CJK ideographs (never deleted), filler is Hangul (deleted at random).
// A token may be split by another client's insert at the same moment, so "the token survived"
// means: its characters are all there, in order. Stock clients edit only after MARKER, whose
// view of the text is exact at the moment they edit.
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'

export const MARKER = '|'

// Module-wide, so that no two Typing ledgers of one test file hand out the same character.
let nextFiller = 0xac00 // Hangul syllables
let nextToken = 0x4e00 // CJK unified ideographs

export const isFiller = (ch) => ch >= '\uac00' && ch <= '\ud7a3'

/** A run of 1 to 3 filler characters in text[from, to), or null when there is none. */
export const fillerRun = (text, from, to, random) => {
  const starts = []
  for (let i = from; i < to; i++) if (isFiller(text[i])) starts.push(i)
  if (starts.length === 0) return null
  const start = starts[random.below(starts.length)]
  let length = 1
  const wanted = 1 + random.below(3)
  while (length < wanted && start + length < to && isFiller(text[start + length])) length++
  return { start, length }
}

/** What everyone typed: the tokens handed out and the filler deleted. */
export class Typing {
  constructor () {
    /** token text -> who inserted it */
    this.tokens = new Map()
    /** the filler characters some client deleted */
    this.deletedFiller = new Set()
    /** edits made so far, by every client */
    this.edits = 0
  }

  /** `n` fresh filler characters. */
  filler (n) {
    return Array.from({ length: n }, () => String.fromCharCode(nextFiller++)).join('')
  }

  /** A fresh token, inserted by `owner`. */
  token (owner) {
    const token = String.fromCharCode(nextToken++, nextToken++, nextToken++)
    this.tokens.set(token, owner)
    return token
  }

  /** Notes that the filler in `text` is being deleted. */
  deleting (text) {
    for (const ch of text) this.deletedFiller.add(ch)
  }

  /** One edit by a stock client, on its own (exact) view, after MARKER. */
  stockEdit (client, random) {
    const text = client.value
    const marker = text.indexOf(MARKER)
    const run = random.chance(0.4) ? fillerRun(text, marker + 1, text.length, random) : null
    if (run) {
      this.deleting(text.slice(run.start, run.start + run.length))
      client.delete(run.start, run.length)
    } else {
      client.insert(marker + 1 + random.below(text.length - marker), this.token(client.name))
    }
    this.edits++
  }

  /**
   * `ops` edits by a stock client, in bursts of 1 to 3 with a pause of up to `pauseMs` after each,
   * so that the others' updates arrive in between.
   */
  async typeAsStockClient (client, random, { ops, pauseMs = 10 }) {
    for (let done = 0; done < ops;) {
      for (let burst = 1 + random.below(3); burst > 0 && done < ops; burst--, done++) this.stockEdit(client, random)
      await sleep(random.below(pauseMs))
    }
  }

  /** The length of the text once everyone has every edit, when it started as `initial`. */
  expectedLength (initial) {
    return initial.length + 3 * this.tokens.size - this.deletedFiller.size
  }

  /**
   * Asserts that `final` holds every token intact, exactly the filler of `initial` nobody
   * deleted, and MARKER once; `seed` replays the run.
   */
  check (final, initial, seed) {
    for (const [token, owner] of this.tokens) {
      const kept = [...final].filter((ch) => token.includes(ch)).join('')
      assert.equal(kept, token, `${owner}'s insertion ${token} did not survive intact (seed ${seed})`)
    }
    const keptFiller = new Set([...final].filter(isFiller))
    for (const ch of initial) {
      if (isFiller(ch)) assert.equal(keptFiller.has(ch), !this.deletedFiller.has(ch), `filler ${ch} (seed ${seed})`)
    }
    assert.equal(final.split(MARKER).length, 2, 'the marker is still there, once')
  }
}
