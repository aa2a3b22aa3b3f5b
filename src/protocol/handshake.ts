/**
 * HTTP/1.1 head handling for the opening handshake (RFC 6455 §4), byte-exact: a head is kept as
 * its raw bytes plus a parsed view, and rewriting touches only the lines it must.
 */
import crypto from 'node:crypto';
import { WS_GUID } from './constants.js';

const CRLFCRLF = Buffer.from('\r\n\r\n');

/** Heads larger than this are refused (answer 431/400): a debugging proxy still needs a bound. */
export const MAX_HEAD_BYTES = 64 * 1024;

export interface HttpHead {
  /** The head as received, up to and including the blank line. */
  readonly raw: Uint8Array;
  readonly startLine: string;
  /** Header lines in order, names in their original case. */
  readonly headers: readonly (readonly [string, string])[];
}

export type HeadSplit =
  | { readonly state: 'incomplete' }
  | { readonly state: 'too-large' }
  | { readonly state: 'complete'; readonly head: Uint8Array; readonly rest: Uint8Array };

/** Splits a head from the bytes after it; the rest (first frames, a body) must not be lost. */
export function splitHead(bytes: Uint8Array, maxHead = MAX_HEAD_BYTES): HeadSplit {
  const end = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).indexOf(CRLFCRLF);
  if (end === -1) return bytes.length > maxHead ? { state: 'too-large' } : { state: 'incomplete' };
  if (end + 4 > maxHead) return { state: 'too-large' };
  return { state: 'complete', head: bytes.subarray(0, end + 4), rest: bytes.subarray(end + 4) };
}

export type HeadParse = { readonly ok: true; readonly head: HttpHead } | { readonly ok: false; readonly reason: string };

// RFC 9110 §5.6.2 token characters.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export function parseHead(raw: Uint8Array): HeadParse {
  const text = Buffer.from(raw.buffer, raw.byteOffset, raw.length).toString('latin1');
  // The head ends with CRLF CRLF: the lines are what comes before the CRLFs at its end. Names and
  // values are cut from this one string (no string per line): every session keeps its heads.
  let end = text.length;
  while (end >= 2 && text.charCodeAt(end - 2) === 0x0d && text.charCodeAt(end - 1) === 0x0a) end -= 2;
  if (end === 0) return { ok: false, reason: 'empty request line' };
  let lineEnd = lineEndOf(text, 0, end);
  const startLine = text.slice(0, lineEnd);
  if (startLine === '') return { ok: false, reason: 'empty request line' };
  const headers: [string, string][] = [];
  while (lineEnd < end) {
    const from = lineEnd + 2;
    lineEnd = lineEndOf(text, from, end);
    const colon = text.indexOf(':', from);
    if (colon === -1 || colon >= lineEnd || colon === from) return { ok: false, reason: `malformed header line ${JSON.stringify(text.slice(from, Math.min(lineEnd, from + 60)))}` };
    const name = text.slice(from, colon);
    if (!TOKEN.test(name)) return { ok: false, reason: `invalid header name ${JSON.stringify(name.slice(0, 60))}` };
    headers.push([name, trimOws(text, colon + 1, lineEnd)]);
  }
  return { ok: true, head: { raw, startLine, headers } };
}

/** Where the line starting at `from` ends: its CRLF, or `end`. */
function lineEndOf(text: string, from: number, end: number): number {
  const crlf = text.indexOf('\r\n', from);
  return crlf === -1 || crlf > end ? end : crlf;
}

/**
 * RFC 9110 §5.5: only OWS (SP / HTAB) surrounds a field value. String#trim would also strip
 * obs-text 0xA0 (NBSP once decoded as latin1) and control bytes the peer really sent.
 */
function trimOws(line: string, start: number, end = line.length): string {
  let from = start;
  let to = end;
  while (from < to && isOws(line.charCodeAt(from))) from++;
  while (to > from && isOws(line.charCodeAt(to - 1))) to--;
  return line.slice(from, to);
}

const isOws = (c: number): boolean => c === 0x20 || c === 0x09;

