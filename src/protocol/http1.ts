/**
 * HTTP/1.1 message framing (RFC 9112 §6): where a request's or response's body ends, so that the
 * next head on a keep-alive connection is read as a head, never relayed as opaque bytes. Pure:
 * the body reader says how many bytes of a chunk belong to the body; the caller moves them.
 */
import { headerTokens, headerValues, parseRequestLine, parseStatusLine, type HttpHead } from './handshake.js';

/** More header lines than this get 431 (RFC 6585 §5): a bound on what one head may cost. */
export const MAX_HEADER_LINES = 256;

export type BodyFraming =
  | { readonly kind: 'none' }
  | { readonly kind: 'length'; readonly length: number }
  | { readonly kind: 'chunked' }
  /** Response only: the body runs until the server closes the connection (§6.3 rule 8). */
  | { readonly kind: 'close' };

export type FramingResult = { readonly ok: true; readonly framing: BodyFraming } | { readonly ok: false; readonly reason: string };

/** Content-Length: one decimal value; a list of identical values counts as one (§6.3 rule 5). */
function contentLength(head: HttpHead): number | null | 'invalid' {
  const values = headerValues(head, 'content-length').flatMap((v) => v.split(',').map((x) => x.trim()));
  if (values.length === 0) return null;
  if (!values.every((v) => /^\d{1,15}$/.test(v)) || new Set(values).size !== 1) return 'invalid';
  return Number(values[0]);
}

/**
 * §6.3 for a request: Transfer-Encoding with chunked last, else Content-Length, else no body.
 * Both at once is how requests are smuggled past a proxy (§6.1: "ought to be handled as an
 * error"), so it is refused, as is a Transfer-Encoding that does not end in chunked (rule 4).
 */
export function requestFraming(head: HttpHead): FramingResult {
  const te = headerTokens(head, 'transfer-encoding');
  const length = contentLength(head);
  if (te.length > 0) {
    if (length !== null) return { ok: false, reason: 'both Transfer-Encoding and Content-Length' };
    if (te[te.length - 1] !== 'chunked') return { ok: false, reason: 'Transfer-Encoding does not end in chunked' };
    return { ok: true, framing: { kind: 'chunked' } };
  }
  if (length === 'invalid') return { ok: false, reason: 'invalid Content-Length' };
  return { ok: true, framing: length === null || length === 0 ? { kind: 'none' } : { kind: 'length', length } };
}

/** §6.3 for a response to `method`: HEAD, 1xx, 204 and 304 have no body; then TE, CL, or until close. */
export function responseFraming(method: string, head: HttpHead): FramingResult {
  const status = parseStatusLine(head.startLine)?.status ?? 0;
  if (method === 'HEAD' || (status >= 100 && status < 200) || status === 204 || status === 304) return { ok: true, framing: { kind: 'none' } };
  const te = headerTokens(head, 'transfer-encoding');
  if (te.length > 0) return { ok: true, framing: te[te.length - 1] === 'chunked' ? { kind: 'chunked' } : { kind: 'close' } };
  const length = contentLength(head);
  if (length === 'invalid') return { ok: false, reason: 'invalid Content-Length' };
  if (length === null) return { ok: true, framing: { kind: 'close' } };
  return { ok: true, framing: length === 0 ? { kind: 'none' } : { kind: 'length', length } };
}

/** Whether the connection may carry another message after this one (§9.3). */
export function keepsAlive(head: HttpHead, version: string): boolean {
  const connection = headerTokens(head, 'connection');
  if (connection.includes('close')) return false;
  return version === 'HTTP/1.1' || connection.includes('keep-alive');
}

/** The HTTP version of a request or status line, or null. */
export function headVersion(head: HttpHead): string | null {
  return parseRequestLine(head.startLine)?.version ?? parseStatusLine(head.startLine)?.version ?? null;
}

/** Number of header lines (not counting the start line). */
export function headerLineCount(head: HttpHead): number {
  return head.headers.length;
}

const HTTP_PREFIX = Buffer.from('HTTP/', 'latin1');

/** False as soon as the first bytes cannot begin a status line (`HTTP/`), so garbage is answered at once. */
export function canStartStatusLine(bytes: Uint8Array): boolean {
  const n = Math.min(bytes.length, HTTP_PREFIX.length);
  for (let i = 0; i < n; i++) if (bytes[i] !== HTTP_PREFIX[i]) return false;
  return true;
}

export type BodyStep =
  /** `used` bytes of the chunk belong to the body; `done`: the body ended within them. */
  | { readonly used: number; readonly done: boolean }
  | { readonly error: string };

