// Turns the JSON results of one `benches/load/run.sh` run (a directory of *.json files written
// by `chatspace-load run --json` / `idle --json`) into the markdown tables of
// docs/benchmarks.md, with ratios ChatSpace / each baseline.
// Usage: node benches/load/report.mjs RESULTS_DIR P99_BOUND_MS
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

const [dir, boundArg] = process.argv.slice(2)
const bound = Number(boundArg || 250)
const servers = ['chatspace', 'y-websocket', 'hocuspocus']
const baselines = servers.slice(1)

const load = (name) => {
  try {
    return JSON.parse(readFileSync(join(dir, name), 'utf8'))
  } catch {
    return null
  }
}
const fmt = (x, digits = 0) =>
  x === undefined || x === null || Number.isNaN(x)
    ? 'n/a'
    : x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
const ratio = (a, b) => (a && b ? `${(a / b).toFixed(2)}x` : 'n/a')
const mib = (kib) => (kib ? fmt(kib / 1024, 1) : 'n/a')
/** Server CPU time per delivered update, in microseconds. */
const cpuPerUpdate = (r) =>
  r?.server && r.delivered_per_s ? (r.server.cpu_mean_pct / 100) * 1e6 / r.delivered_per_s : undefined

/** Whether a step kept up: p99 within `limit`, every edit delivered, the requested rate sent. */
const passes = (r, limit = bound) =>
  r && r.converged && r.errors === 0 && r.latency_ms.p99 <= limit &&
  r.delivery_ratio >= 0.999 && r.delivered_per_s >= 0.95 * r.offered_per_s &&
  r.offered_per_s >= 0.95 * r.requested_per_s

const out = []
const table = (head, rows) => {
  out.push(`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`)
  for (const row of rows) out.push(`| ${row.join(' | ')} |`)
  out.push('')
}

// A FANOUT=1 run holds only the fan-out step-up: its own tables (report-fanout.mjs).
if (readdirSync(dir).some((f) => f.includes('-fanout-'))) {
  const { fanout } = await import('./report-fanout.mjs')
  fanout({ dir, load, fmt, ratio, passes, table, out, servers, bound })
  console.log(out.join('\n'))
  process.exit(0)
}

/** A server's name in a table: ChatSpace runs with the room page's chat mix say so. */
const named = (s, r) => (r?.mix ? `${s} (mix)` : s)
/** The chat mix's own figures (ChatSpace only), one row per run that sent it. */
const mixTable = (entries) => {
  const mixed = entries.filter(([, r]) => r?.mix)
  if (mixed.length === 0) return
  const m0 = mixed[0][1].mix
  out.push(`Chat mix (ChatSpace only): writers type in bursts of ${m0.burst_secs} s with pauses of ${m0.pause_secs} s (same mean rate), a \`since\` 0.4 s into each pause, a chat message per ${m0.chat_every_secs} s of typing.`, '')
  table(['run', 'chat sent', 'acked', 'messages seen', 'since sent', 'answered', 'send→ack p50 / p99 ms', 'since→history p50 / p99 ms'],
    mixed.map(([label, { mix: m }]) => [label, fmt(m.chat_sent), fmt(m.chat_acked), fmt(m.chat_delivered), fmt(m.since_sent),
      fmt(m.since_answered), `${fmt(m.ack_ms.p50, 2)} / ${fmt(m.ack_ms.p99, 2)}`, `${fmt(m.history_ms.p50, 2)} / ${fmt(m.history_ms.p99, 2)}`]))
}

