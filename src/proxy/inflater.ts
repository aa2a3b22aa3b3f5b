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

/** One zlib stream and what it has produced for the frame in progress. */
interface Slot {
  readonly stream: zlib.InflateRaw;
  chunks: Buffer[];
  kept: number;
  produced: number;
  cap: number;
  error: Error | null;
  onChunk: ((chunk: Buffer) => void) | null;
  /** Frame ends waiting for a flush; a zlib error may mean their callbacks never come. */
  readonly waiting: Set<() => void>;
}

export class Inflater {
  readonly #options: InflaterOptions;
  #slot: Slot;

  constructor(options: InflaterOptions) {
    this.#options = options;
    this.#slot = this.#open();
  }

  #open(): Slot {
    const stream = zlib.createInflateRaw({ windowBits: zlibWindow(this.#options.windowBits) });
    const slot: Slot = { stream, chunks: [], kept: 0, produced: 0, cap: 0, error: null, onChunk: null, waiting: new Set() };
    stream.on('data', (chunk: Buffer) => {
      slot.produced += chunk.length;
      slot.onChunk?.(chunk);
      const room = slot.cap - slot.kept;
      if (room > 0) {
        const part = chunk.length <= room ? chunk : chunk.subarray(0, room);
        slot.chunks.push(part);
        slot.kept += part.length;
      }
    });
    stream.on('error', (error: Error) => {
      slot.error = error;
      for (const finish of [...slot.waiting]) finish();
    });
    return slot;
  }

  /**
   * Starts a message. Up to `cap` inflated bytes are kept; `onChunk` (if any) sees every inflated
   * chunk as it is produced (UTF-8 validation runs over all of it without keeping it).
   */
  begin(cap: number, onChunk: ((chunk: Buffer) => void) | null): void {
    this.#slot.cap = cap;
    this.#slot.kept = 0;
    this.#slot.onChunk = onChunk;
  }

  write(data: Uint8Array): void {
    if (this.#slot.error === null) this.#slot.stream.write(data);
  }

  /** Ends a frame: resolves with what it inflated to. At the last frame the RFC 7692 tail is added. */
  endFrame(last: boolean): Promise<InflatedPart> {
    const slot = this.#slot;
    return new Promise((resolve) => {
      let settled = false;
      const done = (): void => {
        if (settled) return;
        settled = true;
        slot.waiting.delete(done);
        const data = slot.chunks.length === 1 ? slot.chunks[0]! : Buffer.concat(slot.chunks);
        resolve({ data, length: slot.produced, error: slot.error });
        slot.chunks = [];
        slot.produced = 0;
        // The context is lost after an error; start over so later messages without back-references decode.
        if (slot.error !== null && slot === this.#slot) this.#swap();
      };
      if (slot.error !== null) return done();
      slot.waiting.add(done);
      // §7.2.2: "Append 4 octets of 0x00 0x00 0xff 0xff to the tail end of the payload of the message".
      if (last) slot.stream.write(DEFLATE_TAIL);
      slot.stream.flush(zlib.constants.Z_SYNC_FLUSH, done);
      // §7.1.1: with no_context_takeover the sender starts each message afresh; so does its reader.
      if (last && this.#options.noContextTakeover) this.#swap();
    });
  }

  #swap(): void {
    const old = this.#slot.stream;
    this.#slot = this.#open();
    // Let the old stream finish what it has queued, then free its zlib memory.
    old.end();
  }

  close(): void {
    this.#slot.stream.close();
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