type ChunkState = 'size' | 'size-ext' | 'size-lf' | 'data' | 'data-cr' | 'data-lf' | 'trailer-start' | 'trailer' | 'trailer-lf' | 'final-lf';

/** Longest chunk-size line we accept (hex digits and extensions). */
const MAX_SIZE_LINE = 4096;
/** Trailer section bound, as for heads. */
const MAX_TRAILERS = 64 * 1024;

/**
 * Follows a body through chunks of bytes. For `chunked` it walks the chunk framing (§7.1):
 * `chunk-size [ext] CRLF data CRLF ... 0 CRLF [trailers] CRLF`, never buffering data.
 */
export class BodyReader {
  readonly framing: BodyFraming;
  #remaining: number;
  #state: ChunkState = 'size';
  #size = 0;
  #digits = 0;
  #lineBytes = 0;
  #done: boolean;

  constructor(framing: BodyFraming) {
    this.framing = framing;
    this.#remaining = framing.kind === 'length' ? framing.length : 0;
    this.#done = framing.kind === 'none';
  }

  get done(): boolean {
    return this.#done;
  }

  /** Body bytes still expected for a Content-Length body. */
  get remaining(): number {
    return this.#remaining;
  }

  push(bytes: Uint8Array): BodyStep {
    if (this.#done) return { used: 0, done: true };
    switch (this.framing.kind) {
      case 'close':
        return { used: bytes.length, done: false };
      case 'length': {
        const used = Math.min(this.#remaining, bytes.length);
        this.#remaining -= used;
        this.#done = this.#remaining === 0;
        return { used, done: this.#done };
      }
      case 'chunked':
        return this.#chunked(bytes);
      default:
        return { used: 0, done: true };
    }
  }

  /** The peer closed its side: a close-delimited body ends here; any other is cut short. */
  end(): boolean {
    if (this.framing.kind === 'close') this.#done = true;
    return this.#done;
  }

  #chunked(bytes: Uint8Array): BodyStep {
    let i = 0;
    while (i < bytes.length) {
      const b = bytes[i]!;
      switch (this.#state) {
        case 'size': {
          const digit = hexValue(b);
          if (digit >= 0) {
            if (++this.#digits > 13) return { error: 'chunk size too large' };
            this.#size = this.#size * 16 + digit;
            i++;
          } else if (this.#digits === 0) return { error: 'invalid chunk size' };
          else if (b === 0x0d) {
            this.#state = 'size-lf';
            i++;
          } else if (b === 0x3b || b === 0x20 || b === 0x09) {
            this.#state = 'size-ext';
            i++;
          } else return { error: 'invalid chunk size' };
          break;
        }
        case 'size-ext':
          if (b === 0x0d) this.#state = 'size-lf';
          else if (++this.#lineBytes > MAX_SIZE_LINE) return { error: 'chunk extension too long' };
          i++;
          break;
        case 'size-lf':
          if (b !== 0x0a) return { error: 'chunk size line without LF' };
          i++;
          this.#lineBytes = 0;
          this.#digits = 0;
          if (this.#size === 0) this.#state = 'trailer-start';
          else {
            this.#remaining = this.#size;
            this.#state = 'data';
          }
          this.#size = 0;
          break;
        case 'data': {
          const n = Math.min(this.#remaining, bytes.length - i);
          this.#remaining -= n;
          i += n;
          if (this.#remaining === 0) this.#state = 'data-cr';
          break;
        }
        case 'data-cr':
          if (b !== 0x0d) return { error: 'chunk data not followed by CRLF' };
          this.#state = 'data-lf';
          i++;
          break;
        case 'data-lf':
          if (b !== 0x0a) return { error: 'chunk data not followed by CRLF' };
          this.#state = 'size';
          i++;
          break;
        case 'trailer-start':
          // An empty line ends the message; anything else is a trailer field line.
          this.#state = b === 0x0d ? 'final-lf' : 'trailer';
          i++;
          break;
        case 'trailer':
          if (b === 0x0d) this.#state = 'trailer-lf';
          else if (++this.#lineBytes > MAX_TRAILERS) return { error: 'trailer section too large' };
          i++;
          break;
        case 'trailer-lf':
          if (b !== 0x0a) return { error: 'trailer line without LF' };
          this.#state = 'trailer-start';
          i++;
          break;
        case 'final-lf':
          if (b !== 0x0a) return { error: 'chunked body not ended by CRLF' };
          i++;
          this.#done = true;
          return { used: i, done: true };
      }
    }
    return { used: i, done: false };
  }
}

function hexValue(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  if (b >= 0x61 && b <= 0x66) return b - 0x57;
  if (b >= 0x41 && b <= 0x46) return b - 0x37;
  return -1;
}
