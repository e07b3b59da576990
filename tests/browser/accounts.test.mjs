// Accounts in real Chromium: a password change ends the user's other sessions (their open room
// says so, their next page is the login page) while the browser that changed it stays signed
// in; and `next` is kept through signing up, from a room's address and from a share link, so a
// new user lands in the room they were going to (as a member with the link's role).
import assert from 'node:assert/strict'
import { eventually, uniqueName, waitLive, editorText, typeAtEnd, PASSWORD } from './support/browser.mjs'
import { browserSuite } from './support/suite.mjs'

const { scenario } = browserSuite()

const NEW_PASSWORD = 'a brand new passphrase 7'

/** The connection badge of a room page. */
const connection = (page) =>
  page.locator('#connection-status').evaluate((el) => ({ state: el.dataset.state, text: el.textContent }))

/** The login page, asked to send the visitor on to `next` afterwards. */
const assertLoginFor = (page, next) => {
  const url = new URL(page.url())
  assert.equal(url.pathname, '/accounts/login', `landed on ${page.url()}`)
  assert.equal(url.searchParams.get('next'), next)
}

/**
 * On a login page: follows `link` to the register form, checks that it still says where the
 * visitor is going (`destination`), signs `user` up there and waits for the page to land on
 * `landing`.
 */
const signUpFrom = async (page, user, link, destination, landing) => {
  await Promise.all([
    page.waitForURL((url) => url.pathname === '/accounts/register'),
    link.click()
  ])
  assert.match(await page.locator('.destination').textContent(), destination)
  const form = page.locator('form[action="/accounts/register"]')
  await form.locator('input[name="username"]').fill(user.name)
  await form.locator('input[name="password"]').fill(PASSWORD)
  await form.locator('input[name="password_confirm"]').fill(PASSWORD)
  await Promise.all([
    page.waitForURL((url) => url.pathname === landing),
    form.locator('[type="submit"]').click()
  ])
}

scenario('a password change signs out the room open in another browser, whose next page is the login page; the changing browser stays signed in', async (s) => {
  const alice = await s.newUser('alice')
  const room = uniqueName('pwchange')
  const a = await alice.createRoom(room)
  const elsewhere = await s.sameUserElsewhere(alice)
  const b = await elsewhere.openRoom(room)
  await typeAtEnd(a, 'Before the change.')
  await eventually(async () => assert.equal(await editorText(b), 'Before the change.'), { what: 'the text in the other browser' })

  // Browser A changes the password on the account page, reached from the header.
  const account = await alice.newPage()
  await account.goto('/')
  await Promise.all([
    account.waitForURL((url) => url.pathname === '/accounts/password'),
    account.locator('.site-nav a', { hasText: 'Account' }).click()
  ])
  const form = account.locator('form[action="/accounts/password"]')
  await form.locator('input[name="current_password"]').fill(PASSWORD)
  await form.locator('input[name="password"]').fill(NEW_PASSWORD)
  await form.locator('input[name="password_confirm"]').fill(NEW_PASSWORD)
  await Promise.all([
    account.waitForURL((url) => url.pathname === '/accounts/password' && url.searchParams.has('changed')),
    form.locator('[type="submit"]').click()
  ])
  assert.match(await account.locator('.notice').textContent(), /password was changed/i)

  // Browser B: its room page says it is signed out (the socket closed with 4401) ...
  await eventually(async () => {
    const status = await connection(b)
    assert.equal(status.state, 'closed', `status: ${JSON.stringify(status)}`)
    assert.match(status.text, /signed out/i)
  }, { what: 'the signed-out notice in the other browser' })
  // ... and its next navigation, reloading the room, lands on the login page naming the room.
  await b.reload()
  assertLoginFor(b, `/rooms/${room}`)
  assert.match(await b.locator('.destination').textContent(), new RegExp(room))
  assert.equal(await b.locator('.site-nav .whoami').count(), 0, 'browser B shows no signed-in user')

  // Browser A stays signed in: its room page comes back live, typing there reaches the server,
  // and the header still names the user.
  await eventually(async () => assert.equal((await connection(a)).state, 'connected'), { what: 'browser A\'s room page live again' })
  await typeAtEnd(a, ' After.')
  const check = await alice.openRoom(room)
  await eventually(async () => assert.equal(await editorText(check), 'Before the change. After.'), { what: 'A\'s edit after the change' })
  assert.match(await check.locator('.site-nav .whoami').textContent(), new RegExp(alice.name))
})

scenario('a signed-out visitor who opens a room is sent to log in, signs up from there and lands in the room', async (s) => {
  const owner = await s.newUser('owner')
  const room = uniqueName('nextroom')
  await owner.createRoom(room)

  // Through the "Create an account" link under the login form.
  const carol = await s.newUser('carol', { register: false })
  const page = await carol.newPage()
  await page.goto(`/rooms/${room}`)
  assertLoginFor(page, `/rooms/${room}`)
  assert.match(await page.locator('.destination').textContent(), new RegExp(`open the room ${room}`))
  const under = page.locator('.card .aside a', { hasText: 'Create an account' })
  await signUpFrom(page, carol, under, new RegExp(room), `/rooms/${room}`)
  await waitLive(page)
  assert.equal(await page.locator('#room').getAttribute('data-role'), 'editor')

  // Through the header's "Sign up" button, the one that catches the eye.
  const dave = await s.newUser('dave', { register: false })
  const other = await dave.newPage()
  await other.goto(`/rooms/${room}`)
  assertLoginFor(other, `/rooms/${room}`)
  const header = other.locator('.site-nav a', { hasText: 'Sign up' })
  await signUpFrom(other, dave, header, new RegExp(room), `/rooms/${room}`)
  await waitLive(other)
})

scenario('a share link opened signed out leads through sign-up into the room, as a member with the link\'s role', async (s) => {
  const owner = await s.newUser('owner')
  const room = uniqueName('linkroom')
  await owner.createRoom(room, { visibility: 'private' })

  // The owner creates a viewer link with the settings form.
  const settings = await owner.newPage()
  await settings.goto(`/rooms/${room}/settings`)
  const create = settings.locator(`form[action="/rooms/${room}/links"]`)
  await create.locator('#link-role').selectOption('viewer')
  await Promise.all([
    settings.waitForURL((url) => url.pathname === `/rooms/${room}/links`),
    create.locator('[type="submit"]').click()
  ])
  const link = new URL(await settings.locator('#new-link').inputValue())

  const erin = await s.newUser('erin', { register: false })
  const page = await erin.newPage()
  await page.goto(link.pathname)
  assertLoginFor(page, link.pathname)
  assert.match(await page.locator('.destination').textContent(), /join the room you were invited to/)
  const signUp = page.locator('.card .aside a', { hasText: 'Create an account' })
  await signUpFrom(page, erin, signUp, /join the room you were invited to/, `/rooms/${room}`)
  await waitLive(page)
  assert.equal(await page.locator('#room').getAttribute('data-role'), 'viewer')
  assert.match(await page.locator('#room-access').textContent(), /You are a viewer/)

  // The owner's settings list the new member with the link's role, and the link as used once.
  await settings.goto(`/rooms/${room}/settings`)
  assert.equal(await settings.locator(`tr[data-member="${erin.name}"] select[name="role"]`).inputValue(), 'viewer')
  assert.match(await settings.locator('tr[data-link] td').nth(3).textContent(), /^1/)
})
