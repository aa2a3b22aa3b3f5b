/**
 * What the proxy writes on a session's behalf: a message injected through the control surface, as
 * the frame to send, and a close reason cut to what a close frame can carry.
 */
import { encodeClosePayload } from '../protocol/close-codes.js';
import type { OutMessage } from '../intercept/verdict.js';
import type { InjectRequest } from './control.js';

export function toOutMessage(request: InjectRequest): OutMessage {
  const data = request.data === undefined ? Buffer.alloc(0) : typeof request.data === 'string' ? Buffer.from(request.data, 'utf8') : request.data;
  switch (request.kind) {
    case 'close':
      return { kind: 'close', data: encodeClosePayload(request.code, request.reason ?? '') };
    case 'ping':
    case 'pong':
      // §5.5: control payloads are at most 125 bytes.
      if (data.length > 125) throw new RangeError(`${request.kind} payload over 125 bytes`);
      return { kind: request.kind, data };
    case 'text':
    case 'binary':
      return { kind: request.kind, data };
    default:
      throw new TypeError(`unknown frame kind ${String((request as { kind: unknown }).kind)}`);
  }
}

/** Cuts a string to at most `max` UTF-8 bytes without splitting a character. */
export function truncateUtf8(text: string, max: number): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= max) return text;
  let end = max;
  // Back off over continuation bytes (10xxxxxx) to the start of the character that was cut.
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString('utf8');
}
