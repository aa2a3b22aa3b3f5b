/**
 * What the detail pane says about the selected thing: a frame decoded bit by bit (Wireshark
 * style) with its payload as text, pretty JSON or a hex dump; a session's handshake with the
 * Sec-WebSocket-Accept check; a held message. Pure: lines of styled segments.
 */
import { describeHeaderBits, type FrameHeader } from '../protocol/frame-header.js';
import { computeAccept, header, verifyAccept, type HttpHead } from '../protocol/handshake.js';
import { arrow, describeClose, formatBytes, formatTime, hexdump, looksLikeText, plural, prettyJson } from '../output/format.js';
import type { FrameRecord, MessageRecord, SessionInfo } from '../proxy/events.js';
import type { HeldEntry } from './intercept-queue.js';
import { seg, strWidth, type Seg, type Style } from './line.js';
import { escapeForTerminal, escapeJsonText } from '../output/terminal-text.js';
import { diffHeads, type HeadLine } from '../output/head-diff.js';
import { dirColor } from './rows.js';
import { formatStatsTable } from '../export/stats-text.js';
import { decodeText, type FrameRow, type Row, type SessionEntry } from './store.js';

export type PayloadView = 'auto' | 'hex' | 'text';

/** Payload bytes shown as hex at most (the dump says how many more there are). */
export const HEX_LIMIT = 16 * 1024;

export type DetailLine = readonly Seg[];

function title(text: string): DetailLine {
  return [seg(text, { bold: true, underline: true })];
}

function blank(): DetailLine {
  return [seg('')];
}

function kv(key: string, value: string, style: Style = {}): DetailLine {
  return [seg(`${key}: `, { fg: 'gray' }), seg(value, style)];
}

/**
 * Wraps a line of plain text to `width` columns, at a space when there is one in the second
 * half of the line, else hard (long tokens, hex, base64).
 */
export function wrap(text: string, width: number): string[] {
  if (width <= 0 || strWidth(text) <= width) return [text];
  const out: string[] = [];
  let rest = text;
  while (strWidth(rest) > width) {
    let cut = 0;
    let w = 0;
    const chars = [...rest];
    while (cut < chars.length && w + strWidth(chars[cut]!) <= width) w += strWidth(chars[cut++]!);
    // Always make progress, even when a wide character does not fit at all.
    const head = chars.slice(0, Math.max(1, cut)).join('');
    const space = head.lastIndexOf(' ');
    const at = space >= Math.floor(head.length / 2) ? space + 1 : notInEscape(rest, head.length);
    out.push(rest.slice(0, at));
    rest = rest.slice(at);
  }
  if (rest !== '' || out.length === 0) out.push(rest);
  return out;
}

/** An escape the shared escaper writes (`\x1b`, `\u{200b}`), at a given index. */
const ESCAPE = /\\(?:x[0-9a-f]{2}|u\{[0-9a-f]{1,6}\})/y;

/** Where to cut `text` at or before `at`: not inside an escape, which reads whole or not at all. */
function notInEscape(text: string, at: number): number {
  // The longest escape is 10 characters (\u{10ffff}): one that starts within them may cross `at`.
  for (let i = at - 1; i > 0 && i > at - 10; i--) {
    if (text[i] !== '\\') continue;
    ESCAPE.lastIndex = i;
    return ESCAPE.test(text) && ESCAPE.lastIndex > at ? i : at;
  }
  return at;
}

/** Expands tabs and escapes what a terminal must not see, keeping line structure. */
function textLines(text: string, width: number, style: Style = {}): DetailLine[] {
  const lines: DetailLine[] = [];
  const all = text.split('\n');
  const max = 5000;
  for (const raw of all.slice(0, max)) {
    const safe = escapeForTerminal(raw.replace(/\t/g, '    ').replace(/\r$/, ''), { keepBackslash: true });
    for (const part of wrap(safe, width)) lines.push([seg(part, style)]);
  }
  if (all.length > max) lines.push([seg(`… ${all.length - max} more lines`, { fg: 'gray' })]);
  return lines;
}

