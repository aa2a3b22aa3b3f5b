/**
 * Pure text formatting shared by the headless printer, the JSONL writer and the TUI, so every
 * view names things the same way. No IO; colour is a flag.
 */
import { closeCodeName } from '../protocol/close-codes.js';
import type { CloseRecord, FrameRecord, HttpRecord, LogRecord, MessageRecord, SessionInfo, Side, ViolationRecord } from '../proxy/events.js';
import { LineBytes } from './line-bytes.js';
import { formatStatsSummary } from '../export/stats-text.js';
import { escapeForTerminal } from './terminal-text.js';

export interface Style {
  readonly color: boolean;
}

const ANSI = {
  reset: '\x1b[0m',
  dim: '\x1b[2m',
  bold: '\x1b[1m',
  red: '\x1b[31m',
  green: '\x1b[32m',
  yellow: '\x1b[33m',
  blue: '\x1b[34m',
  magenta: '\x1b[35m',
  cyan: '\x1b[36m',
} as const;
export type Color = Exclude<keyof typeof ANSI, 'reset'>;

export function paint(style: Style, color: Color, text: string): string {
  return style.color ? `${ANSI[color]}${text}${ANSI.reset}` : text;
}

/** Colour that tells the two directions apart everywhere. */
export function sideColor(from: Side): Color {
  return from === 'client' ? 'cyan' : 'magenta';
}

/** Local wall-clock time with milliseconds: 14:03:07.123. */
export function formatTime(ms: number): string {
  return timePrefix(ms) + String(ms - Math.floor(ms / 1000) * 1000).padStart(3, '0');
}

/** "14:03:07." for the second `ms` falls in. */
function timePrefix(ms: number): string {
  // One Date per second of traffic, not per frame: the printer formats every frame.
  const second = Math.floor(ms / 1000);
  if (second !== timeCache.second) {
    const d = new Date(second * 1000);
    const p = (n: number): string => String(n).padStart(2, '0');
    timeCache.second = second;
    timeCache.prefix = `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.`;
    timeCache.bytes = Buffer.from(timeCache.prefix, 'latin1');
  }
  return timeCache.prefix;
}
const timeCache = { second: Number.NaN, prefix: '', bytes: Buffer.alloc(0) };

/** formatTime, dimmed when in colour, written as bytes (those of the last millisecond kept: a read's frames share it). */
function writeTime(out: LineBytes, style: Style, ms: number): void {
  if (ms !== lastTime.ms || style.color !== lastTime.color) {
    const at = out.length;
    if (style.color) out.ascii(ANSI.dim);
    timePrefix(ms);
    out.bytes(timeCache.bytes).int(ms - timeCache.second * 1000, 3, 0x30);
    if (style.color) out.ascii(ANSI.reset);
    lastTime.ms = ms;
    lastTime.color = style.color;
    lastTime.bytes = out.copyOut(at);
    return;
  }
  out.bytes(lastTime.bytes);
}
const lastTime: { ms: number; color: boolean; bytes: Uint8Array } = { ms: Number.NaN, color: false, bytes: new Uint8Array(0) };

/** client→server is "→", server→client is "←", both read from the client's point of view. */
export function arrow(from: Side): string {
  return from === 'client' ? 'C→S' : 'S→C';
}

/** "FIN 1.." : FIN (or "..."), then RSV1..3 as 1 or '.'. */
export function flags(f: Pick<FrameRecord, 'fin' | 'rsv1' | 'rsv2' | 'rsv3'>): string {
  return FLAGS[(f.fin ? 8 : 0) | (f.rsv1 ? 4 : 0) | (f.rsv2 ? 2 : 0) | (f.rsv3 ? 1 : 0)]!;
}
const FLAGS = Array.from({ length: 16 }, (_, i) => {
  const b = (bit: number): string => ((i & bit) !== 0 ? '1' : '.');
  return `${(i & 8) !== 0 ? 'FIN' : '...'} ${b(4)}${b(2)}${b(1)}`;
});

