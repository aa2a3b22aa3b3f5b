/**
 * One screen line per item: frame-log rows, session rows and held-message rows, as styled
 * segments. Pure; the panes lay them out (line.ts) and blessed draws them.
 */
import { arrow, attemptWord, describeClose, flags, formatTime, kindLabel, looksLikeText, preview, sideColor } from '../output/format.js';
import type { Side } from '../proxy/events.js';
import type { HeldEntry } from './intercept-queue.js';
import { padEnd, padStart, seg, type Color, type Seg } from './line.js';
import { escapeForTerminal } from '../output/terminal-text.js';
import type { FrameRow, Row, SessionEntry } from './store.js';

export const TIME_WIDTH = 12;

export function dirColor(from: Side): Color {
  return sideColor(from) === 'cyan' ? 'cyan' : 'magenta';
}

/** 1234 → "1234", 1234567 → "1.2M": a length that fits six columns. */
export function shortLength(n: number): string {
  if (n < 1_000_000) return String(n);
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)}M`;
  return `${(n / 1024 ** 3).toFixed(1)}G`;
}

/** Bytes in at most five or six columns: 900B, 1.2K, 34.5M. */
export function shortBytes(n: number): string {
  if (n < 1024) return `${n}B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(n < 10 * 1024 ? 1 : 0)}K`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(n < 10 * 1024 * 1024 ? 1 : 0)}M`;
  return `${(n / 1024 ** 3).toFixed(1)}G`;
}

function sessionTag(session: number | null): string {
  return padEnd(session === null ? '' : `#${session}`, 4);
}

function kindColor(kind: string): Color | undefined {
  switch (kind) {
    case 'close':
      return 'yellow';
    case 'ping':
    case 'pong':
      return 'lightblue';
    case 'reserved':
      return 'red';
    default:
      return undefined;
  }
}

/** The log's column headings, aligned with frameSegs. */
export function frameHeaderSegs(): Seg[] {
  return [seg(`${padEnd('Time', TIME_WIDTH)} ${padEnd('Sess', 4)} Dir ${padEnd('Kind', 6)} ${padEnd('Flags', 7)} ${padStart('Len', 6)} Payload`)];
}

function frameSegs(row: FrameRow, previewChars: number): Seg[] {
  const f = row.record;
  const bad = f.violations.length > 0;
  const segs: Seg[] = [
    seg(formatTime(f.time), { fg: 'gray' }),
    seg(' '),
    seg(sessionTag(f.session)),
    seg(' '),
    seg(arrow(f.from), { fg: dirColor(f.from), bold: true }),
    seg(' '),
  ];
  const kc = bad ? 'red' : kindColor(f.kind);
  segs.push(seg(padEnd(f.kind === 'continuation' ? 'cont' : kindLabel(f), 6), kc === undefined ? {} : { fg: kc }));
  segs.push(seg(' '));
  segs.push(seg(flags(f), f.rsv1 || f.rsv2 || f.rsv3 || !f.fin ? { fg: 'yellow' } : { fg: 'gray' }));
  segs.push(seg(' '));
  segs.push(seg(padStart(shortLength(f.length), 6)));
  if (f.origin === 'injected') segs.push(seg(' '), seg('[inj]', { fg: 'yellow', bold: true }));
  if (f.origin === 'modified') segs.push(seg(' '), seg('[mod]', { fg: 'yellow', bold: true }));
  if (f.compressed) segs.push(seg(' '), seg('[z]', { fg: 'lightblue' }));
  if (bad) segs.push(seg(' '), seg(`⚠ ${f.violations.map((v) => v.code).join(',')}`, { fg: 'red', bold: true }));
  if (row.fault !== undefined) segs.push(seg(' '), seg(`[fault:${row.fault}]`, { fg: 'magenta', bold: true }));
  segs.push(seg(' '));
  if (f.kind === 'close') {
    segs.push(seg(f.close === null ? '' : describeClose(f.close.code, f.close.reason), { fg: bad ? 'red' : 'yellow' }));
  } else {
    segs.push(seg(preview(f.payload, f.kind === 'continuation' ? (row.messageKind ?? 'continuation') : f.kind, f.truncated, previewChars), bad ? { fg: 'red' } : {}));
  }
  return segs;
}