const JSON_TOKEN = /("(?:[^"\\]|\\.)*")(\s*:)?|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|(true|false|null)|([{}[\],])|(\s+)/g;

/**
 * Pretty JSON text made safe to show: what JSON.stringify leaves raw (C1, bidi, zero-width) as
 * JSON's own \u escapes, anything else unsafe as the shared escapes. Its backslashes are JSON's.
 */
function jsonSafe(text: string): string {
  return escapeForTerminal(escapeJsonText(text), { keepBackslash: true });
}

/** One line of pretty-printed JSON with keys, strings, numbers and literals coloured. */
function jsonLine(line: string): Seg[] {
  const segs: Seg[] = [];
  let last = 0;
  for (const m of line.matchAll(JSON_TOKEN)) {
    if (m.index > last) segs.push(seg(jsonSafe(line.slice(last, m.index))));
    if (m[1] !== undefined) {
      segs.push(seg(jsonSafe(m[1]), m[2] !== undefined ? { fg: 'cyan' } : { fg: 'green' }));
      if (m[2] !== undefined) segs.push(seg(m[2]));
    } else if (m[3] !== undefined) segs.push(seg(m[3], { fg: 'yellow' }));
    else if (m[4] !== undefined) segs.push(seg(m[4], { fg: 'magenta' }));
    else segs.push(seg(m[0]));
    last = m.index + m[0].length;
  }
  if (last < line.length) segs.push(seg(jsonSafe(line.slice(last))));
  return segs;
}

export function wrapSegs(segs: readonly Seg[], width: number): DetailLine[] {
  const total = segs.reduce((n, s) => n + strWidth(s.text), 0);
  if (total <= width || width <= 0) return [segs];
  const out: Seg[][] = [[]];
  let w = 0;
  const newline = (): void => {
    out.push([]);
    w = 0;
  };
  for (const s of segs) {
    let text = s.text;
    while (text !== '') {
      const room = width - w;
      if (strWidth(text) <= room) {
        out[out.length - 1]!.push({ ...s, text });
        w += strWidth(text);
        break;
      }
      const piece = wrap(text, room)[0]!;
      // Rather than split a word that fits on a line of its own, start that line.
      const firstWord = /^\S*/.exec(text)![0];
      if (w > 0 && !piece.endsWith(' ') && strWidth(firstWord) <= width && piece.length <= firstWord.length) {
        newline();
        continue;
      }
      out[out.length - 1]!.push({ ...s, text: piece });
      text = text.slice(piece.length);
      newline();
    }
  }
  return out.filter((l) => l.length > 0);
}

/** A payload as text, pretty JSON or hex dump, with a heading that says which. */
/** Columns a 16-byte hex dump line takes (format.ts hexdump). */
const HEX_WIDE = 78;

export function payloadLines(data: Uint8Array, kind: string, truncated: boolean, total: number, view: PayloadView, width: number): DetailLine[] {
  const lines: DetailLine[] = [];
  const known = total > data.length;
  const of = truncated ? `first ${formatBytes(data.length)}${known ? ` of ${formatBytes(total)}` : ''}` : formatBytes(data.length);
  if (data.length === 0) {
    lines.push([seg('Payload: ', { bold: true }), seg('(empty)', { fg: 'gray' })]);
    return lines;
  }
  const textual = kind === 'text' || looksLikeText(data);
  if (view === 'hex' || (view === 'auto' && !textual)) {
    lines.push([seg(`Payload (${of}, hex dump)`, { bold: true })]);
    // 16 bytes a line where they fit, else 8: a line wrapped puts its ASCII column on a line of its own.
    for (const l of hexdump(data, HEX_LIMIT, width >= HEX_WIDE ? 16 : 8)) lines.push([seg(l)]);
    return lines;
  }
  const text = decodeText(data);
  const pretty = view === 'auto' ? prettyJson(text) : null;
  if (pretty !== null) {
    lines.push([seg(`Payload (${of}, JSON, pretty-printed)`, { bold: true })]);
    for (const l of pretty.split('\n')) lines.push(...wrapSegs(jsonLine(l), width));
    return lines;
  }
  lines.push([seg(`Payload (${of}, text)`, { bold: true })]);
  lines.push(...textLines(text, width));
  if (truncated) lines.push([seg(`… ${known ? `${formatBytes(total - data.length)} ` : ''}more not kept (--max-preview, --ui-memory)`, { fg: 'gray' })]);
  return lines;
}

