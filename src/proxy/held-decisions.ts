/**
 * Deciding on what a DirectionPipe holds: asking the deciders whether they want a kind of
 * message, running the interceptor chain on a held control frame or a complete held message, and
 * writing the outcome (the original frames, or the messages that replace them) with its record.
 */
import { isControlOpcode } from '../protocol/constants.js';
import { violation } from '../protocol/violations.js';
import { runChain, type HeldMessage, type OutMessage } from '../intercept/verdict.js';
import { otherSide, type FrameOrigin, type MessageFate, type Side } from './events.js';
import type { DirectionCompression } from './direction-compression.js';
import type { PipeHost } from './pipe-host.js';
import { concat, emitMessage, firstBytes } from './pipe-records.js';
import { controlKind, type ControlKind, type DataKind, type MessageItem, type QueuedFrame } from './pipe-state.js';

/** What deciding needs of its pipe; made once per pipe. */
export interface DecisionPort {
  readonly from: Side;
  readonly host: PipeHost;
  /** null when permessage-deflate was not negotiated. */
  readonly compression: DirectionCompression | null;
  /** The pipe was stopped: nothing more is written. */
  stopped(): boolean;
  /** A queued frame as received; returns old key XOR new key (null when unmasked). */
  writeOriginal(frame: QueuedFrame): number;
  /** A close frame has been written to the other peer. */
  closeWritten(): boolean;
  writeMessages(messages: readonly OutMessage[], origin: FrameOrigin | null, compressed: readonly Buffer[] | null): void;
  log(text: string): void;
  /** Emits the records held for the chunk being relayed, so what goes on the bus next comes after them. */
  releaseHeld(): void;
}

export function wants(host: PipeHost, from: Side, kind: DataKind | ControlKind): boolean {
  const interceptors = host.interceptors();
  if (interceptors.length === 0) return false;
  const meta = { session: host.session, from, kind };
  return interceptors.some((i) => i.wants(meta));
}

/** Tells the deciders that wanted it that a held message went on undecided. */
export function notifyStreamed(host: PipeHost, from: Side, item: MessageItem): void {
  const meta = { session: host.session, from, kind: item.kind };
  for (const i of host.interceptors()) if (i.wants(meta)) i.streamed?.(meta, item.size);
}

/** This direction's compressed messages are re-compressed by the proxy (after a rewrite). */
function recompressing(port: DecisionPort): boolean {
  return port.compression?.recompress ?? false;
}

/** A data frame of a held message as received; a control frame among them decided on if wanted. */
async function writeControlOrOriginal(port: DecisionPort, frame: QueuedFrame): Promise<void> {
  const kind = controlKind(frame.header.opcode);
  if (kind !== null && wants(port.host, port.from, kind)) await decideControl(port, frame);
  else port.writeOriginal(frame);
}

export async function decideControl(port: DecisionPort, frame: QueuedFrame): Promise<void> {
  const host = port.host;
  const kind = controlKind(frame.header.opcode)!;
  // RFC 6455 §5.5.1: the other peer was sent a close already (one the proxy injected); a second
  // one would break its closing handshake. This one answers it, and goes no further.
  if (kind === 'close' && port.closeWritten()) return port.log(`${port.from} close frame ${frame.id} not relayed: the ${otherSide(port.from)} was sent a close already (RFC 6455 §5.5.1)`);
  const data = concat(frame.chunks);
  const held: HeldMessage = { id: frame.id, session: host.session, from: port.from, kind, data, frames: 1, compressed: false, time: frame.time, frame: frame.id };
  const result = await runChain(host.interceptors(), held, host.signal, (name, e) => host.chainError(name, e));
  if (result.changedBy === null) port.writeOriginal(frame);
  else {
    port.writeMessages(result.messages, 'modified', null);
    if (result.dropped) port.log(`${kind} frame ${frame.id} dropped by ${result.changedBy}`);
  }
}

