/**
 * permessage-deflate for one direction (RFC 7692 §7.2). The relay forwards compressed bytes as
 * they came; this inflates a copy for the log and for deciders. Output beyond the cap of the
 * current message is counted and discarded as it streams, so a zlib bomb costs CPU, not memory;
 * the zlib context still sees every byte, so later messages inflate correctly.
 */
import zlib from 'node:zlib';
import { DEFLATE_TAIL } from '../protocol/constants.js';

export interface InflatedPart {
  /** Output for this frame, up to what the message cap still allowed. */
  readonly data: Buffer;
  /** Total output bytes for this frame, kept or not. */
  readonly length: number;
  readonly error: Error | null;
}

export interface InflaterOptions {
  readonly windowBits: number;
  /** RFC 7692 §7.1.1: the sender resets its context after each message. */
  readonly noContextTakeover: boolean;
}

// zlib refuses windowBits 8 for raw streams; a 9-bit window still decodes 8-bit input.
const zlibWindow = (bits: number): number => Math.max(bits, 9);

/** The message being inflated: how much of it observers keep, and who sees every chunk. */
interface MessageSink {
  readonly cap: number;
  kept: number;
  readonly onChunk: ((chunk: Buffer) => void) | null;
}

/** One frame's share of the output. */
interface FrameSink {
  readonly message: MessageSink;
  readonly chunks: Buffer[];
  produced: number;
  settle: (() => void) | null;
}

/**
 * One zlib stream. Output is not tagged with the write it came from, so frames are queued in
 * write order and each output chunk belongs to the oldest frame whose flush has not completed.
 */
interface Slot {
  readonly stream: zlib.InflateRaw;
  readonly frames: FrameSink[];
  error: Error | null;
}

export class Inflater {
  readonly #options: InflaterOptions;
  #slot: Slot;
  #message: MessageSink = { cap: 0, kept: 0, onChunk: null };
  #frame: FrameSink | null = null;
  #closed = false;

  constructor(options: InflaterOptions) {
    this.#options = options;
    this.#slot = this.#open();
  }

  #open(): Slot {
    const stream = zlib.createInflateRaw({ windowBits: zlibWindow(this.#options.windowBits) });
    const slot: Slot = { stream, frames: [], error: null };
    stream.on('data', (chunk: Buffer) => {
      const frame = slot.frames[0];
      if (frame === undefined) return;
      frame.produced += chunk.length;
      const message = frame.message;
      message.onChunk?.(chunk);
      const room = message.cap - message.kept;
      if (room > 0) {
        const part = chunk.length <= room ? chunk : chunk.subarray(0, room);
        frame.chunks.push(part);
        message.kept += part.length;
      }
    });
    stream.on('error', (error: Error) => {
      slot.error = error;
      // After an error zlib may never call the pending flush callbacks.
      for (const frame of [...slot.frames]) frame.settle?.();
    });
    return slot;
  }

  /**
   * Starts a message. Up to `cap` inflated bytes are kept; `onChunk` (if any) sees every inflated
   * chunk as it is produced (UTF-8 validation runs over all of it without keeping it).
   */
  begin(cap: number, onChunk: ((chunk: Buffer) => void) | null): void {
    this.#message = { cap, kept: 0, onChunk };
  }

  #currentFrame(): FrameSink {
    if (this.#frame === null) {
      this.#frame = { message: this.#message, chunks: [], produced: 0, settle: null };
      this.#slot.frames.push(this.#frame);
    }
    return this.#frame;
  }

  write(data: Uint8Array): void {
    if (this.#closed) return;
    this.#currentFrame();
    if (this.#slot.error === null) this.#slot.stream.write(data);
  }

  /** Ends a frame: resolves with what it inflated to. At the last frame the RFC 7692 tail is added. */
  endFrame(last: boolean): Promise<InflatedPart> {
    const slot = this.#slot;
    const frame = this.#currentFrame();
    this.#frame = null;
    return new Promise((resolve) => {
      frame.settle = () => {
        frame.settle = null;
        const i = slot.frames.indexOf(frame);
        if (i !== -1) slot.frames.splice(i, 1);
        const data = frame.chunks.length === 1 ? frame.chunks[0]! : Buffer.concat(frame.chunks);
        resolve({ data, length: frame.produced, error: slot.error });
        // The context is lost after an error; start over so later messages without back-references decode.
        if (slot.error !== null && slot === this.#slot) this.#swap();
        // A retired or closed stream is freed once nothing is waiting on it.
        if (slot !== this.#slot || this.#closed) this.#release(slot);
      };
      if (slot.error !== null || this.#closed) return frame.settle();
      // §7.2.2: "Append 4 octets of 0x00 0x00 0xff 0xff to the tail end of the payload of the message".
      if (last) slot.stream.write(DEFLATE_TAIL);
      slot.stream.flush(zlib.constants.Z_SYNC_FLUSH, () => frame.settle?.());
      // §7.1.1: with no_context_takeover the sender starts each message afresh; so does its reader.
      if (last && this.#options.noContextTakeover) this.#swap();
    });
  }

  /**
   * Not old.end(): that asks zlib to finish a stream that has no final block, which fails with
   * "unexpected end of file" and used to mark the last message as not inflating. The old stream
   * is closed by #release once its last flush is out.
   */
  #swap(): void {
    const old = this.#slot;
    this.#slot = this.#open();
    this.#release(old);
  }

  #release(slot: Slot): void {
    if (slot.frames.length === 0) slot.stream.close();
  }

  /**
   * Frees the zlib memory, but only after the frames already ended have inflated: closing a
   * stream mid-inflation cuts its output short, so a large message just before the session's
   * close used to be recorded truncated, with a wrong length. A frame not ended is abandoned.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const slot = this.#slot;
    const open = this.#frame;
    this.#frame = null;
    if (open !== null) slot.frames.splice(slot.frames.indexOf(open), 1);
    this.#release(slot);
  }
}

/**
 * The proxy's own compressor for a direction whose messages it rewrote (RFC 7692 §7.2.1): each
 * message is deflated, flushed with Z_SYNC_FLUSH and the trailing 0x00 0x00 0xff 0xff removed.
 */
export class Deflater {
  readonly #options: InflaterOptions;
  #stream: zlib.DeflateRaw;
  #chunks: Buffer[] = [];

  constructor(options: InflaterOptions) {
    this.#options = options;
    this.#stream = this.#open();
  }

  #open(): zlib.DeflateRaw {
    const stream = zlib.createDeflateRaw({ windowBits: zlibWindow(this.#options.windowBits), memLevel: 8 });
    stream.on('data', (chunk: Buffer) => this.#chunks.push(chunk));
    return stream;
  }

  compress(data: Uint8Array): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const stream = this.#stream;
      stream.once('error', reject);
      stream.write(data);
      stream.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        stream.off('error', reject);
        let out = Buffer.concat(this.#chunks);
        this.#chunks = [];
        if (out.length >= 4 && out.subarray(out.length - 4).equals(DEFLATE_TAIL)) out = out.subarray(0, out.length - 4);
        if (this.#options.noContextTakeover) {
          stream.close();
          this.#stream = this.#open();
        }
        // §7.2.3.6: an empty message compresses to a single 0x00 block.
        resolve(out.length === 0 ? Buffer.from([0x00]) : out);
      });
    });
  }

  close(): void {
    this.#stream.close();
  }
}
