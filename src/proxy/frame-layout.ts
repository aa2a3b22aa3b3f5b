/**
 * How a message the proxy writes is cut into frames. One frame unless a fault rule asks for
 * fragments (RFC 6455 §5.4): the first carries the opcode (and RSV1 when compressed, RFC 7692
 * §6.1), the rest are continuations, the last has FIN; a ping may sit between fragments.
 */
import { Opcode } from '../protocol/constants.js';
import type { OutMessage } from '../intercept/verdict.js';
import { OPCODES } from './pipe-state.js';

export interface FramePiece {
  readonly fin: boolean;
  readonly rsv1: boolean;
  readonly opcode: number;
  /** Bytes on the wire (compressed when the message is). */
  readonly payload: Uint8Array;
  /** What observers are shown: the plain bytes of this piece, or of the whole message for the first compressed piece. */
  readonly plain: Uint8Array;
}

const EMPTY = new Uint8Array(0);

/** `body`: the wire payload (the compressed bytes when `compressed`). */
export function cutMessage(m: OutMessage, body: Uint8Array, compressed: boolean): FramePiece[] {
  const opcode = OPCODES[m.kind];
  const max = m.layout?.maxFrame ?? 0;
  if (max <= 0 || body.length <= max) return [{ fin: true, rsv1: compressed, opcode, payload: body, plain: m.data }];
  const pieces: FramePiece[] = [];
  for (let at = 0; at < body.length; at += max) {
    const first = at === 0;
    const end = Math.min(at + max, body.length);
    if (!first && m.layout?.ping === true) pieces.push({ fin: true, rsv1: false, opcode: Opcode.Ping, payload: EMPTY, plain: EMPTY });
    const payload = body.subarray(at, end);
    pieces.push({
      fin: end === body.length,
      rsv1: compressed && first,
      opcode: first ? opcode : Opcode.Continuation,
      payload,
      plain: compressed ? (first ? m.data : EMPTY) : payload,
    });
  }
  return pieces;
}