function headerOf(f: FrameRecord): FrameHeader {
  return { fin: f.fin, rsv1: f.rsv1, rsv2: f.rsv2, rsv3: f.rsv3, opcode: f.opcode, maskKey: f.maskKey, payloadLength: f.length, headerLength: f.header.length };
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex').replace(/(..)(?!$)/g, '$1 ');
}

function direction(from: 'client' | 'server'): Seg {
  return seg(`${arrow(from)} ${from === 'client' ? 'client → server' : 'server → client'}`, { fg: dirColor(from), bold: true });
}

/**
 * `compact` puts the header on one line (for a small, unfocused detail pane, so the payload is in
 * view at a glance); otherwise it is decoded bit by bit.
 */
export function frameDetail(row: FrameRow, view: PayloadView, width: number, compact = false, deflate = false): DetailLine[] {
  const f = row.record;
  const lines: DetailLine[] = [];
  lines.push([seg(`Frame ${f.id}`, { bold: true }), seg(` · session #${f.session} · `), direction(f.from), seg(` · ${formatTime(f.time)}`)]);
  const origin = f.origin === 'injected' ? 'injected by the proxy' : f.origin === 'modified' ? 'written by the proxy in place of the original (modified)' : null;
  if (origin !== null) lines.push([seg(`[${f.origin === 'injected' ? 'inj' : 'mod'}] ${origin}`, { fg: 'yellow', bold: true })]);
  if (f.compressed) {
    lines.push([seg('[z] compressed (permessage-deflate): ', { fg: 'lightblue', bold: true }), seg(`shown inflated; ${f.length} B on the wire`)]);
  }
  if (compact) {
    const bit = (v: boolean): string => (v ? '1' : '0');
    const header = [
      seg('Header ', { bold: true }),
      seg(`${hex(f.header)} · FIN ${bit(f.fin)} · RSV ${bit(f.rsv1)}${bit(f.rsv2)}${bit(f.rsv3)} · opcode ${f.opcode} · MASK ${bit(f.masked)}${f.maskKey === null ? '' : ` key ${hex(f.maskKey).replace(/ /g, '')}`} · length ${f.length}`),
    ];
    const hint = seg('  (Enter: bit by bit)', { fg: 'gray' });
    lines.push(header.reduce((n, x) => n + strWidth(x.text), 0) + strWidth(hint.text) <= width ? [...header, hint] : header);
  } else {
    lines.push(blank());
    lines.push(title(`Header (${f.header.length} bytes: ${hex(f.header)})`));
    for (const l of describeHeaderBits(f.header, headerOf(f), deflate)) lines.push([seg(`  ${l}`)]);
    if (f.maskKey === null) lines.push([seg('  Masking-Key: none (unmasked)', { fg: 'gray' })]);
  }
  if (f.violations.length > 0) {
    lines.push(blank());
    lines.push([seg('Violations', { fg: 'red', bold: true, underline: true })]);
    for (const v of f.violations) {
      for (const part of wrap(`  ⚠ ${v.code} (${v.rfc}): ${v.message}`, width)) lines.push([seg(part, { fg: 'red' })]);
    }
  }
  if (f.close !== null) {
    lines.push(blank());
    lines.push(kv('Close', describeClose(f.close.code, f.close.reason), { fg: 'yellow', bold: true }));
  }
  const m = row.message;
  if (m !== null && m.frames > 1) {
    lines.push(blank());
    lines.push([seg(`Part of a ${m.frames}-frame ${m.kind} message of ${formatBytes(m.length)}`, { fg: 'gray' }), seg(' (r resends the whole message)', { fg: 'gray' })]);
  }
  if (!compact) lines.push(blank());
  const kind = f.kind === 'continuation' ? (row.messageKind ?? 'binary') : f.kind;
  if (f.kind === 'close' && f.payload.length >= 2) lines.push(...payloadLines(f.payload, 'binary', f.truncated, f.length, view === 'auto' ? 'hex' : view, width));
  else lines.push(...payloadLines(f.payload, kind, f.truncated, f.compressed ? -1 : f.length, view, width));
  return lines;
}

