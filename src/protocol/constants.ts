/**
 * Wire constants of RFC 6455, named after the RFC so each check reads like the text it enforces.
 */

/** §5.2: opcodes. 0x3-0x7 and 0xB-0xF are reserved. */
export const Opcode = {
  Continuation: 0x0,
  Text: 0x1,
  Binary: 0x2,
  Close: 0x8,
  Ping: 0x9,
  Pong: 0xa,
} as const;
export type OpcodeName = keyof typeof Opcode;

/** §5.5: "All control frames MUST have a payload length of 125 bytes or less". */
export const MAX_CONTROL_PAYLOAD = 125;

/** §5.2: payload length 126 means "the following 2 bytes" hold the length. */
export const PAYLOAD_LEN_16 = 126;
/** §5.2: payload length 127 means "the following 8 bytes" hold the length. */
export const PAYLOAD_LEN_64 = 127;

/** Largest length a JS number holds exactly (2^53 - 1); longer frames cannot be framed here. */
export const MAX_SAFE_PAYLOAD = Number.MAX_SAFE_INTEGER;

/** §1.3: the GUID concatenated with Sec-WebSocket-Key to derive Sec-WebSocket-Accept. */
export const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** §5.2 first header byte. */
export const FIN_BIT = 0x80;
export const RSV1_BIT = 0x40;
export const RSV2_BIT = 0x20;
export const RSV3_BIT = 0x10;
export const OPCODE_MASK = 0x0f;
/** §5.2 second header byte. */
export const MASK_BIT = 0x80;
export const LENGTH_MASK = 0x7f;

/** RFC 7692 §7.2.1: the tail a sender strips from each compressed message and a receiver appends. */
export const DEFLATE_TAIL: Uint8Array = Uint8Array.of(0x00, 0x00, 0xff, 0xff);

export function isControlOpcode(opcode: number): boolean {
  return (opcode & 0x8) !== 0;
}

/** §5.2: "%x3-7 are reserved for further non-control frames"; "%xB-F are reserved for further control frames". */
export function isReservedOpcode(opcode: number): boolean {
  return (opcode >= 0x3 && opcode <= 0x7) || opcode >= 0xb;
}

export type FrameKind = 'continuation' | 'text' | 'binary' | 'close' | 'ping' | 'pong' | 'reserved';

export function frameKind(opcode: number): FrameKind {
  switch (opcode) {
    case Opcode.Continuation:
      return 'continuation';
    case Opcode.Text:
      return 'text';
    case Opcode.Binary:
      return 'binary';
    case Opcode.Close:
      return 'close';
    case Opcode.Ping:
      return 'ping';
    case Opcode.Pong:
      return 'pong';
    default:
      return 'reserved';
  }
}

/** Human name of an opcode, as Wireshark prints it. */
export function opcodeName(opcode: number): string {
  const kind = frameKind(opcode);
  return kind === 'reserved' ? `Reserved (0x${opcode.toString(16)})` : kind[0]!.toUpperCase() + kind.slice(1);
}