/** "1 frame", "2 frames". */
export function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 / 1024 / 1024).toFixed(2)} GiB`;
}

/** Valid UTF-8 without control characters other than whitespace reads as text. */
export function looksLikeText(bytes: Uint8Array): boolean {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf8');
  if (text.includes('\uFFFD')) return false;
  return !/[\x00-\x08\x0e-\x1f\x7f]/.test(text);
}

export function hexBytes(bytes: Uint8Array, max: number): string {
  const shown = bytes.subarray(0, max);
  const hex = Buffer.from(shown.buffer, shown.byteOffset, shown.length).toString('hex').replace(/(..)(?!$)/g, '$1 ');
  return bytes.length > max ? `${hex} …` : hex;
}

/**
 * A short preview of a payload: quoted text for text frames (and binary that is plainly text),
 * hex otherwise. `maxChars` bounds the output width.
 */
export function preview(payload: Uint8Array, kind: FrameRecord['kind'] | MessageRecord['kind'], truncated: boolean, maxChars = 80): string {
  if (payload.length === 0) return '';
  const asText = kind === 'text' || ((kind === 'continuation' || kind === 'ping' || kind === 'pong') && looksLikeText(payload));
  if (asText) {
    // Decode a bounded prefix: a 64 KiB preview must not cost a 64 KiB string per line.
    const head = payload.subarray(0, maxChars * 4);
    let text = escapeForTerminal(Buffer.from(head.buffer, head.byteOffset, head.length).toString('utf8'), { quoted: true });
    const cut = text.length > maxChars || head.length < payload.length || truncated;
    if (text.length > maxChars) text = cutAt(text, maxChars);
    return cut ? `"${text}"…` : `"${text}"`;
  }
  return hexBytes(payload, Math.max(4, Math.floor(maxChars / 3))) + (truncated && payload.length * 3 <= maxChars ? ' …' : '');
}

/**
 * The first `max` UTF-16 units of escaped text, moved back so that neither a surrogate pair nor
 * an escape (`\x1b`, `\u{202e}`, `\"`) is cut in half: a half escape would read as another one.
 */
function cutAt(text: string, max: number): string {
  let end = max;
  const c = text.charCodeAt(end - 1);
  if (c >= 0xd800 && c <= 0xdbff) end--;
  // Walk the escapes from the start (a backslash may itself be escaped): does one straddle the cut?
  for (let i = 0; i < end; i++) {
    if (text.charCodeAt(i) !== 0x5c) continue;
    const m = /^\\(?:x[0-9a-f]{2}|u\{[0-9a-f]+\}|.)/.exec(text.slice(i, i + 11));
    const n = m === null ? 1 : m[0].length;
    if (i + n > end) return text.slice(0, i);
    i += n - 1;
  }
  return text.slice(0, end);
}

const QUOTE = 0x22;
const ELLIPSIS = Buffer.from('…');

/**
 * preview() of payload[start, end), written as bytes. The common cases (printable ASCII text, JSON
 * included, binary as hex) need no string, and the range no view of its own.
 */