export interface RequestLine {
  readonly method: string;
  readonly target: string;
  readonly version: string;
}

export function parseRequestLine(startLine: string): RequestLine | null {
  const m = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) (\S+) (HTTP\/\d\.\d)$/.exec(startLine);
  return m === null ? null : { method: m[1]!, target: m[2]!, version: m[3]! };
}

export interface StatusLine {
  readonly version: string;
  readonly status: number;
  readonly reason: string;
}

export function parseStatusLine(startLine: string): StatusLine | null {
  const m = /^(HTTP\/\d\.\d) (\d{3})(?: (.*))?$/.exec(startLine);
  return m === null ? null : { version: m[1]!, status: Number(m[2]), reason: m[3] ?? '' };
}

/** All values of a header (case-insensitive name), in order. */
export function headerValues(head: HttpHead, name: string): string[] {
  const lower = name.toLowerCase();
  const values: string[] = [];
  for (const [n, v] of head.headers) if (sameName(n, lower)) values.push(v);
  return values;
}

/** The header's values joined with ", " (RFC 9110 §5.3), or null when absent. */
export function header(head: HttpHead, name: string): string | null {
  // Every opening handshake asks for several headers: no array unless a name repeats.
  const lower = name.toLowerCase();
  let found: string | null = null;
  for (const [n, v] of head.headers) if (sameName(n, lower)) found = found === null ? v : `${found}, ${v}`;
  return found;
}

/** Whether a header name (any case) is `lower` (lower case). */
function sameName(name: string, lower: string): boolean {
  return name.length === lower.length && (name === lower || name.toLowerCase() === lower);
}

/** Comma-separated tokens of a header, lower-cased (Connection: keep-alive, Upgrade). */
export function headerTokens(head: HttpHead, name: string): string[] {
  const tokens: string[] = [];
  for (const v of headerValues(head, name)) {
    for (const part of v.split(',')) {
      const t = part.trim().toLowerCase();
      if (t !== '') tokens.push(t);
    }
  }
  return tokens;
}

/**
 * RFC 6455 §4.2.1: a GET with Upgrade: websocket and Connection: Upgrade asks for a WebSocket.
 * `requestLine`: the head's start line already parsed, when the caller has it.
 */
export function isWebSocketUpgrade(head: HttpHead, requestLine?: RequestLine | null): boolean {
  const line = requestLine ?? parseRequestLine(head.startLine);
  return (
    line !== null &&
    line.method === 'GET' &&
    headerTokens(head, 'upgrade').includes('websocket') &&
    headerTokens(head, 'connection').includes('upgrade')
  );
}

/** §4.2.2: base64(SHA-1(key + GUID)). */
export function computeAccept(key: string): string {
  // The one-shot hash (Node 20.12+) makes no Hash object: one per connection adds up.
  return typeof crypto.hash === 'function' ? crypto.hash('sha1', key + WS_GUID, 'base64') : crypto.createHash('sha1').update(key + WS_GUID).digest('base64');
}

export function verifyAccept(request: HttpHead, response: HttpHead): boolean {
  const key = header(request, 'sec-websocket-key');
  const accept = header(response, 'sec-websocket-accept');
  return key !== null && accept !== null && computeAccept(key) === accept;
}

export interface HeadEdit {
  /** Header name (case-insensitive). */
  readonly name: string;
  /** New value; null removes every line with that name. */
  readonly value: string | null;
}

/**
 * Applies edits (and optionally a new start line) to a head, leaving every other byte as it was.
 * Replacing keeps the original name spelling and position of the first occurrence; later
 * occurrences are removed.
 */
export function rewriteHead(head: HttpHead, edits: readonly HeadEdit[], startLine?: string): Buffer {
  if (edits.length === 0 && startLine === undefined) return Buffer.from(head.raw);
  return edit(head, edits, startLine).raw;
}

/**
 * `rewriteHead` with the parsed view of the result made in the same pass: the lines it keeps keep
 * their parsed pairs, so the new bytes need not be parsed again (every upgrade rewrites Host).
 */
