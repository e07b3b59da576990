// Small wrappers around localStorage. Storage can be missing or full (private windows, quota);
// the page then keeps working with in-memory state only, as it would on a fresh load.

export const readJson = (key, fallback) => {
  try {
    const raw = window.localStorage.getItem(key)
    return raw === null ? fallback : JSON.parse(raw)
  } catch {
    return fallback
  }
}

export const writeJson = (key, value) => {
  try {
    window.localStorage.setItem(key, JSON.stringify(value))
    return true
  } catch {
    return false
  }
}

export const remove = (key) => {
  try {
    window.localStorage.removeItem(key)
  } catch {
    // nothing to do: the value was never persisted either
  }
}

/** A random RFC 4122 version 4 UUID. crypto.randomUUID needs a secure context; this does not. */
export const uuid = () => {
  const b = window.crypto.getRandomValues(new Uint8Array(16))
  b[6] = (b[6] & 0x0f) | 0x40
  b[8] = (b[8] & 0x3f) | 0x80
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}
