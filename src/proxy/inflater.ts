/**
 * permessage-deflate's parts for one direction (RFC 7692 §7.2): what an inflated frame gives its
 * observers, the bounds the inflater works within (later-inflater.ts), and the proxy's own
 * deflater for a direction whose messages it rewrote.
 */
import zlib from 'node:zlib';
import { DEFLATE_TAIL } from '../protocol/constants.js';
import { zlibWindow } from './raw-inflate.js';

export interface InflatedPart {
  /** Output for this frame, up to what the message cap still allowed. */
  readonly data: Buffer;
  /** Total output bytes for this frame, kept or not. */
  readonly length: number;
  readonly error: Error | null;
  /** The message's last frame, text, and its inflated bytes are not valid UTF-8 (§8.1). */
  readonly badUtf8: boolean;
}

/** A part now, or later when the work was sliced over several turns. */
export type Inflated = InflatedPart | Promise<InflatedPart>;

export interface InflaterOptions {
  readonly windowBits: number;
  /** RFC 7692 §7.1.1: the sender resets its context after each message. */
  readonly noContextTakeover: boolean;
}

/** Inflated bytes per direction per turn of the event loop (about a millisecond of work). */
export const TURN_BUDGET = 1024 * 1024;
/** Compressed bytes waiting for later turns before the sender is paused. */
export const BACKLOG_LIMIT = 1024 * 1024;

export interface InflaterHooks {
  /** The backlog of work for later turns went over (true) or back under (false) its bound. */
  backlog?(over: boolean): void;
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