export function editHead(head: HttpHead, edits: readonly HeadEdit[], startLine?: string): HttpHead {
  if (edits.length === 0 && startLine === undefined) return head;
  return edit(head, edits, startLine);
}

function edit(head: HttpHead, edits: readonly HeadEdit[], startLine: string | undefined): HttpHead & { readonly raw: Buffer } {
  return editInPlace(head, edits, startLine) ?? editLines(head, edits, startLine);
}

const CRLF = Buffer.from('\r\n');

/**
 * The usual case of `edit`, a head from parseHead: the lines kept are copied as byte ranges of the
 * head and keep their parsed pairs; only the edited lines are made anew. Null when the head's lines
 * do not line up with its parsed pairs (then `editLines` does it the general way).
 */
function editInPlace(head: HttpHead, edits: readonly HeadEdit[], startLine: string | undefined): (HttpHead & { readonly raw: Buffer }) | null {
  const raw = Buffer.from(head.raw.buffer, head.raw.byteOffset, head.raw.length);
  const pairs = head.headers;
  const lower = edits.map((e) => e.name.toLowerCase());
  const done: boolean[] = edits.map(() => false);
  const pieces: Uint8Array[] = [];
  const headers: (readonly [string, string])[] = [];
  // `lineEnd`: where the CRLF ending the current line is; `keep`: the start of the bytes kept as they are.
  let lineEnd = raw.indexOf(CRLF);
  if (lineEnd === -1) return null;
  let keep = 0;
  if (startLine !== undefined) {
    pieces.push(Buffer.from(startLine, 'latin1'));
    keep = lineEnd;
  }
  for (let i = 0; i < pairs.length; i++) {
    const from = lineEnd + 2;
    const to = raw.indexOf(CRLF, from);
    if (to === -1) return null;
    const pair = pairs[i]!;
    const name = pair[0];
    // The pair must be this line's (parseHead cuts the name at the first colon).
    if (raw[from + name.length] !== 0x3a || raw.toString('latin1', from, from + name.length) !== name) return null;
    lineEnd = to;
    const at = lower.indexOf(name.toLowerCase());
    if (at === -1) {
      headers.push(pair);
      continue;
    }
    const value = edits[at]!.value;
    if (value !== null && !done[at]) {
      done[at] = true;
      pieces.push(raw.subarray(keep, from), Buffer.from(`${name}: ${value}`, 'latin1'));
      headers.push([name, trimOws(value, 0)]);
    } else pieces.push(raw.subarray(keep, from - 2));
    keep = to;
  }
  // The last line's CRLF, then the empty line: nothing else may follow.
  if (lineEnd !== raw.length - 4 || raw[raw.length - 2] !== 0x0d || raw[raw.length - 1] !== 0x0a) return null;
  pieces.push(raw.subarray(keep, raw.length - 2));
  // A value for a header the head lacks (say, Host in an HTTP/1.0 request) is added at the end.
  edits.forEach((e, i) => {
    // Done by name: a replaced line is marked at the name's first edit.
    if (e.value !== null && !done[lower.indexOf(lower[i]!)]) {
      pieces.push(Buffer.from(`${e.name}: ${e.value}\r\n`, 'latin1'));
      headers.push([e.name, trimOws(e.value, 0)]);
    }
  });
  pieces.push(CRLF);
  const out = Buffer.concat(pieces);
  return { raw: out, startLine: startLine ?? head.startLine, headers };
}

