/**
 * The ordered queue of one DirectionPipe: what waits for a decision and everything behind it in
 * that direction, its bound (over twice --max-message the peer is paused), and the single-flight
 * run that moves its head along as the frames arrive and the decisions come back.
 */
import { masked } from '../protocol/mask.js';
import { violation } from '../protocol/violations.js';
import type { LaterInflater } from './later-inflater.js';
import { takePreview } from './pipe-observe.js';
import { decideControl, decideMessage, notifyStreamed, type DecisionPort } from './held-decisions.js';
import { FRAME_COST, overHeld, size, type Current, type Item, type Message, type MessageItem, type QueuedFrame } from './pipe-state.js';
import { announceWaiting } from './waiting.js';

const QUEUE_PRESSURE_FACTOR = 2;

/** What the queue needs of its pipe besides deciding; made once per pipe. */
export interface QueuePort extends DecisionPort {
  /** The frame being parsed, if any. */
  current(): Current | null;
  /** The data message being parsed, if any. */
  message(): Message | null;
  /** Writes out the pipe's batch. */
  flush(): void;
  /** Nothing held or waiting (injects included). */
  drained(): boolean;
}

export class HoldQueue {
  readonly items: Item[] = [];
  /** Payload bytes of the frames held. */
  bytes = 0;
  #pressure = false;
  #pumping = false;
  /** Messages behind the queue head already announced to the deciders (announceWaiting); made when first needed. */
  #announced: WeakSet<MessageItem> | null = null;
  readonly #port: QueuePort;

  constructor(port: QueuePort) {
    this.#port = port;
  }

  /**
   * A queued frame's payload chunk[start, end): kept unmasked in its queue item, and observed
   * (its preview, or its inflater's input; its UTF-8). True when its held message has grown past
   * --max-message, so that the queue should move on (it streams).
   */
  payload(cur: Current, msg: Message | null, inflater: LaterInflater | null, chunk: Uint8Array, start: number, end: number, offset: number): boolean {
    const data = chunk.subarray(start, end);
    const key = cur.header.maskKey;
    const plain = key !== null ? masked(data, key, offset) : data;
    // A compressed frame's preview is its inflated output (direction-pipe.ts #onFrameEnd).
    if (inflater === null) takePreview(cur, data, plain, key, offset);
    if (inflater !== null) inflater.write(plain);
    else msg?.utf8?.push(plain);
    cur.queued!.chunks.push(plain);
    this.bytes += data.length;
    if (msg?.held != null) msg.held.size += data.length;
    this.checkPressure();
    return msg?.held != null && overHeld(msg.held, this.#port.host.limits.maxMessage);
  }

  checkPressure(): void {
    const port = this.#port;
    const over = this.bytes > port.host.limits.maxMessage * QUEUE_PRESSURE_FACTOR || (port.compression?.inflater.backlogged ?? false);
    if (over !== this.#pressure) {
      this.#pressure = over;
      port.host.pressure(over);
    }
  }

  /** Moves the queue head along as far as it can; single-flight. */
  async pump(): Promise<void> {
    const port = this.#port;
    const queue = this.items;
    if (this.#pumping) {
      // The head waits for a decision; what completed behind it may be listed meanwhile.
      if (queue.length > 1) this.#announceWaiting();
      return;
    }
    this.#pumping = true;
    try {
      while (queue.length > 0 && !port.stopped()) {
        const item = queue[0]!;
        if (item.type === 'inject') {
          // Control frames may sit between fragments, never inside a frame being written through.
          const cur = port.current();
          if (cur !== null && cur.queued === null) break;
          port.writeMessages(item.messages, 'injected', null);
        } else if (item.type === 'frame') {
          if (!item.frame.complete) {
            if (item.decide) break;
            this.#promote(item.frame);
          } else if (item.decide) await decideControl(port, item.frame);
          else port.writeOriginal(item.frame);
        } else if (!item.complete) {
          if (!overHeld(item, port.host.limits.maxMessage)) break;
          this.#streamHeld(item);
        } else {
          const decided = decideMessage(port, item);
          if (queue.length > 1) this.#announceWaiting();
          await decided;
        }
        this.#dequeue(item);
        port.flush();
      }
    } catch (error) {
      port.host.chainError('relay', error);
    } finally {
      this.#pumping = false;
      port.flush();
      this.checkPressure();
      if (port.drained()) port.host.idle();
    }
  }

  /**
   * The frame being parsed will never end. Queued, it is forgotten; written through in part,
   * nothing queued behind it could be framed after it, so the queue is emptied.
   */
  abandon(queued: QueuedFrame | null): void {
    if (queued !== null) {
      for (const item of this.items) {
        if (item.type !== 'message') continue;
        const i = item.frames.indexOf(queued);
        if (i !== -1) item.frames.splice(i, 1);
      }
      const i = this.items.findIndex((item) => item.type === 'frame' && item.frame === queued);
      if (i !== -1) this.items.splice(i, 1);
      this.bytes -= size(queued);
      return;
    }
    for (const item of this.items) if (item.type === 'inject') this.#port.log(`${item.messages.length} injected frame(s) not sent: the peer's stream ended inside a frame`);
    this.items.length = 0;
    this.bytes = 0;
  }

  #announceWaiting(): void {
    const { host, from } = this.#port;
    announceWaiting(this.items, (this.#announced ??= new WeakSet()), host.interceptors(), host.session, from, host.limits.maxMessage, host.signal);
  }

  #dequeue(item: Item): void {
    if (this.items[0] === item) this.items.shift();
    if (item.type === 'frame') this.bytes -= size(item.frame);
    else if (item.type === 'message') for (const f of item.frames) this.bytes -= size(f);
  }

  /** The head frame needs no decision: write what has arrived and let the rest go through. */
  #promote(frame: QueuedFrame): void {
    const cur = this.#port.current()!;
    cur.rekey = this.#port.writeOriginal(frame);
    if (cur.queued === frame) cur.queued = null;
  }

  /** A held message outgrew --max-message: stream it on undecided, telling the deciders. */
  #streamHeld(item: MessageItem): void {
    const port = this.#port;
    const host = port.host;
    if ((port.compression?.recompress ?? false) && item.compressed) {
      host.violation(violation('message-too-big', `compressed message over ${host.limits.maxMessage} bytes after a rewrite`), null);
      return;
    }
    const frames = item.frames;
    const max = host.limits.maxMessage;
    // Over by its bytes, or by its frames' count (a peer sending empty fragments).
    const over = item.size > max ? `over --max-message (${max} B)` : `of ${frames.length} frames, over --max-message (${max} B) at ${FRAME_COST} B a frame,`;
    const open = frames[frames.length - 1];
    for (const f of frames) {
      this.bytes -= size(f);
      if (f === open && !f.complete) this.#promote(f);
      else port.writeOriginal(f);
    }
    frames.length = 0;
    const msg = port.message();
    if (msg !== null && msg.held === item) {
      // The rest of the message goes through as it arrives.
      msg.held = null;
      msg.fate = 'streamed';
    }
    notifyStreamed(host, port.from, item);
    port.releaseHeld();
    host.records.now(() => host.bus.emit('log', { session: host.session, time: host.now(), source: 'proxy', level: 'info', text: `${port.from} message ${over} streamed without a decision` }));
  }
}