export function messageDetail(m: MessageRecord, view: PayloadView, width: number): DetailLine[] {
  const lines: DetailLine[] = [];
  const fate = m.fate === 'dropped' ? `dropped${m.by === null ? '' : ` by ${m.by}`}: not delivered` : `${m.fate}${m.by === null ? '' : ` by ${m.by}`}`;
  lines.push([seg(`Message ${m.id}`, { bold: true }), seg(` · session #${m.session} · `), direction(m.from), seg(` · ${formatTime(m.time)}`)]);
  lines.push([seg(fate, { fg: m.fate === 'dropped' ? 'red' : 'yellow', bold: true })]);
  lines.push(kv('Original', `${m.kind}, ${formatBytes(m.length)} in ${plural(m.frames, 'frame')}${m.compressed ? ', compressed (shown inflated)' : ''}`));
  lines.push(blank());
  lines.push(...payloadLines(m.payload, m.kind, m.truncated, m.length, view, width));
  return lines;
}

export function heldDetail(entry: HeldEntry, view: PayloadView, width: number, now: number): DetailLine[] {
  const m = entry.message;
  const lines: DetailLine[] = [];
  lines.push([seg('⏸ Held ', { fg: 'yellow', bold: true }), seg(`message ${m.id} · session #${m.session} · `), direction(m.from), seg(` · waiting ${Math.floor((now - entry.since) / 1000)}s`)]);
  lines.push([seg('a', { bold: true }), seg(' forward · '), seg('e', { bold: true }), seg(' edit · '), seg('d', { bold: true }), seg(' drop · '), seg('A', { bold: true }), seg(' forward all')]);
  lines.push(kv('Kind', `${m.kind}, ${formatBytes(m.data.length)} in ${plural(m.frames, 'frame')}${m.compressed ? ', compressed (shown inflated)' : ''}`));
  lines.push(blank());
  lines.push(...payloadLines(m.data, m.kind === 'close' ? 'binary' : m.kind, false, m.data.length, view, width));
  return lines;
}

/** A head's lines; with `changed`, lines the other head lacks are marked `≠` in yellow, the rest indented to match. */
function headLines(head: HttpHead, width: number, changed?: readonly HeadLine[]): DetailLine[] {
  const lines: DetailLine[] = [];
  const marked = (i: number): boolean => changed?.[i]?.changed === true;
  const prefix = (i: number): Seg[] => (changed === undefined ? [] : [seg(marked(i) ? '≠ ' : '  ', { fg: 'yellow', bold: true })]);
  const inner = changed === undefined ? width : width - 2;
  for (const part of wrap(escapeForTerminal(head.startLine), inner)) lines.push([...prefix(0), seg(part, marked(0) ? { bold: true, fg: 'yellow' } : { bold: true })]);
  head.headers.forEach(([name, value], n) => {
    const text = `${escapeForTerminal(name)}: ${escapeForTerminal(value)}`;
    const parts = wrap(text, inner);
    const style: Style = marked(n + 1) ? { fg: 'yellow' } : {};
    parts.forEach((p, i) => {
      if (i === 0 && p.length > name.length) lines.push([...prefix(n + 1), seg(p.slice(0, name.length + 1), marked(n + 1) ? { fg: 'yellow', bold: true } : { fg: 'cyan' }), seg(p.slice(name.length + 1), style)]);
      else lines.push([...(changed === undefined ? [] : [seg('  ')]), seg(p, style)]);
    });
  });
  return lines;
}