// 1. The offered load, the same for every server (ChatSpace also without the mix when it ran with it).
const offered = Object.fromEntries(servers.map((s) => [s, load(`${s}-offered.json`)]))
const unmixed = load('chatspace-offered-nomix.json')
const offeredRows = [
  ...servers.map((s) => [named(s, offered[s]), offered[s]]),
  ...(unmixed ? [['chatspace (no mix)', unmixed]] : []),
]
const o0 = Object.values(offered).find(Boolean)
if (o0) {
  out.push(`### Offered load: ${o0.rooms} rooms x ${o0.clients_per_room} clients, ${o0.writers_per_room} writers per room at ${o0.rate_hz} Hz, ${fmt(o0.window_s)} s measured`, '')
  table(
    ['server', 'delivered updates/s', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'delivered', 'server CPU', 'server CPU us/update', 'server RSS peak MiB', 'generator CPU', 'result'],
    offeredRows.map(([label, r]) => {
      if (!r) return [label, 'failed', '', '', '', '', '', '', '', '', '', '']
      const l = r.latency_ms
      return [label, fmt(r.delivered_per_s), fmt(l.p50, 2), fmt(l.p95, 2), fmt(l.p99, 2), fmt(l.max, 1),
        `${fmt(r.delivery_ratio * 100, 2)}%`, `${fmt(r.server?.cpu_mean_pct)}%`, fmt(cpuPerUpdate(r), 1), mib(r.server?.rss_peak_kib),
        `${fmt(r.generator.cpu_mean_pct)}%`, r.converged ? 'CONVERGED' : 'DIVERGED']
    }),
  )
  mixTable(offeredRows)
  const c = offered.chatspace
  table(['ratio', ...baselines.map((b) => `ChatSpace / ${b}`)], [
    ['delivered updates/s', ...baselines.map((b) => ratio(c?.delivered_per_s, offered[b]?.delivered_per_s))],
    [`p99 latency${c?.mix ? ' (ChatSpace with the mix)' : ''}`, ...baselines.map((b) => ratio(c?.latency_ms.p99, offered[b]?.latency_ms.p99))],
    ...(unmixed ? [['p99 latency (ChatSpace without the mix)', ...baselines.map((b) => ratio(unmixed.latency_ms.p99, offered[b]?.latency_ms.p99))]] : []),
    ['server CPU per update', ...baselines.map((b) => ratio(cpuPerUpdate(c), cpuPerUpdate(offered[b])))],
  ])
}

// 2. Saturation: the step-up runs of each server.
const steps = (s) =>
  readdirSync(dir)
    .filter((f) => f.startsWith(`${s}-step-`) && f.endsWith('.json'))
    .map((f) => load(f))
    .filter(Boolean)
    .sort((a, b) => a.rate_hz - b.rate_hz)
const saturation = {}
for (const s of servers) {
  const all = steps(s)
  const ok = all.filter((r) => passes(r))
  const best = ok.reduce((m, r) => (!m || r.delivered_per_s > m.delivered_per_s ? r : m), null)
  saturation[s] = best
  if (all.length === 0) continue
  out.push(`### Step-up: ${named(s, all[0])}`, '')
  table(['rate Hz/writer', 'requested/s', 'offered/s', 'delivered updates/s', 'p50 ms', 'p99 ms', 'delivered', 'server CPU', 'generator CPU', 'errors', 'kept up'],
    all.map((r) => [fmt(r.rate_hz), fmt(r.requested_per_s), fmt(r.offered_per_s), fmt(r.delivered_per_s), fmt(r.latency_ms.p50, 2),
      fmt(r.latency_ms.p99, 1), `${fmt(r.delivery_ratio * 100, 2)}%`, `${fmt(r.server?.cpu_mean_pct)}%`,
      `${fmt(r.generator.cpu_mean_pct)}%`, fmt(r.errors), passes(r) ? 'yes' : 'no']))
}
if (servers.some((s) => steps(s).length > 0)) {
  out.push(`### Saturation throughput (highest delivered updates/s with p99 <= ${bound} ms, every edit delivered)`, '')
  table(['server', 'delivered updates/s', 'at Hz/writer', 'p99 ms', 'server CPU'],
    servers.map((s) => {
      const r = saturation[s]
      return r ? [s, fmt(r.delivered_per_s), fmt(r.rate_hz), fmt(r.latency_ms.p99, 1), `${fmt(r.server?.cpu_mean_pct)}%`]
        : [s, 'no step passed', '', '', '']
    }))
  table(['ratio', ...baselines.map((b) => `ChatSpace / ${b}`)], [
    ['saturation throughput', ...baselines.map((b) => ratio(saturation.chatspace?.delivered_per_s, saturation[b]?.delivered_per_s))],
  ])

  // Equal p99: the same step-up runs read with tighter latency bounds, so every server is compared
  // at the same p99 and not only at the loosest bound.
  const bounds = [10, 25, 50, 100, bound].filter((b, i, all) => b <= bound && all.indexOf(b) === i)
  const bestWithin = (s, limit) =>
    steps(s).filter((r) => passes(r, limit)).reduce((m, r) => (!m || r.delivered_per_s > m.delivered_per_s ? r : m), null)
  out.push('### Throughput at equal p99 (highest delivered updates/s of a step that kept up with p99 within the bound)', '')
  table(['p99 bound ms', ...servers, ...baselines.map((b) => `ChatSpace / ${b}`)],
    bounds.map((limit) => {
      const best = Object.fromEntries(servers.map((s) => [s, bestWithin(s, limit)]))
      const cell = (r) => (r ? `${fmt(r.delivered_per_s)} (p99 ${fmt(r.latency_ms.p99, 1)})` : 'none')
      return [fmt(limit), ...servers.map((s) => cell(best[s])),
        ...baselines.map((b) => ratio(best.chatspace?.delivered_per_s, best[b]?.delivered_per_s))]
    }))
}

