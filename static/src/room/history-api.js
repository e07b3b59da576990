// The history routes as the room page calls them: JSON reads, and the save
// and restore forms posted with the page's CSRF token. A refusal carries `{"error": ...}`.

/** An Error whose message is fit to show the user. */
const failure = async (response, what) => {
  let reason = `${what} failed (HTTP ${response.status}).`
  try {
    const body = await response.json()
    if (body && typeof body.error === 'string') reason = body.error
  } catch {
    // not JSON: keep the generic reason
  }
  return new Error(reason)
}

export class HistoryApi {
  /** @param {string} room */
  constructor (room) {
    this.base = `/rooms/${encodeURIComponent(room)}`
  }

  async getJson (path, what) {
    const response = await fetch(this.base + path, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
    if (!response.ok) throw await failure(response, what)
    return response.json()
  }

  /** `[{id, kind, name, time, saved_by, authors, size}]`, newest first. */
  versions () {
    return this.getJson('/versions', 'Loading the versions')
  }

  /** One version with `text` and `changes` (from it to the current text). */
  version (id) {
    return this.getJson(`/versions/${id}`, 'Loading the version')
  }

  /** `{text, complete, steps}` from version `from` to version `to` (or to now). */
  timeline (from, to) {
    const query = new URLSearchParams({ from: String(from) })
    if (to !== null && to !== undefined) query.set('to', String(to))
    return this.getJson(`/timeline?${query}`, 'Loading the time slider')
  }

  /** `{clients: {"<client id>": "username"}}` */
  authors () {
    return this.getJson('/authors', 'Loading the authors')
  }

  exportUrl (format, version = null) {
    const query = new URLSearchParams({ format })
    if (version !== null) query.set('version', String(version))
    return `${this.base}/export?${query}`
  }

  /** Posts a form's fields; the routes answer a success with a redirect to the room. */
  async post (path, fields, what) {
    const response = await fetch(this.base + path, {
      method: 'POST',
      credentials: 'same-origin',
      redirect: 'manual',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
      body: new URLSearchParams(fields)
    })
    if (response.type === 'opaqueredirect' || response.ok) return
    throw await failure(response, what)
  }

  saveVersion (csrfToken, name) {
    return this.post('/versions', { csrf_token: csrfToken, name }, 'Saving the version')
  }

  restore (csrfToken, id) {
    return this.post(`/versions/${id}/restore`, { csrf_token: csrfToken }, 'Restoring the version')
  }
}