function writePreview(out: LineBytes, payload: Uint8Array, start: number, end: number, kind: FrameRecord['kind'], truncated: boolean, maxChars: number, view: DataView | null): void {
  const length = end - start;
  if (length > 0) {
    const textual = kind === 'text' || kind === 'continuation' || kind === 'ping' || kind === 'pong';
    // Printable ASCII reads as text under every one of these kinds; a kind other than text must be
    // text all through (looksLikeText), so only a payload short enough to check whole qualifies.
    if (textual && (kind === 'text' || length <= maxChars)) {
      const at = out.length;
      const n = out.byte(QUOTE).quotedAscii(payload, start, end, maxChars, view);
      if (n >= 0) {
        out.byte(QUOTE);
        if (n < length || truncated) out.bytes(ELLIPSIS);
        return;
      }
      out.truncate(at);
    }
    // Binary, or a payload with a control character that no text has (see looksLikeText): hex.
    if (kind === 'binary' || (textual && kind !== 'text' && hasControl(payload, start, end))) {
      const max = Math.max(4, Math.floor(maxChars / 3));
      out.hex(payload, start, Math.min(length, max));
      if (length > max) out.byte(SP).bytes(ELLIPSIS);
      if (truncated && length * 3 <= maxChars) out.byte(SP).bytes(ELLIPSIS);
      return;
    }
  }
  out.text(preview(start === 0 && end === payload.length ? payload : payload.subarray(start, end), kind, truncated, maxChars));
}

/** A byte that looksLikeText rejects whatever surrounds it: C0 controls other than \t..\r, and DEL. */
function hasControl(bytes: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const b = bytes[i]!;
    if ((b < 0x20 && (b < 0x09 || b > 0x0d)) || b === 0x7f) return true;
  }
  return false;
}

/** Offset, hex bytes, ASCII column: the classic hex dump, 16 bytes a line (78 columns) or 8 (45) for a narrow pane. */
export function hexdump(bytes: Uint8Array, maxBytes = 4096, perRow: 8 | 16 = 16): string[] {
  const lines: string[] = [];
  const n = Math.min(bytes.length, maxBytes);
  for (let off = 0; off < n; off += perRow) {
    const row = bytes.subarray(off, Math.min(off + perRow, n));
    let hex = '';
    let ascii = '';
    for (let i = 0; i < perRow; i++) {
      if (i < row.length) {
        const b = row[i]!;
        hex += b.toString(16).padStart(2, '0') + ' ';
        ascii += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.';
      } else hex += '   ';
      if (i === 7 && perRow === 16) hex += ' ';
    }
    lines.push(`${off.toString(16).padStart(8, '0')}  ${hex} |${ascii}|`);
  }
  if (bytes.length > n) lines.push(`… ${bytes.length - n} more bytes`);
  return lines;
}

/** Pretty JSON when the text parses as an object or array, else null. */
export function prettyJson(text: string): string | null {
  const t = text.trim();
  if (!(t.startsWith('{') || t.startsWith('['))) return null;
  try {
    return JSON.stringify(JSON.parse(t), null, 2);
  } catch {
    return null;
  }
}

export function describeClose(code: number | null, reason: string): string {
  // No close frame: a TCP end, or an upgrade that never opened, whose cause is the reason.
  if (code === null) return reason === '' ? 'no status' : `no status "${escapeForTerminal(reason, { quoted: true })}"`;
  return `${code} ${closeCodeName(code)}${reason === '' ? '' : ` "${escapeForTerminal(reason, { quoted: true })}"`}`;
}

/** The kind column: opcode name padded, with markers for what the proxy did. */
export function kindLabel(record: Pick<FrameRecord, 'kind' | 'opcode'>): string {
  return record.kind === 'reserved' ? `op=0x${record.opcode.toString(16)}` : record.kind;
}

const SP = 0x20;
/** The direction column as bytes, plain and painted. */
const DIRECTION = [false, true].map((color) => ({
  client: Buffer.from(paint({ color }, sideColor('client'), arrow('client'))),
  server: Buffer.from(paint({ color }, sideColor('server'), arrow('server'))),
}));
/** The kind column padded to 12, a space and the flags column, as bytes: one piece for each of the 6 kinds × 16 flag sets. */
const KINDS = ['continuation', 'text', 'binary', 'close', 'ping', 'pong'] as const;
const KIND_FLAGS = Object.fromEntries(KINDS.map((k) => [k, FLAGS.map((f) => Buffer.from(`${k.padEnd(12)} ${f}`))])) as Record<
  Exclude<FrameRecord['kind'], 'reserved'>,
  Buffer[]