// 2b. Where the server's CPU goes: the kernel's TCP send path, from `perf record` during a second
// run of the offered load (sampling slows a server a little, so the headline table is unsampled).
const profiled = Object.fromEntries(servers.map((s) => [s, load(`${s}-profiled.json`)]))
const sendShares = Object.fromEntries(servers.map((s) => [s, load(`${s}-send-profile.json`)]))
if (Object.values(sendShares).some(Boolean)) {
  out.push('### The kernel\'s TCP send path (perf, offered load run again, 6 s sampled)', '')
  /** Microseconds of server CPU per delivered update spent in a share `pct` of its samples. */
  const usPer = (r, pct) => (pct === null || pct === undefined ? undefined : (cpuPerUpdate(r) * pct) / 100)
  table(['server', 'delivered updates/s', 'server CPU us/update', 'kernel us/update', 'TCP send us/update',
    'TCP send share', 'TCP send alone: updates/s per core'],
  servers.map((s) => {
    const r = profiled[s]
    const p = sendShares[s]
    if (!r || !p) return [s, 'failed', '', '', '', '', '']
    const send = usPer(r, p.tcp_send_pct)
    return [s, fmt(r.delivered_per_s), fmt(cpuPerUpdate(r), 1), fmt(usPer(r, p.kernel_pct), 1), fmt(send, 1),
      p.tcp_send_pct === null ? 'n/a' : `${fmt(p.tcp_send_pct, 1)}%`, send ? fmt(1e6 / send) : 'n/a']
  }))
}

// 3. Trace replay.
const traces = Object.fromEntries(servers.map((s) => [s, load(`${s}-trace.json`)]))
const t0 = Object.values(traces).find(Boolean)
if (t0) {
  out.push(`### Trace replay: ${t0.mode}, ${t0.rooms} rooms x ${t0.clients_per_room} clients (${t0.writers_per_room} agents each)`, '')
  table(['server', 'replay s', 'delivered updates/s', 'p50 ms', 'p99 ms', 'server CPU', 'result'],
    servers.map((s) => {
      const r = traces[s]
      return r ? [s, fmt(r.window_s, 1), fmt(r.delivered_per_s), fmt(r.latency_ms.p50, 2), fmt(r.latency_ms.p99, 1),
        `${fmt(r.server?.cpu_mean_pct)}%`, r.converged ? 'CONVERGED (endContent)' : `DIVERGED: ${r.problems[0] ?? ''}`]
        : [s, 'failed', '', '', '', '', '']
    }))
}

// 4. Idle connections.
const idle = Object.fromEntries(servers.map((s) => [s, load(`${s}-idle.json`)]))
const i0 = Object.values(idle).find(Boolean)
if (i0) {
  out.push(`### Idle connections: ${fmt(i0.connections)} synced sockets in ${i0.rooms} rooms`, '')
  table(['server', 'RSS before MiB', 'RSS with all MiB', 'bytes per connection', 'incl. rooms', 'ChatSpace / this'],
    servers.map((s) => {
      const r = idle[s]
      return r ? [s, mib(r.rss_before_kib), mib(r.rss_all_kib), fmt(r.bytes_per_connection), fmt(r.bytes_per_connection_with_rooms),
        s === 'chatspace' ? '' : ratio(idle.chatspace?.bytes_per_connection, r.bytes_per_connection)]
        : [s, 'failed', '', '', '', '']
    }))
}
// 5. MIX_COMPARE=1: the offered load on ChatSpace servers (this one, and BEFORE_BIN), with and
// without the mix, in interleaved rounds (files compare-SERVER-mix|nomix-ROUND.json).
const compared = readdirSync(dir)
  .map((f) => f.match(/^compare-(.+)-(mix|nomix)-(\d+)\.json$/))
  .filter(Boolean)
  .map(([f, server, mix, round]) => ({ server, mix: mix === 'mix', round: Number(round), r: load(f) }))
