// Per-user colours for cursors, selections and the presence list.
//
// The colour is derived from the username alone, so a user keeps the same colour in every
// session and on every peer without anything being stored. Usernames are unique
// case-insensitively, so the hash is taken over the lower-cased name.

/** FNV-1a, 32 bit, over the UTF-16 code units of `text`. */
export const hashString = (text) => {
  let hash = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193) >>> 0
  }
  return hash
}

const hslToRgb = (h, s, l) => {
  const a = s * Math.min(l, 1 - l)
  const f = (n) => {
    const k = (n + h / 30) % 12
    return l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1))
  }
  return [f(0), f(8), f(4)].map((c) => Math.round(c * 255))
}

/** WCAG relative luminance of an sRGB colour given as 0..255 channels. */
const luminance = ([r, g, b]) => {
  const lin = (c) => {
    const v = c / 255
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4
  }
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
}

const toHex = (rgb) => '#' + rgb.map((c) => c.toString(16).padStart(2, '0')).join('')

/**
 * The colour of `username`: `color` is dark enough for white label text on it (contrast of at
 * least 4.5:1), `colorLight` is the same colour, translucent, for selection backgrounds.
 * Both are `#rrggbb` / `#rrggbbaa` strings, the form y-codemirror.next expects.
 */
export const userColor = (username) => {
  const hash = hashString(String(username).toLowerCase())
  const hue = hash % 360
  // A second slice of the hash varies saturation a little so that names with nearby hues
  // still differ.
  const saturation = 0.55 + ((hash >>> 9) % 30) / 100
  let lightness = 0.46
  let rgb = hslToRgb(hue, saturation, lightness)
  // 1.05 / (L + 0.05) >= 4.5  <=>  L <= 0.1833: darken until white text is readable.
  while (luminance(rgb) > 0.1833 && lightness > 0.1) {
    lightness -= 0.02
    rgb = hslToRgb(hue, saturation, lightness)
  }
  const color = toHex(rgb)
  return { color, colorLight: color + '40' }
}

const HEX_COLOR = /^#[0-9a-fA-F]{6}$/

/**
 * A colour from another client's awareness state is untrusted input that ends up in a style
 * attribute; accept only `#rrggbb` and fall back to the colour derived from the name.
 */
export const safeColor = (candidate, username) =>
  typeof candidate === 'string' && HEX_COLOR.test(candidate) ? candidate : userColor(username).color
