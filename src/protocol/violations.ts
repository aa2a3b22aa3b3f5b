/**
 * Every way a peer can break RFC 6455 (and RFC 7692) that the proxy detects, in one table.
 * A violation is data, not an exception: the parser reports it and keeps framing where it can;
 * the session decides what to do (see proxy/session.ts and --strict).
 */

export type ViolationCode =
  | 'invalid-handshake'
  | 'unmasked-client-frame'
  | 'masked-server-frame'
  | 'reserved-opcode'
  | 'unexpected-rsv'
  | 'control-too-long'
  | 'control-fragmented'
  | 'unexpected-continuation'
  | 'expected-continuation'
  | 'non-minimal-length'
  | 'length-msb-set'
  | 'length-too-large'
  | 'invalid-utf8'
  | 'close-one-byte'
  | 'invalid-close-code'
  | 'invalid-close-reason'
  | 'data-after-close'
  | 'invalid-deflate'
  | 'message-too-big'
  | 'truncated-frame';

/** Close code a conforming endpoint sends for the violation (§7.4.1); null when there is no one to tell. */
export type ViolationCloseCode = 1002 | 1007 | 1009 | null;

export interface Violation {
  readonly code: ViolationCode;
  readonly closeCode: ViolationCloseCode;
  /** True when framing cannot continue: the byte stream can no longer be split into frames. */
  readonly fatal: boolean;
  /** Where the rule is written, e.g. "RFC 6455 §5.1". */
  readonly rfc: string;
  /** Human text; may change between versions. Tests assert `code`, never this. */
  readonly message: string;
}

interface Rule {
  readonly closeCode: ViolationCloseCode;
  readonly fatal: boolean;
  readonly rfc: string;
  readonly message: string;
}

export const VIOLATIONS: { readonly [K in ViolationCode]: Rule } = {
  'invalid-handshake': {
    closeCode: null,
    fatal: true,
    rfc: 'RFC 6455 §4.2.1, RFC 9112 §3',
    message: 'not a valid HTTP request head (answered 400 Bad Request)',
  },
  'unmasked-client-frame': {
    closeCode: 1002,
    fatal: false,
    rfc: 'RFC 6455 §5.1',
    message: 'client frame is not masked ("a client MUST mask all frames that it sends to the server")',
  },
  'masked-server-frame': {
    closeCode: 1002,
    fatal: false,
    rfc: 'RFC 6455 §5.1',
    message: 'server frame is masked ("A server MUST NOT mask any frames that it sends to the client")',
  },
  'reserved-opcode': {
    closeCode: 1002,
    fatal: false,
    rfc: 'RFC 6455 §5.2',
    message: 'reserved opcode ("If an unknown opcode is received, the receiving endpoint MUST _Fail the WebSocket Connection_")',
  },
  'unexpected-rsv': {
    closeCode: 1002,
    fatal: false,
    rfc: 'RFC 6455 §5.2, RFC 7692 §6',
    message: 'RSV bit set that no negotiated extension defines ("MUST be 0 unless an extension is negotiated that defines meanings")',
  },
  'control-too-long': {
    closeCode: 1002,
    fatal: false,
    rfc: 'RFC 6455 §5.5',
    message: 'control frame payload over 125 bytes ("All control frames MUST have a payload length of 125 bytes or less")',
  },
  'control-fragmented': {
    closeCode: 1002,
    fatal: false,
    rfc: 'RFC 6455 §5.5',
    message: 'fragmented control frame ("All control frames ... MUST NOT be fragmented")',
  },
  'unexpected-continuation': {
    closeCode: 1002,
    fatal: false,
    rfc: 'RFC 6455 §5.4',
    message: 'continuation frame with no message in progress',
  },
  'expected-continuation': {
    closeCode: 1002,
    fatal: false,
    rfc: 'RFC 6455 §5.4',
    message: 'new data message before the previous one finished ("fragments of one message MUST NOT be interleaved")',
  },
  'non-minimal-length': {
    closeCode: 1002,
    fatal: false,
    rfc: 'RFC 6455 §5.2',
    message: 'payload length not minimally encoded ("the minimal number of bytes MUST be used to encode the length")',
  },
  'length-msb-set': {
    closeCode: 1002,
    fatal: true,
    rfc: 'RFC 6455 §5.2',
    message: '64-bit payload length with the most significant bit set ("the most significant bit MUST be 0")',
  },
  'length-too-large': {
    closeCode: 1009,
    fatal: true,
    rfc: 'RFC 6455 §7.4.1',
    message: 'payload length above 2^53-1 bytes cannot be framed',
  },
  'invalid-utf8': {
    closeCode: 1007,
    fatal: false,
    rfc: 'RFC 6455 §8.1',
    message: 'text message is not valid UTF-8 ("MUST _Fail the WebSocket Connection_")',
  },
  'close-one-byte': {
    closeCode: 1002,
    fatal: false,
    rfc: 'RFC 6455 §5.5.1',
    message: 'close frame with a 1-byte payload (a body must start with a 2-byte status code)',
  },
  'invalid-close-code': {
    closeCode: 1002,
    fatal: false,
    rfc: 'RFC 6455 §7.4',
    message: 'close code that may not be sent on the wire',
  },
  'invalid-close-reason': {
    closeCode: 1007,
    fatal: false,
    rfc: 'RFC 6455 §5.5.1',
    message: 'close reason is not valid UTF-8',
  },
  'data-after-close': {
    closeCode: null,
    fatal: false,
    rfc: 'RFC 6455 §5.5.1',
    message: 'frame after a close frame ("The application MUST NOT send any more data frames after sending a Close frame")',
  },
  'invalid-deflate': {
    closeCode: 1007,
    fatal: false,
    rfc: 'RFC 7692 §7.2.2',
    message: 'compressed message does not inflate',
  },
  'message-too-big': {
    closeCode: 1009,
    // The proxy cannot go on relaying this direction (it would have to hold the message whole).
    fatal: true,
    rfc: 'RFC 6455 §7.4.1',
    message: 'message too big for the proxy to process ("a message that is too big for it to process")',
  },
  'truncated-frame': {
    closeCode: null,
    fatal: true,
    rfc: 'RFC 6455 §7.1.1',
    message: 'connection closed in the middle of a frame',
  },
};

export function violation(code: ViolationCode, detail?: string): Violation {
  const rule = VIOLATIONS[code];
  return { code, ...rule, message: detail === undefined ? rule.message : `${rule.message}: ${detail}` };
}