if (compared.length > 0) {
  const median = (xs) => {
    const v = xs.filter((x) => typeof x === 'number').sort((a, b) => a - b)
    return v.length === 0 ? undefined : v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2
  }
  const groups = []
  for (const c of compared.sort((a, b) => a.round - b.round)) {
    let g = groups.find((x) => x.server === c.server && x.mix === c.mix)
    if (!g) groups.push((g = { server: c.server, mix: c.mix, runs: [] }))
    g.runs.push(c.r)
  }
  groups.sort((a, b) => a.server.localeCompare(b.server) || Number(b.mix) - Number(a.mix))
  const r0 = compared.find((c) => c.r)?.r
  out.push(`### With and without the chat mix${r0 ? `: ${r0.rooms} rooms x ${r0.clients_per_room} clients, ${r0.writers_per_room} writers per room at ${r0.rate_hz} Hz, ${fmt(r0.window_s)} s measured` : ''}`, '')
  table(['server', 'mix', 'p99 ms per round', 'median p99 ms', 'median p50 ms', 'median delivered/s', 'median server CPU', 'send→ack p99 ms', 'since→history p99 ms', 'all converged'],
    groups.map((g) => {
      const ok = g.runs.filter(Boolean)
      return [g.server, g.mix ? 'yes' : 'no', g.runs.map((r) => (r ? fmt(r.latency_ms.p99, 1) : 'failed')).join(', '),
        fmt(median(ok.map((r) => r.latency_ms.p99)), 1), fmt(median(ok.map((r) => r.latency_ms.p50)), 2),
        fmt(median(ok.map((r) => r.delivered_per_s))), `${fmt(median(ok.map((r) => r.server?.cpu_mean_pct)))}%`,
        g.mix ? fmt(median(ok.map((r) => r.mix?.ack_ms.p99)), 1) : '', g.mix ? fmt(median(ok.map((r) => r.mix?.history_ms.p99)), 1) : '',
        ok.length === g.runs.length && ok.every((r) => r.converged && r.errors === 0) ? 'yes' : 'no']
    }))
}

// 6. MULTINODE=1: the offered load on one node (SQLite), one node (PostgreSQL) and two nodes
// (PostgreSQL + Redis, writers on node 1, readers on node 2), in rotating rounds (files
// multinode-WAY-ROUND.json, with -backing.json: PostgreSQL's and Redis's CPU seconds, and
// -nodeN.metrics: each node's /metrics at the end of the run).
const ways = {
  sqlite: 'one node, SQLite', pg: 'one node, PostgreSQL', two: 'two nodes, PostgreSQL + Redis',
  same: 'two nodes, everyone on node 1',
}
const metricsOf = (file) => {
  try {
    return readFileSync(join(dir, file), 'utf8')
  } catch {
    return ''
  }
}
/** The value of `series` (its whole name with labels, as exported) in a /metrics text. */
const metric = (text, series) => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line ? Number(line.slice(series.length + 1)) : undefined
}
const multi = readdirSync(dir)
  .map((f) => f.match(/^multinode-(sqlite|pg|two|same)-(\d+)\.json$/))
  .filter(Boolean)
  .map(([f, way, round]) => {
    const base = f.replace(/\.json$/, '')
    const [node1, node2] = [1, 2].map((n) => metricsOf(`${base}-node${n}.metrics`))
    return {
      way, round: Number(round), r: load(f), backing: load(`${base}-backing.json`), node2,
      gaps: [node1, node2].map((t) => metric(t, 'chatspace_bus_gap_fetches_total') ?? 0).reduce((a, b) => a + b, 0),
    }
  })