/** `edit` line by line, for any head. */
function editLines(head: HttpHead, edits: readonly HeadEdit[], startLine: string | undefined): HttpHead & { readonly raw: Buffer } {
  const text = Buffer.from(head.raw.buffer, head.raw.byteOffset, head.raw.length).toString('latin1');
  const lines = text.slice(0, -4).split('\r\n');
  const out: string[] = [startLine ?? lines[0]!];
  // The parsed pairs line up with the lines when `head` is a whole head from parseHead; otherwise parse the result.
  const aligned = lines.length - 1 === head.headers.length && text.endsWith('\r\n\r\n');
  const headers: (readonly [string, string])[] = [];
  const lower = edits.map((e) => e.name.toLowerCase());
  const done = new Set<string>();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(':');
    const name = line.slice(0, colon);
    const at = lower.indexOf(name.toLowerCase());
    if (at === -1) {
      out.push(line);
      if (aligned) headers.push(head.headers[i - 1]!);
      continue;
    }
    const value = edits[at]!.value;
    if (value !== null && !done.has(lower[at]!)) {
      done.add(lower[at]!);
      out.push(`${name}: ${value}`);
      headers.push([name, trimOws(value, 0)]);
    }
  }
  // A value for a header the head lacks (say, Host in an HTTP/1.0 request) is added at the end.
  edits.forEach((e, i) => {
    if (e.value !== null && !done.has(lower[i]!)) {
      out.push(`${e.name}: ${e.value}`);
      headers.push([e.name, trimOws(e.value, 0)]);
    }
  });
  const raw = Buffer.from(`${out.join('\r\n')}\r\n\r\n`, 'latin1');
  if (aligned) return { raw, startLine: out[0]!, headers };
  const parsed = parseHead(raw);
  return parsed.ok ? { ...parsed.head, raw } : { ...head, raw };
}

export interface ExtensionOffer {
  readonly name: string;
  /** Parameters in order; a parameter without a value is `true`. */
  readonly params: readonly (readonly [string, string | true])[];
}

/**
 * Parses Sec-WebSocket-Extensions (§9.1): `extension *( "," extension )`, each
 * `name *( ";" param )`, `param = token [ "=" (token | quoted-string) ]`. Returns null when malformed.
 */
export function parseExtensions(value: string): ExtensionOffer[] | null {
  const out: ExtensionOffer[] = [];
  let i = 0;
  const skipSpace = (): void => {
    while (i < value.length && (value[i] === ' ' || value[i] === '\t')) i++;
  };
  const token = (): string | null => {
    const m = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+/.exec(value.slice(i));
    if (m === null) return null;
    i += m[0].length;
    return m[0];
  };
  const quoted = (): string | null => {
    let s = '';
    i++; // opening quote
    while (i < value.length && value[i] !== '"') {
      if (value[i] === '\\') i++;
      s += value[i] ?? '';
      i++;
    }
    if (value[i] !== '"') return null;
    i++;
    return s;
  };
  for (;;) {
    skipSpace();
    if (i >= value.length) break;
    if (value[i] === ',') {
      i++; // empty list elements are allowed by #rule
      continue;
    }
    const name = token();
    if (name === null) return null;
    const params: [string, string | true][] = [];
    skipSpace();
    while (value[i] === ';') {
      i++;
      skipSpace();
      const key = token();
      if (key === null) return null;
      skipSpace();
      if (value[i] === '=') {
        i++;
        skipSpace();
        const v = value[i] === '"' ? quoted() : token();
        if (v === null) return null;
        params.push([key.toLowerCase(), v]);
      } else params.push([key.toLowerCase(), true]);
      skipSpace();
    }
    out.push({ name: name.toLowerCase(), params });
    skipSpace();
    if (i < value.length && value[i] !== ',') return null;
  }
  return out;
}

/**
 * §9.1: a value is `token | quoted-string`. A value read from a quoted-string may hold characters
 * a token cannot (space, comma, semicolon, empty), so write it quoted again or it would change the
 * offer's meaning (or make it malformed) when forwarded.
 */
function formatParamValue(value: string): string {
  return TOKEN.test(value) ? value : `"${value.replace(/["\\]/g, '\\$&')}"`;
}

export function formatExtensions(offers: readonly ExtensionOffer[]): string {
  return offers
    .map((o) => [o.name, ...o.params.map(([k, v]) => (v === true ? k : `${k}=${formatParamValue(v)}`))].join('; '))
    .join(', ');
}

/** Sec-WebSocket-Protocol: comma-separated tokens (§4.1, §11.3.4). */
export function parseProtocols(value: string): string[] {
  return value
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
}
