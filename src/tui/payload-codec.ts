/**
 * Payloads as the person edits them, and back to bytes: text as text, JSON pretty-printed (and
 * sent compact again when it came compact), binary as hex, a close frame as "code reason".
 * Pure.
 */
import { MAX_CONTROL_PAYLOAD } from '../protocol/constants.js';
import { encodeClosePayload, parseClosePayload } from '../protocol/close-codes.js';
import { looksLikeText, prettyJson } from '../output/format.js';
import { decodeText } from './store.js';

export type PayloadKind = 'text' | 'binary' | 'ping' | 'pong' | 'close';

export type EditMode = 'text' | 'json' | 'hex' | 'close';

export interface Editable {
  readonly mode: EditMode;
  readonly text: string;
  /** JSON that arrived on one line goes back on one line. */
  readonly compactJson: boolean;
}

export type Encoded = { readonly ok: true; readonly data: Uint8Array } | { readonly ok: false; readonly error: string };

export const MODE_LABEL: { readonly [M in EditMode]: string } = {
  text: 'text',
  json: 'JSON',
  hex: 'hex',
  close: 'close: code reason',
};

/** Hex in groups of two digits, 16 bytes a line, 8 + 8. */
export function formatHexForEdit(bytes: Uint8Array): string {
  const lines: string[] = [];
  for (let off = 0; off < bytes.length; off += 16) {
    const row = Buffer.from(bytes.buffer, bytes.byteOffset + off, Math.min(16, bytes.length - off)).toString('hex');
    const pairs = row.match(/../g) ?? [];
    lines.push([pairs.slice(0, 8).join(' '), pairs.slice(8).join(' ')].filter((s) => s !== '').join('  '));
  }
  return lines.join('\n');
}

/** Hex digits with any whitespace, optional 0x prefixes and commas in between. */
export function parseHex(text: string): Encoded {
  const digits = text.replace(/0x/gi, '').replace(/[\s,:]+/g, '');
  const bad = /[^0-9a-f]/i.exec(digits);
  if (bad !== null) return { ok: false, error: `not a hex digit: "${bad[0]}"` };
  if (digits.length % 2 !== 0) return { ok: false, error: 'odd number of hex digits' };
  return { ok: true, data: Buffer.from(digits, 'hex') };
}

export function toEditable(kind: PayloadKind, data: Uint8Array): Editable {
  switch (kind) {
    case 'text': {
      const text = decodeText(data);
      const pretty = prettyJson(text);
      if (pretty !== null) return { mode: 'json', text: pretty, compactJson: !text.includes('\n') };
      return { mode: 'text', text, compactJson: false };
    }
    case 'binary':
      return { mode: 'hex', text: formatHexForEdit(data), compactJson: false };
    case 'ping':
    case 'pong':
      return looksLikeText(data) ? { mode: 'text', text: decodeText(data), compactJson: false } : { mode: 'hex', text: formatHexForEdit(data), compactJson: false };
    case 'close': {
      const c = parseClosePayload(data);
      return { mode: 'close', text: c.code === null ? '' : `${c.code}${c.reason === '' ? '' : ` ${c.reason}`}`, compactJson: false };
    }
  }
}

/** Parses "1000 reason" (or "" for a close frame without a status code). */
export function encodeCloseText(text: string): Encoded {
  const t = text.replace(/^\s+/, '');
  if (t.trim() === '') return { ok: true, data: new Uint8Array(0) };
  const m = /^(\d{1,5})(?:\s(.*))?$/s.exec(t);
  if (m === null) return { ok: false, error: 'write a close code, then the reason: 1000 bye' };
  return encodeClose(Number(m[1]), m[2] ?? '');
}

export function encodeClose(code: number, reason: string): Encoded {
  try {
    return { ok: true, data: encodeClosePayload(code, reason) };
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
}

/** Back to bytes. `kind` bounds control payloads (RFC 6455 §5.5: at most 125 bytes). */
export function fromEditable(edit: Pick<Editable, 'mode' | 'compactJson'>, text: string, kind: PayloadKind): Encoded {
  let out: Encoded;
  switch (edit.mode) {
    case 'text':
      out = { ok: true, data: Buffer.from(text, 'utf8') };
      break;
    case 'json': {
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (error) {
        return { ok: false, error: `not valid JSON: ${(error as Error).message}` };
      }
      out = { ok: true, data: Buffer.from(edit.compactJson ? JSON.stringify(value) : text, 'utf8') };
      break;
    }
    case 'hex':
      out = parseHex(text);
      break;
    case 'close':
      out = encodeCloseText(text);
      break;
  }
  if (out.ok && (kind === 'ping' || kind === 'pong' || kind === 'close') && out.data.length > MAX_CONTROL_PAYLOAD) {
    return { ok: false, error: `a ${kind} payload is at most ${MAX_CONTROL_PAYLOAD} bytes (this is ${out.data.length})` };
  }
  return out;
}
