// Users and rooms made through the real HTML forms, the way a person would: GET the form, take
// its hidden `csrf_token`, POST the fields, keep the `chatspace_session` cookie the server sets.
import assert from 'node:assert/strict'

let names = 0

/** A fresh name that fits both the username and the room-name rules. */
export const uniqueName = (prefix) =>
  `${prefix}-${process.pid}-${++names}-${Math.random().toString(36).slice(2, 6)}`

/** The value of the hidden input `csrf_token` on an HTML page. */
const csrfToken = (html) => {
  for (const [input] of html.matchAll(/<input\b[^>]*>/g)) {
    if (/\bname="csrf_token"/.test(input)) {
      const value = input.match(/\bvalue="([^"]*)"/)
      if (value) return value[1]
    }
  }
  throw new Error(`no csrf_token input in the page:\n${html.slice(0, 500)}`)
}

export class User {
  constructor (server, username) {
    this.server = server
    this.username = username
    this.password = `correct horse ${username}`
    /** cookie name -> value, as the server last set them */
    this.jar = new Map()
  }

  /** The `Cookie` header this user's requests and sockets carry. */
  get cookie () {
    return [...this.jar].map(([name, value]) => `${name}=${value}`).join('; ')
  }

  /** One request without following redirects; the body is read as text. */
  async request (method, path, form) {
    const headers = {}
    if (this.jar.size > 0) headers.cookie = this.cookie
    let body
    if (form) {
      headers['content-type'] = 'application/x-www-form-urlencoded'
      body = new URLSearchParams(form).toString()
    }
    const response = await fetch(this.server.url(path), { method, headers, body, redirect: 'manual' })
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';')
      const cut = pair.indexOf('=')
      const name = pair.slice(0, cut).trim()
      const value = pair.slice(cut + 1).trim()
      const expired = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a))
      if (expired || value === '') this.jar.delete(name)
      else this.jar.set(name, value)
    }
    return { status: response.status, location: response.headers.get('location'), text: await response.text() }
  }

  /** GET `page`, then POST its form to `action` with `fields` and the page's CSRF token. */
  async submit (page, action, fields) {
    const form = await this.request('GET', page)
    assert.equal(form.status, 200, `GET ${page} answered ${form.status}`)
    return this.request('POST', action, { ...fields, csrf_token: csrfToken(form.text) })
  }

  async register () {
    const response = await this.submit('/accounts/register', '/accounts/register', {
      username: this.username,
      password: this.password,
      password_confirm: this.password
    })
    assert.equal(response.status, 303, `registering ${this.username} answered ${response.status}:\n${response.text.slice(0, 500)}`)
    assert.equal(response.location, '/')
    assert.ok(this.jar.has('chatspace_session'), 'registration set no chatspace_session cookie')
    return this
  }

  async createRoom (name, visibility = 'public') {
    const response = await this.submit('/', '/rooms', { name, visibility })
    assert.equal(response.status, 303, `creating room ${name} answered ${response.status}:\n${response.text.slice(0, 500)}`)
    assert.equal(response.location, `/rooms/${name}`)
    return name
  }
}

/** As the room's owner, through its settings page: gives `user` `role` (adding them). */
User.prototype.setMember = async function (room, user, role) {
  const response = await this.submit(`/rooms/${room}/settings`, `/rooms/${room}/members`, { username: user.username, role })
  assert.equal(response.status, 303, `setting ${user.username}'s role answered ${response.status}`)
}

/** As the room's owner: removes `user` from the room. */
User.prototype.removeMember = async function (room, user) {
  const response = await this.submit(`/rooms/${room}/settings`, `/rooms/${room}/members/${user.username}/remove`, {})
  assert.equal(response.status, 303, `removing ${user.username} answered ${response.status}`)
}

/** A new account, registered and logged in. */
export const registerUser = (server, prefix) => new User(server, uniqueName(prefix)).register()