export function sessionDetail(s: SessionEntry, width: number): DetailLine[] {
  const lines: DetailLine[] = [];
  const state = s.state === 'open' ? 'open' : s.state === 'closing' ? `closing (${s.closeCode ?? 'no status'})` : `closed (${s.closeCode ?? 'no status'})`;
  lines.push([seg(`Session #${s.id}`, { bold: true }), seg(' · '), seg(state, { fg: s.state === 'open' ? 'green' : 'yellow', bold: true })]);
  const info = s.info;
  if (info === null) {
    lines.push([seg('The handshake did not complete; no WebSocket session was opened.', { fg: 'yellow' })]);
    if (s.closeReason !== '') lines.push(kv('Reason', escapeForTerminal(s.closeReason)));
    return lines;
  }
  lines.push(kv('Client', escapeForTerminal(info.client)));
  lines.push(kv('Target', `${escapeForTerminal(info.target)}  path ${escapeForTerminal(info.path)}`));
  lines.push(kv('URL', `${escapeForTerminal(info.url)}  (${info.mode === 'forward' ? 'forward proxy' : 'reverse proxy'})`));
  lines.push(...tlsLines(info));
  lines.push(kv('Opened', `${formatTime(info.time)} · HTTP ${info.status}`));
  lines.push(kv('Subprotocol', info.protocol === null ? '(none)' : escapeForTerminal(info.protocol)));
  lines.push(kv('Extensions', info.extensions === null ? '(none)' : escapeForTerminal(info.extensions)));
  if (info.deflate !== null) {
    const d = info.deflate;
    lines.push(
      kv(
        'permessage-deflate',
        `server window ${d.serverMaxWindowBits} bits${d.serverNoContextTakeover ? ', no context takeover' : ''}; client window ${d.clientMaxWindowBits} bits${d.clientNoContextTakeover ? ', no context takeover' : ''}`,
        { fg: 'lightblue' },
      ),
    );
  }
  if (info.failure !== null) {
    // Why no WebSocket opened: the target's refusal with its body, or the proxy's own answer.
    lines.push(kv('Outcome', `${escapeForTerminal(info.failure)}${info.answeredBy === 'proxy' ? ' (answered by the proxy)' : ''}`, { fg: 'red', bold: true }));
    if (info.answeredBy === 'server' && info.body.length > 0) {
      const body = looksLikeText(info.body) ? escapeForTerminal(Buffer.from(info.body).toString('utf8')) : hexdump(info.body, 64).join(' ');
      for (const part of wrap(`Body: ${body}`, width)) lines.push([seg(part, { fg: 'red' })]);
    }
  }
  // RFC 6455 §4.2.2: the Accept check applies to a 101 only, against the key the target received.
  if (info.status === 101) {
    if (verifyAccept(info.sent, info.response)) lines.push([seg('Sec-WebSocket-Accept: ', { fg: 'gray' }), seg('valid ✓', { fg: 'green', bold: true })]);
    else {
      const key = header(info.sent, 'sec-websocket-key');
      const expected = key === null ? 'no Sec-WebSocket-Key in the request' : `expected ${computeAccept(key)}`;
      lines.push([seg('Sec-WebSocket-Accept: ', { fg: 'gray' }), seg('invalid ✗', { fg: 'red', bold: true }), seg(` (${expected})`, { fg: 'red' })]);
    }
  }
  lines.push([
    seg('Traffic (wire bytes: headers and payload as sent): ', { fg: 'gray' }),
    seg(`C→S ${plural(s.frames.client, 'frame')}, ${formatBytes(s.bytes.client)}`, { fg: 'cyan' }),
    seg(' · '),
    seg(`S→C ${plural(s.frames.server, 'frame')}, ${formatBytes(s.bytes.server)}`, { fg: 'magenta' }),
  ]);
  if (s.state !== 'open') {
    const how = s.clean === null ? '' : s.clean ? ', clean' : ', unclean';
    lines.push(kv('Close', `${describeClose(s.closeCode, s.closeReason)}${s.closedBy === null ? '' : ` by ${s.closedBy}`}${how}`, { fg: 'yellow' }));
  }
  lines.push(blank());
  // What the target received (Host, base path, --no-deflate applied), then, when it differs, what
  // the client sent; lines that differ are marked in both.
  const diff = diffHeads(info.request, info.sent);
  if (diff.same) {
    lines.push(title('Request'));
    lines.push(...headLines(info.sent, width));
  } else {
    lines.push(title('Request, as the target received it (≠ changed by the proxy)'));
    lines.push(...headLines(info.sent, width, diff.sent));
    lines.push(blank());
    lines.push(title('Request, as the client sent it'));
    lines.push(...headLines(info.request, width, diff.client));
  }
  lines.push(blank());
  lines.push(title('Response'));
  lines.push(...headLines(info.response, width));
  if (s.stats !== null) {
    lines.push(blank(), title('Stats'));
    for (const text of formatStatsTable(s.stats.snapshot(Date.now()), width)) for (const part of wrap(text, width)) lines.push([seg(part)]);
  }
  return lines;
}

