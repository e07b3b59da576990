// Entry point of the home page (bundled to static/dist/home.js): filters each room list ("Your
// rooms", "Public rooms") as the user types in its own filter box. An input.room-filter names
// its list in data-filters and its "no rooms match" note in data-empty. Matching is a
// case-insensitive substring test on each room's data-name.

/**
 * `hidden` for assistive technology, and an inline display so that a stylesheet that gives the
 * element a display of its own (which outranks the browser's `[hidden]` rule) cannot show it.
 */
const show = (element, visible) => {
  element.hidden = !visible
  element.style.display = visible ? '' : 'none'
}

const filterList = (input, directory, empty) => {
  const query = input.value.trim().toLowerCase()
  let shown = 0
  for (const item of directory.querySelectorAll('li[data-name]')) {
    const match = query === '' || item.dataset.name.toLowerCase().includes(query)
    show(item, match)
    if (match) shown++
  }
  // "No rooms match" only makes sense for a query; an empty list has its own text.
  if (empty) show(empty, shown === 0 && query !== '')
}

for (const input of document.querySelectorAll('input.room-filter[data-filters]')) {
  const directory = document.getElementById(input.dataset.filters)
  if (!directory) continue
  const empty = document.getElementById(input.dataset.empty)
  const apply = () => filterList(input, directory, empty)
  input.addEventListener('input', apply)
  // Browsers may restore the field's value on back navigation.
  apply()
}
