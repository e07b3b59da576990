// The tables of a FANOUT=1 run of benches/load/run.sh (called by report.mjs): per server and
// step, delivered edits/s and latency, what each delivered edit cost (frames and bytes received,
// server CPU, server system calls at SYSCALL_STEP) and how busy the generator was. A step where
// the generator was above 80% of its cores is generator-bound: it says nothing about the server.
import { readdirSync } from 'node:fs'

/** Syscall families, by tracepoint name. */
const families = {
  write: ['write', 'writev', 'sendto', 'sendmsg', 'sendmmsg', 'pwrite64'],
  read: ['read', 'readv', 'recvfrom', 'recvmsg', 'recvmmsg', 'pread64'],
  poll: ['epoll_wait', 'epoll_pwait', 'epoll_pwait2', 'epoll_ctl', 'poll', 'ppoll', 'io_uring_enter'],
  futex: ['futex', 'futex_wait', 'futex_wake'],
}

export function fanout({ dir, load, fmt, ratio, passes, table, out, servers, bound }) {
  const stepOf = (f, s) => f.slice(`${s}-fanout-`.length, -'.json'.length)
  const size = (step) => step.split('x').map(Number)
  const runs = Object.fromEntries(servers.map((s) => [s, readdirSync(dir)
    .filter((f) => f.startsWith(`${s}-fanout-`) && f.endsWith('.json') && !f.includes('-syscalls'))
    .map((f) => [stepOf(f, s), load(f)])
    .filter(([, r]) => r)
    .sort(([a], [b]) => size(a)[0] * size(a)[1] - size(b)[0] * size(b)[1] || size(a)[1] - size(b)[1])]))
  const steps = [...new Set(Object.values(runs).flat().map(([step]) => step))]
    .sort((a, b) => size(a)[0] * size(a)[1] - size(b)[0] * size(b)[1])
  const r0 = Object.values(runs).flat()[0]?.[1]
  if (!r0) return
  // Generator-bound: the generator used or waited for more than 80% of its cores (cost.rs).
  const bound80 = (r) => (r.generator.cpu_mean_pct + (r.generator.cpu_wait_pct ?? 0)) / r.generator_cores > 80
  const verdict = (r) => (bound80(r) ? 'generator-bound' : passes(r) ? 'yes' : 'no')
  out.push(`### Fan-out step-up: W writers x R readers in ${r0.rooms} room(s), ${r0.rate_hz} edits/s per writer, ${r0.window_s} s measured`, '')
  out.push('Waiting: how long the process\'s threads were runnable but waited for a CPU, in percent of the window (`/proc/PID/task/*/schedstat`): other processes on its core.', '')
  out.push('Delivered edits/s (p99 ms); `GB`: the generator used or waited for more than 80% of its cores (a generator figure, not the server\'s); `x`: the step did not keep up (p99 <= ' + bound + ' ms, every edit delivered).', '')
  table(['step (W x R)', ...servers], steps.map((step) => [step, ...servers.map((s) => {
    const r = runs[s].find(([st]) => st === step)?.[1]
    if (!r) return 'not run'
    const marks = [bound80(r) ? 'GB' : '', passes(r) ? '' : 'x'].filter(Boolean).join(' ')
    return `${fmt(r.delivered_per_s)} (${fmt(r.latency_ms.p99, 1)})${marks ? ` ${marks}` : ''}`
  })]))
  for (const s of servers) {
    if (runs[s].length === 0) continue
    out.push(`#### ${s}${runs[s][0][1].mix ? ' (with the chat mix)' : ''}`, '')
    table(['step', 'offered edits/s', 'delivered edits/s', 'delivered', 'p50 ms', 'p99 ms', 'frames / edit', 'bytes / edit',
      'server CPU (waiting for it)', 'server CPU us / edit', 'generator CPU of its cores (waiting)', 'kept up'],
    runs[s].map(([step, r]) => [step, fmt(r.offered_per_s), fmt(r.delivered_per_s), `${fmt(r.delivery_ratio * 100, 2)}%`,
      fmt(r.latency_ms.p50, 2), fmt(r.latency_ms.p99, 1), fmt(r.frames_per_edit, 3), fmt(r.bytes_per_edit, 1),
      `${fmt(r.server?.cpu_mean_pct)}% (${fmt(r.server?.cpu_wait_pct)}%)`, fmt(r.server_cpu_us_per_edit, 2),
      `${fmt(r.generator_pct_of_cores)}% of ${r.generator_cores} (${fmt(r.generator.cpu_wait_pct)}%)`, verdict(r)]))
  }
  // System calls per delivered edit, where they were counted.
  // Counted on a run of the step of its own (tracing costs the server CPU): its edits.
  const counted = servers.flatMap((s) => runs[s].map(([step]) =>
    [s, step, load(`${s}-fanout-${step}-syscalls-run.json`), load(`${s}-fanout-${step}-syscalls.json`)]))
    .filter(([, , r, sc]) => r && sc && Object.keys(sc.counts).length > 0)
  if (counted.length === 0) return
  out.push('Server system calls per delivered edit over the measurement window of a second run of the step (`perf stat` on the syscall tracepoints, which costs the server CPU, so the figures of the step above come from an untraced run; the edits of the same window from the generator).', '')
  const sum = (counts, names) => names.reduce((n, name) => n + (counts[name] || 0), 0)
  // `all` is every system call (raw_syscalls:sys_enter); the others are the calls counted by name.
  const total = (counts) => counts.all ?? Object.values(counts).reduce((a, b) => a + b, 0)
  table(['server', 'step', 'all', 'write family', 'read family', 'epoll', 'futex', 'top calls (per edit)'],
    counted.map(([s, step, r, sc]) => {
      const edits = r.delivered_per_s * sc.secs
      const per = (n) => fmt(n / edits, 3)
      const all = total(sc.counts)
      const top = Object.entries(sc.counts).filter(([name]) => name !== 'all').sort(([, a], [, b]) => b - a).slice(0, 4)
        .map(([name, n]) => `${name} ${per(n)}`).join(', ')
      return [s, step, per(all), ...Object.values(families).map((names) => per(sum(sc.counts, names))), top]
    }))
  const byServer = Object.fromEntries(counted.map(([s, , r, sc]) =>
    [s, total(sc.counts) / (r.delivered_per_s * sc.secs)]))
  if (byServer.chatspace) {
    table(['ratio', ...Object.keys(byServer).filter((s) => s !== 'chatspace').map((s) => `ChatSpace / ${s}`)], [
      ['syscalls per delivered edit', ...Object.keys(byServer).filter((s) => s !== 'chatspace').map((s) => ratio(byServer.chatspace, byServer[s]))],
    ])
  }
}
