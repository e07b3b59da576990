// Stock Hocuspocus (@hocuspocus/server 4.7) on 127.0.0.1:PORT with no extensions: no
// persistence, no auth hook (any token is accepted), default settings otherwise. A baseline for
// `chatspace-load` (benches/load/run.sh). Usage: PORT=1235 node hocuspocus-server.mjs
import { Server } from '@hocuspocus/server'

const port = Number.parseInt(process.env.PORT || '1235', 10)
const server = new Server({ port, address: '127.0.0.1', quiet: true })
await server.listen()
console.log(`hocuspocus listening on 127.0.0.1:${port}`)