/** A frame-log row as segments; `previewChars` bounds the payload preview. */
export function rowSegs(row: Row, previewChars = 200): Seg[] {
  const head = (time: number, session: number | null): Seg[] => [seg(formatTime(time), { fg: 'gray' }), seg(' '), seg(sessionTag(session)), seg(' ')];
  switch (row.type) {
    case 'frame':
      return frameSegs(row, previewChars);
    case 'message': {
      const m = row.record;
      const dropped = m.fate === 'dropped';
      return [
        ...head(m.time, m.session),
        seg(arrow(m.from), { fg: dirColor(m.from), bold: true }),
        seg(' '),
        seg(dropped ? `✗ dropped${m.by === null ? '' : ` by ${m.by}`}` : `✎ modified${m.by === null ? '' : ` by ${m.by}`}`, { fg: dropped ? 'red' : 'yellow', bold: true }),
        seg(` ${m.kind} message ${m.id}, ${m.length} B${m.frames > 1 ? ` in ${m.frames} frames` : ''}${dropped ? ' (not delivered)' : ' (sent as the [mod] frame)'} `),
        seg(preview(m.payload, m.kind, m.truncated, previewChars), { fg: 'gray' }),
      ];
    }
    case 'open': {
      const i = row.info;
      const extra = [i.protocol === null ? null : `protocol ${i.protocol}`, i.extensions === null ? null : i.extensions].filter((x) => x !== null).join(' · ');
      return [
        ...head(i.time, i.session),
        // A TLS leg or forward mode: the URL says what host:port and path cannot (wss://, the host asked for).
        seg(`● ${attemptWord(i)} ${escapeForTerminal(i.client)} → ${escapeForTerminal(i.target)} ${escapeForTerminal(i.mode === 'forward' || i.tls.client !== null || i.tls.server !== null ? i.url : i.path)}`, { fg: i.status === 101 ? 'green' : 'red', bold: true }),
        seg(i.status === 101 ? '' : ` ${i.status}`, { fg: 'red' }),
        seg(i.failure === null ? '' : ` ${escapeForTerminal(i.failure)}${i.answeredBy === 'proxy' ? ' (answered by the proxy)' : ''}`, { fg: 'red', bold: true }),
        seg(i.failure !== null && i.answeredBy === 'server' && i.body.length > 0 ? ` ${preview(i.body, looksLikeText(i.body) ? 'text' : 'binary', false, 60)}` : '', { fg: 'gray' }),
        seg(extra === '' ? '' : ` · ${escapeForTerminal(extra)}`, { fg: 'green' }),
        seg(i.acceptValid === false ? ' ⚠ Sec-WebSocket-Accept invalid' : '', { fg: 'red', bold: true }),
      ];
    }
    case 'close': {
      const c = row.record;
      const normal = c.clean && (c.code === 1000 || c.code === 1001);
      return [
        ...head(c.time, c.session),
        seg(`○ closed ${describeClose(c.code, c.reason)} by ${c.by}${row.opened ? `, ${c.clean ? 'clean' : 'unclean'}` : ''}`, { fg: normal ? 'green' : 'yellow' }),
      ];
    }
    case 'log': {
      const l = row.record;
      const color: Color = l.level === 'error' ? 'red' : l.level === 'warn' ? 'yellow' : 'lightblue';
      return [...head(l.time, l.session), seg(`[${escapeForTerminal(l.source)}]`, { fg: color, bold: true }), seg(` ${escapeForTerminal(l.text, { keepBackslash: true })}`, l.level === 'error' ? { fg: 'red' } : {})];
    }
    case 'violation': {
      const v = row.record;
      return [
        ...head(v.time, v.session),
        seg(arrow(v.from), { fg: dirColor(v.from), bold: true }),
        seg(' '),
        seg(`⚠ ${v.violation.code}: ${escapeForTerminal(v.violation.message, { keepBackslash: true })} (${v.violation.rfc})`, { fg: 'red', bold: true }),
      ];
    }
  }
}

export interface SessionColumns {
  readonly client: number;
  readonly path: number;
  /** Room for protocol and extensions after the traffic columns. */
  readonly extra: number;
}

const TRAFFIC = 11;
const STATE = 12;

