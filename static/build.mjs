// Builds the browser bundles that the server embeds: dist/room.js, dist/home.js and
// dist/settings.js.
//
//   node build.mjs           write dist/
//   node build.mjs --check   build in memory and fail if dist/ differs (for CI)
//
// The output must be byte-for-byte reproducible from package-lock.json: esbuild is pinned to an
// exact version, no source maps or absolute paths are emitted, and nothing depends on the time
// or the machine.
import * as esbuild from 'esbuild'
import { readFile, writeFile, mkdir } from 'node:fs/promises'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const check = process.argv.includes('--check')

const result = await esbuild.build({
  absWorkingDir: here,
  entryPoints: { room: 'src/room.js', home: 'src/home.js', settings: 'src/settings.js' },
  outdir: 'dist',
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2020',
  minify: true,
  sourcemap: false,
  legalComments: 'eof',
  charset: 'utf8',
  write: false,
  logLevel: 'warning'
})

const stale = []
for (const file of result.outputFiles) {
  const target = file.path
  const name = relative(here, target)
  if (check) {
    const committed = await readFile(target).catch(() => null)
    if (committed === null || !Buffer.from(file.contents).equals(committed)) stale.push(name)
  } else {
    await mkdir(dirname(target), { recursive: true })
    await writeFile(target, file.contents)
    console.log(`${name}  ${file.contents.length.toLocaleString('en')} bytes`)
  }
}

if (stale.length > 0) {
  console.error(`out of date (run npm run build in static/): ${stale.join(', ')}`)
  process.exit(1)
}
if (check) console.log(`dist/ is up to date (${result.outputFiles.length} files)`)