/** Wraps every line that is wider than the pane. */
export function wrapAll(lines: readonly DetailLine[], width: number): DetailLine[] {
  return lines.flatMap((l) => wrapSegs(l, width));
}

/** Detail for any frame-log row; session rows show their session. */
export function rowDetail(row: Row, session: SessionEntry | undefined, view: PayloadView, width: number, compact = false): DetailLine[] {
  switch (row.type) {
    case 'frame':
      return frameDetail(row, view, width, compact, session?.info?.deflate != null);
    case 'message':
      return messageDetail(row.record, view, width);
    case 'open':
    case 'close':
      return session === undefined ? [[seg(`Session #${row.type === 'open' ? row.info.session : row.record.session} is no longer listed.`, { fg: 'gray' })]] : sessionDetail(session, width);
    case 'log': {
      const l = row.record;
      return [
        [seg(`Log · ${l.source} · ${l.level}`, { bold: true }), seg(` · ${formatTime(l.time)}${l.session === null ? '' : ` · session #${l.session}`}`)],
        blank(),
        ...textLines(l.text, width, l.level === 'error' ? { fg: 'red' } : {}),
      ];
    }
    case 'violation': {
      const v = row.record;
      return [
        [seg(`Violation ${v.violation.code}`, { fg: 'red', bold: true }), seg(` · session #${v.session} · `), direction(v.from), seg(` · ${formatTime(v.time)}`)],
        kv('Rule', v.violation.rfc),
        kv('Close code a conforming peer sends', v.violation.closeCode === null ? '(none)' : String(v.violation.closeCode)),
        kv('Fatal (framing cannot go on)', v.violation.fatal ? 'yes' : 'no'),
        blank(),
        ...textLines(v.violation.message, width),
      ];
    }
  }
}

/** Each leg's TLS, or "plaintext": what was negotiated, and what the target's certificate says. */
function tlsLines(info: SessionInfo): DetailLine[] {
  const leg = (f: { version: string | null; cipher: string | null; sni: string | null; alpn: string | null }): string =>
    `${f.version ?? '?'} ${f.cipher ?? '?'} · SNI ${f.sni === null ? '(none)' : escapeForTerminal(f.sni)} · ALPN ${f.alpn === null ? '(none)' : escapeForTerminal(f.alpn)}`;
  const lines: DetailLine[] = [];
  const c = info.tls.client;
  lines.push(kv('TLS client↔proxy', c === null ? 'plaintext' : leg(c), c === null ? {} : { fg: 'cyan' }));
  const s = info.tls.server;
  if (s === null) {
    lines.push(kv('TLS proxy↔target', 'plaintext'));
    return lines;
  }
  lines.push(kv('TLS proxy↔target', leg(s), { fg: 'magenta' }));
  if (s.verified) lines.push([seg('  certificate: ', { fg: 'gray' }), seg('verified ✓', { fg: 'green', bold: true })]);
  else lines.push([seg('  certificate: ', { fg: 'gray' }), seg(`NOT verified${s.insecure ? ' (--insecure)' : ''}${s.verifyError === null ? '' : `: ${escapeForTerminal(s.verifyError)}`}`, { fg: 'red', bold: true })]);
  const cert = s.certificate;
  if (cert !== null) {
    lines.push(kv('  subject', escapeForTerminal(cert.subject)));
    lines.push(kv('  issuer', escapeForTerminal(cert.issuer)));
    lines.push(kv('  valid until', escapeForTerminal(cert.validTo)));
    lines.push(kv('  SHA-256', cert.fingerprint256));
  }
  return lines;
}