>;
const FLAG_BYTES = FLAGS.map((f) => Buffer.from(f));
/** The last line's " #session direction " (the next line is most often of the same session and side). */
const lastPrefix: { session: number; from: Side | ''; color: boolean; bytes: Uint8Array } = { session: -1, from: '', color: false, bytes: new Uint8Array(0) };
const SCRATCH = new LineBytes(1024);

/**
 * The head of the last frame line (time, session and direction, kind and flags, length): the
 * frames of one read share all of it but the length, often that too, so it is written as one
 * piece, four bytes a read, while they do. When only the length differs (compressed messages of
 * one read), the piece before it is, and the new length is kept in its place. Kept in a buffer of
 * its own, reused: a head that changes every line costs a short copy.
 */
const HEAD_BYTES = Buffer.alloc(128);
const lastHead = {
  time: Number.NaN,
  session: -1,
  from: '' as Side | '',
  color: false,
  opcode: -1,
  flags: -1,
  length: -1,
  view: new DataView(HEAD_BYTES.buffer, HEAD_BYTES.byteOffset, HEAD_BYTES.length),
  /** Bytes before the length, and in all. */
  prefix: 0,
  size: 0,
};
/** The tags after the length, as bytes (plain and in colour): a string written per line costs an encoder call. */
const TAGS = [false, true].map((color) => ({
  injected: Buffer.from(` ${paint({ color }, 'yellow', '[injected]')}`),
  modified: Buffer.from(` ${paint({ color }, 'yellow', '[modified]')}`),
  deflate: Buffer.from(` ${paint({ color }, 'dim', '[deflate]')}`),
}));

/** A frame's line, e.g. `14:03:07.123 #1 C→S text         FIN ...       5 "hello"`. */
export function formatFrameLine(f: FrameRecord, style: Style, previewChars = 80): string {
  SCRATCH.truncate(0);
  writeFrameLine(SCRATCH, f, style, previewChars);
  return SCRATCH.toString();
}

/** What a frame's line shows: a FrameRecord has it all; the printer's thread reads it from an entry. */
export type FrameLine = Pick<
  FrameRecord,
  'time' | 'session' | 'from' | 'kind' | 'opcode' | 'fin' | 'rsv1' | 'rsv2' | 'rsv3' | 'length' | 'origin' | 'compressed' | 'violations' | 'close' | 'payload' | 'truncated'
>;

/**
 * formatFrameLine written straight into bytes (the printer's path: one per frame). The preview is
 * f.payload[start, end): the printer's thread passes the batch it reads, the entry's place in it
 * and a DataView of the batch (text is then copied four bytes a read).
 */
export function writeFrameLine(out: LineBytes, f: FrameLine, style: Style, previewChars = 80, start = 0, end = f.payload.length, view: DataView | null = null): void {
  const flags = (f.fin ? 8 : 0) | (f.rsv1 ? 4 : 0) | (f.rsv2 ? 2 : 0) | (f.rsv3 ? 1 : 0);
  const h = lastHead;
  if (f.time === h.time && f.session === h.session && f.from === h.from && f.opcode === h.opcode && flags === h.flags && style.color === h.color) {
    if (f.length === h.length) out.words(h.view, h.size);
    else {
      out.words(h.view, h.prefix);
      const at = out.length;
      out.byte(SP).int(f.length, 7);
      const n = out.copyTo(at, HEAD_BYTES, h.prefix);
      if (n < 0) h.length = -1;
      else {
        h.size = h.prefix + n;
        h.length = f.length;
      }
    }
  } else {
    const at = out.length;
    writeHead(out, f, style, flags);
    h.prefix = out.length - at;
    out.byte(SP).int(f.length, 7);
    h.size = out.copyTo(at, HEAD_BYTES);
    // (A head longer than the buffer, never in practice, is not kept.)
    h.time = h.size < 0 ? Number.NaN : f.time;
    h.length = f.length;
    h.session = f.session;
    h.from = f.from;
    h.opcode = f.opcode;
    h.flags = flags;
    h.color = style.color;
  }
  const tags = TAGS[style.color ? 1 : 0]!;
  if (f.origin !== 'peer') out.bytes(f.origin === 'injected' ? tags.injected : tags.modified);
  if (f.compressed) out.bytes(tags.deflate);
  if (f.violations.length > 0) out.byte(SP).text(paint(style, 'red', `⚠ ${f.violations.map((v) => v.code).join(',')}`));
  out.byte(SP);
  if (f.kind === 'close' && f.close !== null) out.text(describeClose(f.close.code, f.close.reason));
  else writePreview(out, f.payload, start, end, f.kind, f.truncated, previewChars, view);
}