export async function decideMessage(port: DecisionPort, item: MessageItem): Promise<void> {
  const host = port.host;
  const from = port.from;
  const dataFrames = item.frames.filter((f) => !isControlOpcode(f.header.opcode));
  let data: Buffer;
  let length: number;
  if (item.compressed) {
    const parts = await Promise.all(item.parts);
    length = parts.reduce((n, p) => n + p.length, 0);
    if (parts.some((p) => p.error !== null) || length > host.limits.maxMessage) {
      // Cannot be decided on (it does not inflate, or inflates past the bound): relay as it came.
      if (recompressing(port)) return host.violation(violation('message-too-big', 'cannot re-compress after a rewrite'), null);
      for (const f of item.frames) port.writeOriginal(f);
      if (item.wanted) notifyStreamed(host, from, item);
      return emitHeldRecord(port, item, parts.map((p) => p.data), length, 'streamed', null);
    }
    data = concat(parts.map((p) => p.data));
  } else {
    length = item.size;
    if (length > host.limits.maxMessage) {
      // Arrived whole within one read, yet too large to decide on: it streams like any other.
      for (const f of item.frames) await writeControlOrOriginal(port, f);
      if (item.wanted) notifyStreamed(host, from, item);
      return emitHeldRecord(port, item, dataFrames.flatMap((f) => f.chunks), length, 'streamed', null);
    }
    data = concat(dataFrames.flatMap((f) => f.chunks));
  }
  const held: HeldMessage = { id: item.id, session: host.session, from, kind: item.kind, data, frames: dataFrames.length, compressed: item.compressed, time: item.time, frame: item.frames[0]?.id };
  const result = item.wanted
    ? await runChain(host.interceptors(), held, host.signal, (name, e) => host.chainError(name, e))
    : { messages: [{ kind: item.kind, data }], changedBy: null, dropped: false };
  if (port.stopped()) return;
  if (result.changedBy === null && !(item.compressed && recompressing(port))) {
    for (const f of item.frames) await writeControlOrOriginal(port, f);
    return emitHeldRecord(port, item, [data], length, 'forwarded', null);
  }
  // Control frames that arrived between the fragments go first: the new message is one frame.
  for (const f of item.frames) if (isControlOpcode(f.header.opcode)) await writeControlOrOriginal(port, f);
  const compression = port.compression;
  if (item.compressed && compression !== null && result.changedBy !== null && compression.contextTakeover && !compression.recompress) {
    // RFC 7692 §7.2.3: later messages reference what the peer compressed before. The receiver
    // never sees the original of this one, so from now on the proxy compresses this direction.
    compression.recompress = true;
    port.log(`${from}→ compression context diverged after a rewrite: re-compressing this direction from now on`);
  }
  const compressed = item.compressed && compression !== null ? await compression.compress(result.messages) : null;
  // An unchanged message re-compressed by the proxy was already logged as received: its new
  // frames get no second record (the switch to re-compression was logged once).
  port.writeMessages(result.messages, result.changedBy === null ? null : 'modified', compressed);
  const fate: MessageFate = result.changedBy === null ? 'forwarded' : result.dropped ? 'dropped' : 'modified';
  emitHeldRecord(port, item, [data], length, fate, result.changedBy);
}

/** The record of a held message, once decided (or streamed), in the session's record order. */
function emitHeldRecord(port: DecisionPort, item: MessageItem, parts: readonly Uint8Array[], length: number, fate: MessageFate, by: string | null): void {
  const host = port.host;
  const payload = Buffer.from(firstBytes(parts, host.limits.maxPreview));
  const frames = item.frames.filter((f) => !isControlOpcode(f.header.opcode)).length;
  port.releaseHeld();
  host.records.now(() => emitMessage(host, port.from, { id: item.id, time: host.now(), kind: item.kind, length, payload, truncated: length > payload.length, frames, compressed: item.compressed, fate, by }));
}
