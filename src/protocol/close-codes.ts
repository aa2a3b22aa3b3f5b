/**
 * Close status codes (RFC 6455 §7.4, IANA "WebSocket Close Code Number Registry"), in one table
 * so every check agrees at the edges (1014 is registered and sendable; 1004-1006 and 1015 are not).
 */
import { isUtf8 } from 'node:buffer';

export interface CloseCodeInfo {
  readonly name: string;
  readonly ref: string;
  /** May appear in a close frame on the wire. */
  readonly sendable: boolean;
}

export const CLOSE_CODES: ReadonlyMap<number, CloseCodeInfo> = new Map([
  [1000, { name: 'Normal Closure', ref: 'RFC 6455 §7.4.1', sendable: true }],
  [1001, { name: 'Going Away', ref: 'RFC 6455 §7.4.1', sendable: true }],
  [1002, { name: 'Protocol Error', ref: 'RFC 6455 §7.4.1', sendable: true }],
  [1003, { name: 'Unsupported Data', ref: 'RFC 6455 §7.4.1', sendable: true }],
  [1004, { name: 'Reserved', ref: 'RFC 6455 §7.4.1', sendable: false }],
  [1005, { name: 'No Status Received', ref: 'RFC 6455 §7.4.1', sendable: false }],
  [1006, { name: 'Abnormal Closure', ref: 'RFC 6455 §7.4.1', sendable: false }],
  [1007, { name: 'Invalid Frame Payload Data', ref: 'RFC 6455 §7.4.1', sendable: true }],
  [1008, { name: 'Policy Violation', ref: 'RFC 6455 §7.4.1', sendable: true }],
  [1009, { name: 'Message Too Big', ref: 'RFC 6455 §7.4.1', sendable: true }],
  [1010, { name: 'Mandatory Extension', ref: 'RFC 6455 §7.4.1', sendable: true }],
  [1011, { name: 'Internal Error', ref: 'RFC 6455 §7.4.1', sendable: true }],
  [1012, { name: 'Service Restart', ref: 'IANA', sendable: true }],
  [1013, { name: 'Try Again Later', ref: 'IANA', sendable: true }],
  [1014, { name: 'Bad Gateway', ref: 'IANA', sendable: true }],
  [1015, { name: 'TLS Handshake', ref: 'RFC 6455 §7.4.1', sendable: false }],
]);

/** §7.4.2: 3000-3999 are for libraries and frameworks, 4000-4999 for private use. */
export function isSendableCloseCode(code: number): boolean {
  if (!Number.isInteger(code)) return false;
  if (code >= 3000 && code <= 4999) return true;
  return CLOSE_CODES.get(code)?.sendable ?? false;
}

export function closeCodeName(code: number): string {
  const known = CLOSE_CODES.get(code);
  if (known !== undefined) return known.name;
  if (code >= 3000 && code <= 3999) return 'Registered';
  if (code >= 4000 && code <= 4999) return 'Private Use';
  return 'Unknown';
}

export type CloseProblem = 'close-one-byte' | 'invalid-close-code' | 'invalid-close-reason';

export interface ClosePayload {
  /** null when the frame has no body (§7.1.5: "No Status Rcvd", 1005, to the application). */
  readonly code: number | null;
  readonly reason: string;
  readonly problem: CloseProblem | null;
}

/** Decodes a close body (§5.5.1): optional 2-byte code, then a UTF-8 reason. */
export function parseClosePayload(payload: Uint8Array): ClosePayload {
  if (payload.length === 0) return { code: null, reason: '', problem: null };
  if (payload.length === 1) return { code: null, reason: '', problem: 'close-one-byte' };
  const code = (payload[0]! << 8) | payload[1]!;
  const body = payload.subarray(2);
  const reason = Buffer.from(body.buffer, body.byteOffset, body.length).toString('utf8');
  if (!isSendableCloseCode(code)) return { code, reason, problem: 'invalid-close-code' };
  if (!isUtf8(body)) return { code, reason, problem: 'invalid-close-reason' };
  return { code, reason, problem: null };
}

/** Encodes a close body; throws on a code that may not be sent (our caller's mistake). */
export function encodeClosePayload(code?: number, reason = ''): Buffer {
  if (code === undefined) {
    if (reason !== '') throw new TypeError('a close reason needs a code');
    return Buffer.alloc(0);
  }
  if (!isSendableCloseCode(code)) throw new RangeError(`close code ${code} may not be sent`);
  const text = Buffer.from(reason, 'utf8');
  // §5.5: control payloads are at most 125 bytes, 2 of which hold the code.
  if (text.length > 123) throw new RangeError('close reason longer than 123 bytes');
  const out = Buffer.allocUnsafe(2 + text.length);
  out.writeUInt16BE(code, 0);
  text.copy(out, 2);
  return out;
}
