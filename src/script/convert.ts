/**
 * Turning what scripts hand over (strings, buffers, frame objects, arrays) into the proxy's
 * OutMessage / InjectRequest, and the proxy's records into the script-facing objects.
 */
import type { HttpHead } from '../protocol/handshake.js';
import { encodeClosePayload } from '../protocol/close-codes.js';
import { MAX_CONTROL_PAYLOAD } from '../protocol/constants.js';
import type { OutMessage } from '../intercept/verdict.js';
import type { InjectRequest } from '../proxy/control.js';
import type { ScriptBytes, ScriptFrameOut, ScriptHead, ScriptSend } from './define-script.js';

export type OutKind = OutMessage['kind'];

/** A value a script returned or sent that the proxy cannot turn into a frame. */
export class ScriptValueError extends TypeError {
  override readonly name = 'ScriptValueError';
}

export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') {
    const name = (value as object).constructor?.name;
    return name !== undefined && name !== 'Object' ? `a ${name}` : `an object with keys ${JSON.stringify(Object.keys(value as object).slice(0, 6))}`;
  }
  if (typeof value === 'function') return 'a function';
  return `a ${typeof value} (${String(value).slice(0, 40)})`;
}

export function isBytes(value: unknown): value is Uint8Array | ArrayBuffer {
  return value instanceof Uint8Array || value instanceof ArrayBuffer;
}

export function toBuffer(value: ScriptBytes): Buffer {
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (value instanceof ArrayBuffer) return Buffer.from(value);
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

const KINDS: ReadonlySet<string> = new Set(['text', 'binary', 'ping', 'pong', 'close']);

/** A frame object → OutMessage. Throws ScriptValueError with a sentence a script author understands. */
export function frameOut(value: ScriptFrameOut): OutMessage {
  const { kind, text, json, data, code, reason } = value;
  if (kind !== undefined && !KINDS.has(kind)) throw new ScriptValueError(`unknown kind ${JSON.stringify(kind)} (expected text, binary, ping, pong or close)`);
  const given = [text !== undefined, json !== undefined, data !== undefined].filter(Boolean).length;
  if (given > 1) throw new ScriptValueError('give only one of text, json and data');
  if (text !== undefined && typeof text !== 'string') throw new ScriptValueError(`text must be a string, got ${describeValue(text)}`);
  if (data !== undefined && typeof data !== 'string' && !isBytes(data)) throw new ScriptValueError(`data must be a Buffer, Uint8Array, ArrayBuffer or string, got ${describeValue(data)}`);
  let payload: Buffer;
  if (text !== undefined) payload = Buffer.from(text, 'utf8');
  else if (json !== undefined) {
    const serialised = JSON.stringify(json);
    if (serialised === undefined) throw new ScriptValueError(`json value ${describeValue(json)} cannot be serialised`);
    payload = Buffer.from(serialised, 'utf8');
  } else payload = data === undefined ? Buffer.alloc(0) : toBuffer(data);
  const resolved: OutKind = kind ?? (text !== undefined || json !== undefined ? 'text' : data !== undefined ? 'binary' : 'close');
  if (kind === undefined && given === 0 && code === undefined && reason === undefined) {
    throw new ScriptValueError('a frame needs text, json, data or a kind');
  }
  if (resolved === 'close') {
    if (given > 0) throw new ScriptValueError('a close frame takes code and reason, not text/json/data');
    if (code !== undefined && (typeof code !== 'number' || !Number.isInteger(code))) throw new ScriptValueError(`close code must be an integer, got ${describeValue(code)}`);
    try {
      return { kind: 'close', data: encodeClosePayload(code, reason ?? '') };
    } catch (error) {
      throw new ScriptValueError((error as Error).message);
    }
  }
  if (code !== undefined || reason !== undefined) throw new ScriptValueError(`code and reason belong to close frames, not ${resolved}`);
  if ((resolved === 'ping' || resolved === 'pong') && payload.length > MAX_CONTROL_PAYLOAD) {
    throw new ScriptValueError(`${resolved} payload is ${payload.length} bytes; control frames carry at most ${MAX_CONTROL_PAYLOAD}`);
  }
  return { kind: resolved, data: payload };
}

/** ctx.send's argument → InjectRequest. */
export function injectRequest(value: ScriptSend): InjectRequest {
  if (value === null || typeof value !== 'object') throw new ScriptValueError(`ctx.send needs an object like { to: 'server', text: '…' }, got ${describeValue(value)}`);
  if (value.to !== 'client' && value.to !== 'server') throw new ScriptValueError(`ctx.send: "to" must be 'client' or 'server', got ${JSON.stringify(value.to)}`);
  const out = frameOut(value);
  if (out.kind === 'close') {
    const code = value.code;
    return code === undefined ? { to: value.to, kind: 'close' } : { to: value.to, kind: 'close', code, reason: value.reason ?? '' };
  }
  return { to: value.to, kind: out.kind, data: out.data };
}

/**
 * A hook's return value → the messages to write instead, or null to forward unchanged, or an
 * empty list to drop. `kind` is the kind of the message being decided (bytes keep it).
 */
export function resultMessages(value: unknown, kind: OutKind, isDrop: (v: unknown) => boolean): OutMessage[] | null {
  if (value === undefined || value === null) return null;
  if (isDrop(value)) return [];
  if (Array.isArray(value)) {
    return value.map((item, i) => {
      if (Array.isArray(item) || isDrop(item) || item === undefined || item === null) {
        throw new ScriptValueError(`item ${i} of the returned array is ${describeValue(item)}: items must be strings, buffers or frame objects`);
      }
      return single(item, kind);
    });
  }
  return [single(value, kind)];
}

function single(value: unknown, kind: OutKind): OutMessage {
  if (typeof value === 'string') return { kind: 'text', data: Buffer.from(value, 'utf8') };
  if (isBytes(value)) {
    const data = toBuffer(value);
    if (kind === 'close') return { kind, data };
    if ((kind === 'ping' || kind === 'pong') && data.length > MAX_CONTROL_PAYLOAD) {
      throw new ScriptValueError(`${kind} payload is ${data.length} bytes; control frames carry at most ${MAX_CONTROL_PAYLOAD}`);
    }
    return { kind, data };
  }
  if (typeof value === 'object' && value !== null && !(value instanceof Promise)) return frameOut(value as ScriptFrameOut);
  throw new ScriptValueError(
    `returned ${describeValue(value)}; return undefined (forward), a string, a Buffer, a frame object like { text }, an array of those, or ctx.drop()`,
  );
}

export function scriptHead(head: HttpHead): ScriptHead {
  const raw = Buffer.from(head.raw.buffer, head.raw.byteOffset, head.raw.byteLength);
  return {
    startLine: head.startLine,
    headers: head.headers,
    raw,
    header(name: string): string | undefined {
      const lower = name.toLowerCase();
      const values = head.headers.filter(([n]) => n.toLowerCase() === lower).map(([, v]) => v);
      return values.length === 0 ? undefined : values.join(', ');
    },
  };
}