/** Time, session and direction, kind and flags: `14:03:07.123 #1 C→S text         FIN ...` (the length comes next). */
function writeHead(out: LineBytes, f: FrameLine, style: Style, flags: number): void {
  writeTime(out, style, f.time);
  if (f.session !== lastPrefix.session || f.from !== lastPrefix.from || style.color !== lastPrefix.color) {
    const at = out.length;
    out.ascii(' #').int(f.session).byte(SP).bytes(DIRECTION[style.color ? 1 : 0]![f.from]).byte(SP);
    lastPrefix.session = f.session;
    lastPrefix.from = f.from;
    lastPrefix.color = style.color;
    lastPrefix.bytes = out.copyOut(at);
  } else out.bytes(lastPrefix.bytes);
  if (f.kind === 'reserved') out.asciiPadded(kindLabel(f), 12).byte(SP).bytes(FLAG_BYTES[flags]!);
  else out.bytes(KIND_FLAGS[f.kind][flags]!);
}

export function formatOpenLine(s: SessionInfo, style: Style): string {
  const ext = s.extensions === null ? '' : ` ext=${escapeForTerminal(s.extensions)}`;
  const proto = s.protocol === null ? '' : ` protocol=${escapeForTerminal(s.protocol)}`;
  const status = s.status === 101 ? paint(style, 'green', '101') : paint(style, 'red', String(s.status));
  // A TLS leg or forward mode: the URL says what plain host:port and path cannot (wss://, the host asked for).
  const url = s.mode === 'forward' || s.tls.client !== null || s.tls.server !== null ? ` ${escapeForTerminal(s.url)}` : '';
  const server = s.tls.server;
  const insecure = server !== null && server.insecure ? ` ${paint(style, 'red', `INSECURE${server.verifyError === null ? '' : ` (${escapeForTerminal(server.verifyError)})`}`)}` : '';
  return `${paint(style, 'dim', formatTime(s.time))} #${s.session} ${paint(style, 'bold', attemptWord(s))} ${escapeForTerminal(s.client)} → ${escapeForTerminal(s.target)} ${escapeForTerminal(s.path)} ${status}${proto}${ext}${url}${insecure}${openOutcome(s, style)}`;
}

/** What the upgrade became: a WebSocket, refused by the target, or failed (the proxy answered itself). */
export function attemptWord(s: Pick<SessionInfo, 'status' | 'answeredBy'>): 'open' | 'refused' | 'failed' {
  return s.status === 101 ? 'open' : s.answeredBy === 'proxy' ? 'failed' : 'refused';
}

/**
 * What became of the attempt, when it is not a plain 101: a wrong Accept on a 101, or why no
 * WebSocket opened ("handshake refused: 403 Forbidden" and the first bytes of the target's body,
 * or the proxy's own reason when it answered 502/504 itself).
 */
