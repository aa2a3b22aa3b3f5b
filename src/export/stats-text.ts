/** Stats as text: the table of `wsproxy stats` and the TUI session detail, and the headless summary. */
import { closeCodeName } from '../protocol/close-codes.js';
import type { DirectionStats, FaultStats, RttStats, SessionStats } from './stats.js';

const ms = (n: number | null): string => (n === null ? '-' : `${Math.round(n * 10) / 10} ms`);
const pct = (r: number | null): string => (r === null ? '-' : `${(r * 100).toFixed(1)}%`);
const rtt = (r: RttStats | null): string => (r === null ? '-' : `${r.count} · min ${ms(r.minMs)} · median ${ms(r.medianMs)} · max ${ms(r.maxMs)} · last ${ms(r.lastMs)}`);

/** Rows of label, client→server, server→client. */
export function statsRows(s: SessionStats): [string, string, string][] {
  const row = (label: string, f: (d: DirectionStats) => string): [string, string, string] => [label, f(s.client), f(s.server)];
  return [
    row('messages', (d) => String(d.messages)),
    row('frames', (d) => String(d.frames)),
    row('payload bytes', (d) => String(d.payloadBytes)),
    row('wire bytes', (d) => String(d.wireBytes)),
    row('header bytes (mask)', (d) => `${d.headerBytes} (${d.maskBytes})`),
    row('overhead', (d) => pct(d.overhead)),
    row('deflate sent/inflated', (d) => (d.inflatedBytes === 0 ? '-' : `${d.compressedBytes}/${d.inflatedBytes} = ${pct(d.deflateRatio)}`)),
    row('pings/pongs', (d) => `${d.pings}/${d.pongs}`),
    row('ping RTT', (d) => rtt(d.rtt)),
    row('unanswered pings', (d) => String(d.unansweredPings)),
    row('first message', (d) => ms(d.firstMessageMs)),
  ];
}

export function closeText(s: SessionStats): string {
  const c = s.close;
  const code = c.code === null ? 'no status' : `${c.code} ${closeCodeName(c.code)}`;
  const who = c.by === null ? 'still open' : `closed by ${c.by}, ${code}${c.clean === null ? '' : c.clean ? ', clean' : ', unclean'}`;
  return `${who} · close reply ${ms(c.replyMs)} · closing handshake ${ms(c.handshakeMs)} · duration ${ms(s.durationMs)}`;
}

/**
 * The table for one session, as plain lines. Within `width` columns (a pane), a row too wide for
 * them gives its two values a line each under its label, rather than being wrapped across columns.
 */
export function formatStatsTable(s: SessionStats, width = Infinity): string[] {
  const rows: [string, string, string][] = [['', 'client→server', 'server→client'], ...statsRows(s)];
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const fits = (r: [string, string, string]): boolean => r === rows[0] || 2 + w0 + 2 + r[1].length + 2 + r[2].length <= width;
  const w1 = Math.max(...rows.filter(fits).map((r) => r[1].length));
  const faults = s.faults === undefined ? [] : [`  ${faultsText(s.faults)}`];
  const lines = rows.flatMap((r) => {
    const [a, b, c] = r;
    return fits(r) ? [`  ${a.padEnd(w0)}  ${b.padEnd(w1)}  ${c}`.trimEnd()] : [`  ${a}`, `    C→S ${b}`, `    S→C ${c}`];
  });
  return [...lines, ...faults, `  ${closeText(s)}`];
}

/** "faults: 5 (drop 3, delay 2)". */
export function faultsText(f: FaultStats): string {
  const parts = Object.entries(f.byAction).map(([action, n]) => `${action} ${n}`);
  return `faults: ${f.total} (${parts.join(', ')})`;
}

/** One line for the headless close line. */
export function formatStatsSummary(s: SessionStats): string {
  const side = (d: DirectionStats): string => {
    const deflate = d.deflateRatio === null ? '' : ` deflate ${pct(d.deflateRatio)}`;
    const r = d.rtt === null ? '' : ` rtt ${ms(d.rtt.medianMs)} median of ${d.rtt.count}`;
    return `${d.messages} msg ${d.frames} fr ${d.wireBytes} B wire (${pct(d.overhead)} overhead)${deflate}${r}`;
  };
  return `C→S ${side(s.client)} · S→C ${side(s.server)} · ${ms(s.durationMs)}${s.faults === undefined ? '' : ` · ${s.faults.total} fault(s)`}`;
}
