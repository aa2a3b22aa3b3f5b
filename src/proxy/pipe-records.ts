/**
 * Building the bus records of one direction: frame and message records, spelled out as literals
 * (they are made once per frame on the hot path), and the capped payload previews they carry.
 */
import { parseClosePayload, type ClosePayload } from '../protocol/close-codes.js';
import { frameKind } from '../protocol/constants.js';
import type { FrameHeader } from '../protocol/frame-header.js';
import type { Violation } from '../protocol/violations.js';
import type { FrameOrigin, FrameRecord, MessageRecord, ProxyBus, Side } from './events.js';

/** The session's numbers (export/stats.ts), kept as its records are made: no bus listener per frame. */
export interface StatsSink {
  frame(f: FrameRecord): void;
  message(m: MessageRecord): void;
}

export interface RecordSink {
  readonly session: number;
  readonly bus: ProxyBus;
  readonly stats?: StatsSink | undefined;
}

/** What a frame record says about the frame itself. */
export interface FrameFacts {
  readonly id: number;
  readonly time: number;
  readonly header: FrameHeader;
  readonly raw: Uint8Array;
  readonly violations: readonly Violation[];
}

export function emitFrame(
  sink: RecordSink,
  from: Side,
  f: FrameFacts,
  payload: Uint8Array,
  truncated: boolean,
  close: FrameRecord['close'],
  origin: FrameOrigin,
  compressed: boolean,
): void {
  const h = f.header;
  const record: FrameRecord = {
    id: f.id,
    session: sink.session,
    time: f.time,
    from,
    fin: h.fin,
    rsv1: h.rsv1,
    rsv2: h.rsv2,
    rsv3: h.rsv3,
    opcode: h.opcode,
    kind: frameKind(h.opcode),
    masked: h.maskKey !== null,
    maskKey: h.maskKey,
    length: h.payloadLength,
    header: f.raw,
    payload,
    truncated,
    compressed,
    close,
    violations: f.violations,
    origin,
  };
  sink.stats?.frame(record);
  sink.bus.emit('frame', record);
}

export type MessageFacts = Omit<MessageRecord, 'session' | 'from'>;

export function emitMessage(sink: RecordSink, from: Side, f: MessageFacts): void {
  // Spelled out rather than spread: a spread here once cost 15% of the relay's CPU.
  const record: MessageRecord = {
    id: f.id,
    session: sink.session,
    time: f.time,
    from,
    kind: f.kind,
    length: f.length,
    payload: f.payload,
    truncated: f.truncated,
    frames: f.frames,
    compressed: f.compressed,
    fate: f.fate,
    by: f.by,
  };
  sink.stats?.message(record);
  sink.bus.emit('message', record);
}

/** The close part of a frame record, from the close body (or its parse, when already done). */
export function closeOf(body: Uint8Array, parsed: ClosePayload = parseClosePayload(body)): FrameRecord['close'] {
  return { code: parsed.code, reason: parsed.reason };
}

/** The first `limit` bytes of the parts, joined (the parts themselves may be far larger). */
export function firstBytes(parts: readonly Uint8Array[], limit: number): Buffer {
  const head: Uint8Array[] = [];
  let kept = 0;
  for (const p of parts) {
    if (kept >= limit) break;
    const part = p.length > limit - kept ? p.subarray(0, limit - kept) : p;
    head.push(part);
    kept += part.length;
  }
  return concat(head);
}

/** Joins parts; a single part is returned as a Buffer view, not copied. */
export function concat(parts: readonly Uint8Array[]): Buffer {
  if (parts.length === 1) {
    const p = parts[0]!;
    return Buffer.isBuffer(p) ? p : Buffer.from(p.buffer, p.byteOffset, p.length);
  }
  return Buffer.concat(parts);
}