if (multi.length > 0) {
  const median = (xs) => {
    const v = xs.filter((x) => typeof x === 'number' && !Number.isNaN(x)).sort((a, b) => a - b)
    return v.length === 0 ? undefined : v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2
  }
  /** "median (lowest-highest)" of the rounds. */
  const spread = (xs, digits = 0, unit = '') => {
    const v = xs.filter((x) => typeof x === 'number' && !Number.isNaN(x))
    if (v.length === 0) return 'n/a'
    const [lo, hi] = [Math.min(...v), Math.max(...v)]
    return `${fmt(median(v), digits)}${unit} (${fmt(lo, digits)}-${fmt(hi, digits)})`
  }
  /** Percent of one core a service used while the writers typed (its CPU seconds of the whole run). */
  const typingPct = (m, key) => {
    const cpu = m.backing?.[key]
    return typeof cpu === 'number' && m.r ? (cpu / (m.r.warmup_s + m.r.window_s)) * 100 : undefined
  }
  const lagMs = (m, q) => (metric(m.node2, `chatspace_bus_lag_seconds{quantile="${q}"}`) ?? NaN) * 1000
  const lagMeanMs = (m) => (metric(m.node2, 'chatspace_bus_lag_seconds_sum') / metric(m.node2, 'chatspace_bus_lag_seconds_count')) * 1000
  const serverCpu = (r) => (r?.server?.cpu_mean_pct ?? 0) + (r?.reader_server?.cpu_mean_pct ?? 0)
  const cpuPerUpdateAll = (r) => (r?.delivered_per_s ? (serverCpu(r) / 100) * 1e6 / r.delivered_per_s : undefined)
  const byWay = Object.keys(ways).map((way) => [way, multi.filter((m) => m.way === way).sort((a, b) => a.round - b.round)])
  const r0 = multi.find((m) => m.r)?.r
  out.push(`### Several nodes${r0 ? `: ${r0.rooms} rooms x ${r0.clients_per_room} clients, ${r0.writers_per_room} writers per room at ${r0.rate_hz} Hz${r0.mix ? ' with the chat mix' : ''}, ${fmt(r0.window_s)} s measured` : ''}, median (lowest-highest) of the rounds`, '')
  table(['way', 'p50 ms', 'p99 ms', 'p99 ms per round', 'max ms', 'delivered updates/s', 'node 1 CPU', 'node 2 CPU',
    'PostgreSQL CPU', 'Redis CPU', 'wait for a CPU per run us (node 1 / 2)', 'bus lag mean / p99 / max ms', 'catch-ups', 'all converged, every edit delivered'],
  byWay.filter(([, ms]) => ms.length > 0).map(([way, ms]) => {
    const ok = ms.filter((m) => m.r)
    const rs = ok.map((m) => m.r)
    return [ways[way], spread(rs.map((r) => r.latency_ms.p50), 2), spread(rs.map((r) => r.latency_ms.p99), 1),
      ms.map((m) => (m.r ? fmt(m.r.latency_ms.p99, 1) : 'failed')).join(', '), spread(rs.map((r) => r.latency_ms.max), 1),
      spread(rs.map((r) => r.delivered_per_s)), spread(rs.map((r) => r.server?.cpu_mean_pct), 0, '%'),
      way === 'two' ? spread(rs.map((r) => r.reader_server?.cpu_mean_pct), 0, '%') : '',
      spread(ok.map((m) => typingPct(m, 'postgres_cpu_s')), 0, '%'), spread(ok.map((m) => typingPct(m, 'redis_cpu_s')), 1, '%'),
      [1, 2].map((n) => fmt(median(ok.map((m) => m.backing?.[`node${n}_wait_us`]).filter((x) => x >= 0))))
        .filter((x, i) => i === 0 || way === 'two').join(' / '),
      way === 'two' ? [median(ok.map(lagMeanMs)), median(ok.map((m) => lagMs(m, '0.99'))), Math.max(...ok.map((m) => lagMs(m, '1')))]
        .map((x, i) => fmt(x, i === 0 ? 2 : 0)).join(' / ') : '',
      ok.some((m) => m.node2) ? fmt(ok.reduce((n, m) => n + m.gaps, 0)) : '',
      ok.length === ms.length && rs.every((r) => r.converged && r.errors === 0 && r.delivery_ratio >= 0.999) ? 'yes' : 'no']
  }))
  const med = Object.fromEntries(byWay.map(([way, ms]) => {
    const rs = ms.map((m) => m.r).filter(Boolean)
    return [way, {
      p50: median(rs.map((r) => r.latency_ms.p50)), p99: median(rs.map((r) => r.latency_ms.p99)),
      delivered: median(rs.map((r) => r.delivered_per_s)), cpu: median(rs.map(cpuPerUpdateAll)),
    }]
  }))
  out.push('PostgreSQL and Redis CPU: their CPU seconds over the whole generator run (connecting and draining included) over the typing time; both are the machine\'s shared services, so the SQLite row shows what others cost them meanwhile. Bus lag: node 2\'s `chatspace_bus_lag_seconds` over every notice of the run (publication on node 1 to reading on node 2, read off Redis entry ids, so whole milliseconds: the mean is the telling figure), medians of the rounds and the highest max. Wait for a CPU: how long the node\'s threads waited for the core after becoming runnable, per time they ran (/proc schedstat, whole run). Catch-ups: both nodes\' `chatspace_bus_gap_fetches_total`, all rounds.', '')
  const compared = byWay.filter(([w, ms]) => w !== 'sqlite' && ms.length > 0).map(([w]) => w)
  table(['ratio of medians', ...compared.map((w) => `${ways[w]} / ${ways.sqlite}`)], [
    ['p50 edit-to-delivery', ...compared.map((w) => ratio(med[w].p50, med.sqlite.p50))],
    ['p99 edit-to-delivery', ...compared.map((w) => ratio(med[w].p99, med.sqlite.p99))],
    ['delivered updates/s', ...compared.map((w) => ratio(med[w].delivered, med.sqlite.delivered))],
    ['ChatSpace CPU per delivered update (both nodes)', ...compared.map((w) => ratio(med[w].cpu, med.sqlite.cpu))],
  ])
}
console.log(out.join('\n'))