function openOutcome(s: SessionInfo, style: Style): string {
  if (s.status === 101) return s.acceptValid === false ? ` ${paint(style, 'red', '⚠ Sec-WebSocket-Accept invalid')}` : '';
  if (s.failure === null) return '';
  const body = s.answeredBy === 'server' && s.body.length > 0 ? ` ${preview(s.body, looksLikeText(s.body) ? 'text' : 'binary', false, 60)}` : '';
  const who = s.answeredBy === 'proxy' ? ' (answered by the proxy)' : '';
  return ` ${paint(style, 'red', escapeForTerminal(s.failure))}${who}${body}`;
}

/** A plain HTTP request passed through, one dim line: `GET /app.js → 200 12 ms ↑312 B ↓4.1 KiB`. */
export function formatHttpLine(r: HttpRecord, style: Style): string {
  return paint(style, 'dim', `${formatTime(r.time)} http ${httpSummary(r)}`);
}

/** The request in words, its peer-sent fields escaped (the line's text, and the TUI's). */
export function httpSummary(r: HttpRecord): string {
  const status = r.status === null ? 'no answer' : String(r.status);
  const error = r.error === null ? '' : ` (${escapeForTerminal(r.error)})`;
  return `${escapeForTerminal(r.client)} ${escapeForTerminal(r.method)} ${escapeForTerminal(r.url)} → ${status}${r.answeredBy === 'proxy' ? ' from the proxy' : ''} ${r.duration} ms ↑${formatBytes(r.requestBytes)} ↓${formatBytes(r.responseBytes)}${error}`;
}

/** `opened`: the session was a WebSocket (after a failed upgrade, no handshake or traffic is told). */
export function formatCloseLine(c: CloseRecord, style: Style, opened = true): string {
  const how = opened ? ` (${c.clean ? 'clean' : 'unclean'})` : '';
  const stats = c.stats == null || !opened ? '' : ` ${paint(style, 'dim', formatStatsSummary(c.stats))}`;
  return `${paint(style, 'dim', formatTime(c.time))} #${c.session} ${paint(style, 'bold', 'closed')} by ${c.by}: ${describeClose(c.code, c.reason)}${how}${stats}`;
}

/**
 * Log and violation texts are the proxy's own words, quoting peer strings through JSON.stringify
 * (which already escaped their backslashes and C0): escaping its backslashes again would only
 * double them. Whatever JSON.stringify left raw (C1, bidi) is still escaped.
 */
const OWN_TEXT = { keepBackslash: true } as const;

export function formatViolationLine(v: ViolationRecord, style: Style): string {
  const where = v.frame === null ? '' : ` frame ${v.frame}`;
  return `${paint(style, 'dim', formatTime(v.time))} #${v.session} ${paint(style, 'red', `violation ${v.violation.code}`)} from ${v.from}${where} (${v.violation.rfc}): ${escapeForTerminal(v.violation.message, OWN_TEXT)}`;
}

/** Messages are printed only when they say more than their frames: decided on, or reassembled. */
export function formatMessageLine(m: MessageRecord, style: Style, previewChars = 80): string {
  const fate = m.fate === 'forwarded' ? '' : ' ' + paint(style, m.fate === 'dropped' ? 'red' : 'yellow', `[${m.fate}${m.by === null ? '' : ` by ${m.by}`}]`);
  const dir = paint(style, sideColor(m.from), arrow(m.from));
  return `${paint(style, 'dim', formatTime(m.time))} #${m.session} ${dir} message ${m.id} ${m.kind} ${plural(m.frames, 'frame')} ${m.length} B${fate} ${preview(m.payload, m.kind, m.truncated, previewChars)}`;
}

export function formatLogLine(l: LogRecord, style: Style): string {
  const color: Color = l.level === 'error' ? 'red' : l.level === 'warn' ? 'yellow' : 'blue';
  const who = l.session === null ? '' : ` #${l.session}`;
  return `${paint(style, 'dim', formatTime(l.time))}${who} ${paint(style, color, `[${escapeForTerminal(l.source)}]`)} ${escapeForTerminal(l.text, OWN_TEXT)}`;
}
