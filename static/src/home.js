// Entry point of the home page (bundled to static/dist/home.js): filters the room directory as
// the user types. Matching is a case-insensitive substring test on each room's data-name.

const input = document.getElementById('room-filter')
const directory = document.getElementById('room-directory')
const empty = document.getElementById('room-filter-empty')

/**
 * `hidden` for assistive technology, and an inline display so that a stylesheet that gives the
 * element a display of its own (which outranks the browser's `[hidden]` rule) cannot show it.
 */
const show = (element, visible) => {
  element.hidden = !visible
  element.style.display = visible ? '' : 'none'
}

const applyFilter = () => {
  const query = input.value.trim().toLowerCase()
  let shown = 0
  for (const item of directory.querySelectorAll('li[data-name]')) {
    const match = query === '' || item.dataset.name.toLowerCase().includes(query)
    show(item, match)
    if (match) shown++
  }
  // "No rooms match" only makes sense for a query; an empty directory has its own text.
  if (empty) show(empty, shown === 0 && query !== '')
}

if (input && directory) {
  input.addEventListener('input', applyFilter)
  // Browsers may restore the field's value on back navigation.
  applyFilter()
}