/** Column widths of the sessions list for a pane `width` columns wide. */
export function sessionColumns(width: number): SessionColumns {
  // "#id  " 5, state, two traffic columns, the spaces between.
  const fixed = 5 + STATE + 2 * TRAFFIC + 4;
  const rest = Math.max(14, width - fixed);
  if (width >= 120) {
    const client = 21;
    const path = Math.min(30, Math.max(6, rest - client - 1 - 30));
    return { client, path, extra: Math.max(0, rest - client - path - 2) };
  }
  const client = Math.min(21, Math.max(9, Math.floor(rest * 0.5)));
  return { client, path: Math.max(4, rest - client - 1), extra: 0 };
}

export function sessionHeaderSegs(width: number): Seg[] {
  const c = sessionColumns(width);
  return [seg(`${padEnd('Sess', 5)}${padEnd('Client', c.client)} ${padEnd('Path', c.path)} ${padEnd('State', STATE)} ${padEnd('C→S wire', TRAFFIC)} ${padEnd('S→C wire', TRAFFIC)}${c.extra > 0 ? ' Protocol · Extensions' : ''}`)];
}

export function stateSegs(s: SessionEntry): Seg {
  // A bad Sec-WebSocket-Accept is worth the state column's attention.
  if (s.info !== null && s.info.acceptValid === false && s.state !== 'closed') return seg(padEnd(`${s.state} ⚠accept`, STATE), { fg: 'red', bold: true });
  // An attempt that did not open says so: refused by the target, or failed at the proxy (502/504).
  if (s.info !== null && s.info.status !== 101) return seg(padEnd(`${s.info.answeredBy === 'proxy' ? 'failed' : 'refused'} ${s.info.status}`, STATE), { fg: 'red', bold: true });
  switch (s.state) {
    case 'open':
      return seg(padEnd('open', STATE), { fg: 'green', bold: true });
    case 'closing':
      return seg(padEnd(`closing ${s.closeCode ?? ''}`, STATE), { fg: 'yellow' });
    case 'closed': {
      const normal = s.clean === true && (s.closeCode === 1000 || s.closeCode === 1001);
      return seg(padEnd(`closed ${s.closeCode ?? (s.info === null ? 'refused' : '—')}`, STATE), { fg: normal ? 'gray' : 'yellow' });
    }
  }
}

export function sessionSegs(s: SessionEntry, width: number): Seg[] {
  const c = sessionColumns(width);
  const traffic = (side: Side): Seg => seg(padEnd(`${s.frames[side]} ${shortBytes(s.bytes[side])}`, TRAFFIC), { fg: dirColor(side) });
  const segs: Seg[] = [
    seg(padEnd(`#${s.id}`, 5), { bold: true }),
    seg(padEnd(escapeForTerminal(s.info?.client ?? '?'), c.client)),
    seg(' '),
    seg(padEnd(escapeForTerminal(s.info?.path ?? ''), c.path)),
    seg(' '),
    stateSegs(s),
    seg(' '),
    traffic('client'),
    seg(' '),
    traffic('server'),
  ];
  const extra = [s.info?.protocol ?? null, s.info?.extensions ?? null].filter((x): x is string => x !== null);
  if (extra.length > 0 && c.extra >= 8) segs.push(seg(` ${escapeForTerminal(extra.join(' · '))}`, { fg: 'gray' }));
  return segs;
}

export function heldSegs(entry: HeldEntry, now: number, previewChars = 200): Seg[] {
  const m = entry.message;
  const waited = Math.max(0, Math.floor((now - entry.since) / 1000));
  return [
    seg('⏸ ', { fg: 'yellow', bold: true }),
    // Never cut: the id is how status lines and the editor name the message (ids pass 99,999 soon).
    seg(`${String(m.id).padStart(5)} `, { fg: 'gray' }),
    seg(sessionTag(m.session)),
    seg(' '),
    seg(arrow(m.from), { fg: dirColor(m.from), bold: true }),
    seg(' '),
    seg(padEnd(m.kind, 6)),
    seg(' '),
    seg(padStart(shortLength(m.data.length), 6)),
    seg(padStart(`${waited}s`, 5), { fg: 'gray' }),
    m.compressed ? seg(' [z]', { fg: 'lightblue' }) : seg(''),
    seg(' '),
    seg(preview(m.data, m.kind, false, previewChars)),
  ];
}
