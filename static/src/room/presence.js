// The "In the room" list, built from the awareness states: one line per user (a user with two
// tabs open is listed once), in the user's colour, with this user's own line marked.
import { safeColor } from '../lib/colors.js'

/**
 * @param {import('y-protocols/awareness').Awareness} awareness
 * @param {HTMLUListElement} list
 * @param {string} username
 */
export const bindPresence = (awareness, list, username) => {
  const me = username.toLowerCase()

  const render = () => {
    /** @type {Map<string, {name: string, color: string, own: boolean}>} */
    const users = new Map()
    awareness.getStates().forEach((state, clientId) => {
      const user = state && state.user
      if (!user || typeof user.name !== 'string' || user.name === '') return
      const key = user.name.toLowerCase()
      const own = clientId === awareness.clientID || key === me
      if (!users.has(key)) users.set(key, { name: user.name, color: safeColor(user.color, user.name), own })
    })
    const sorted = [...users.values()].sort((a, b) =>
      a.own !== b.own ? (a.own ? -1 : 1) : a.name.localeCompare(b.name)
    )

    const items = sorted.map(({ name, color, own }) => {
      const item = document.createElement('li')
      item.className = own ? 'presence-user presence-user--own' : 'presence-user'
      item.dataset.name = name
      const swatch = document.createElement('span')
      swatch.className = 'presence-swatch'
      swatch.setAttribute('aria-hidden', 'true')
      swatch.style.backgroundColor = color
      const label = document.createElement('span')
      label.className = 'presence-name'
      label.textContent = name
      item.append(swatch, label)
      if (own) {
        const you = document.createElement('span')
        you.className = 'presence-you'
        you.textContent = '(you)'
        item.append(you)
      }
      return item
    })
    list.replaceChildren(...items)
  }

  // 'change' fires only when a state really changed, not on the 15 s keep-alive renewals.
  awareness.on('change', render)
  render()
  return render
}
