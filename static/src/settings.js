// Entry point of a room's settings page (bundled to static/dist/settings.js): the copy button of
// a share link just created. A button[data-copy] copies the value of the input it names, and
// says so on itself for a moment; where the clipboard is not available (an http page other than
// localhost) the link is selected for the user to copy.

for (const button of document.querySelectorAll('button[data-copy]')) {
  const field = document.getElementById(button.dataset.copy)
  if (!field) continue
  const label = button.textContent
  button.addEventListener('click', async () => {
    field.select()
    try {
      await navigator.clipboard.writeText(field.value)
      button.textContent = 'Copied'
    } catch {
      button.textContent = 'Press Ctrl+C to copy'
    }
    setTimeout(() => { button.textContent = label }, 2000)
  })
}
