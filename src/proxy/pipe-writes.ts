/**
 * The bytes a DirectionPipe writes: peer frames written through (a masked one re-keyed, §5.3: a
 * new key per frame), queued frames as they were received, and the frames the proxy writes itself.
 * Each appends to the pipe's output batch; nothing here holds state of its own.
 */
import { Opcode } from '../protocol/constants.js';
import { keyWord, rewriteMaskKey } from '../protocol/frame-header.js';
import { encodeFrame } from '../protocol/frame-writer.js';
import { masked } from '../protocol/mask.js';
import type { OutMessage } from '../intercept/verdict.js';
import type { FrameOrigin, Side } from './events.js';
import type { PipeHost } from './pipe-host.js';
import { closeOf, emitFrame, emitMessage } from './pipe-records.js';
import type { ChunkOutput } from './chunk-output.js';
import { cutMessage } from './frame-layout.js';
import type { QueuedFrame } from './pipe-state.js';

/**
 * A queued frame as received: same header bits and length encoding, fresh mask key. Returns
 * old key XOR new key as a word, for the rest of a frame that goes on through (0 when unmasked).
 */
export function writeOriginal(out: Uint8Array[], host: PipeHost, frame: QueuedFrame): number {
  if (frame.header.maskKey === null) {
    out.push(frame.raw, ...frame.chunks);
    return 0;
  }
  const key = host.keys();
  out.push(rewriteMaskKey(frame.raw, key));
  let offset = 0;
  for (const chunk of frame.chunks) {
    out.push(masked(chunk, key, offset));
    offset += chunk.length;
  }
  return (keyWord(frame.header.maskKey) ^ keyWord(key)) >>> 0;
}

/**
 * Messages the proxy writes itself: one frame each unless its layout says otherwise (`compressed`:
 * their deflated payloads, RFC 7692). Each frame's record goes to `record`, unless `origin` is null.
 */
export function writeProxyMessages(out: ChunkOutput, host: PipeHost, from: Side, messages: readonly OutMessage[], origin: FrameOrigin | null, compressed: readonly Buffer[] | null, record: (emit: () => void) => void): void {
  messages.forEach((m, i) => {
    const body = compressed?.[i] ?? m.data;
    const rsv1 = compressed?.[i] !== undefined;
    cutMessage(m, body, rsv1).forEach((p, n) => {
      out.cut();
      const emit = writeProxyFrame(out.segments, host, from, m, p.plain, p.fin, p.rsv1, p.opcode, p.payload, origin, n === 0);
      if (emit !== null) record(emit);
    });
  });
}

/**
 * One frame the proxy writes (masked toward the server). `plain`: what observers are shown of it.
 * Returns what emits its record (and, for the first frame of an injected data message, the
 * message's), or null when `origin` is null: the caller puts it in the session's record order.
 */
export function writeProxyFrame(
  out: Uint8Array[],
  host: PipeHost,
  from: Side,
  m: OutMessage,
  plain: Uint8Array,
  fin: boolean,
  rsv1: boolean,
  opcode: number,
  body: Uint8Array,
  origin: FrameOrigin | null,
  first: boolean,
): (() => void) | null {
  const maskKey = from === 'client' ? host.keys() : null;
  const [header, payload] = encodeFrame({ fin, rsv1, opcode, maskKey, payload: body });
  out.push(header, payload);
  if (origin === null) return null;
  return () => {
    const limit = host.limits.maxPreview;
    // A copy: the caller (a script, the UI) may reuse its buffer.
    const preview = Buffer.from(plain.length > limit ? plain.subarray(0, limit) : plain);
    const truncated = plain.length > preview.length;
    const close = opcode === Opcode.Close ? closeOf(plain) : null;
    const facts = {
      id: host.nextId(),
      time: host.now(),
      header: { fin, rsv1, rsv2: false, rsv3: false, opcode, maskKey, payloadLength: body.length, headerLength: header.length },
      raw: header,
      violations: [],
    };
    emitFrame(host, from, facts, preview, truncated, close, origin, rsv1);
    if (first && origin === 'injected' && (m.kind === 'text' || m.kind === 'binary')) {
      emitMessage(host, from, { id: facts.id, time: facts.time, kind: m.kind, length: m.data.length, payload: preview, truncated, frames: 1, compressed: rsv1, fate: 'injected', by: null });
    }
  };
}
