/**
 * A synchronous raw-inflate context (RFC 1951, as RFC 7692 frames it) that keeps its state across
 * calls and writes into one reused output buffer.
 *
 * Node's public zlib API inflates synchronously only whole buffers (inflateRawSync), with no
 * context carried from one message to the next. Its stream classes run on the thread pool: for a
 * 150-byte message the hop and its callbacks cost about 40 µs, against 0.3 µs here. This uses the
 * same engine the stream wraps, the native handle's writeSync, as zlib's own *Sync functions do
 * (minizlib uses it too, through _processChunk, which joins a whole call's output into one new
 * buffer: 1.3-2.9 µs a message, and a bomb's entire expansion of one call in memory at once).
 * See docs/performance.md for the figures. Where a Node version lacks these internals, minizlib is
 * the fallback, fed small slices so that one call's output stays bounded.
 */
import { createRequire } from 'node:module';
import zlib from 'node:zlib';
import type { InflateRaw as MiniInflateRaw } from 'minizlib';

/** Receives each piece of output; the piece is valid only during the call. */
/** Output out[0, n): valid only during the call (the buffer is reused). */
export type OutputSink = (out: Buffer, n: number) => void;

export interface RawInflate {
  /**
   * Inflates input[offset, end) with a sync flush, handing output to `sink` piece by piece, until
   * the input is used up and flushed or at least `budget` bytes came out. Returns the new offset;
   * `pending` is then true when zlib has more to give (call again, with what input is left).
   */
  inflate(input: Uint8Array, offset: number, budget: number, sink: OutputSink, end?: number): number;
  /** More output waits inside zlib (the last call stopped at its budget). */
  readonly pending: boolean;
  /** The error zlib reported, if any; the context is unusable after it. */
  readonly error: Error | null;
  /** Back to a fresh context (RFC 7692 §7.1.1, no context takeover). */
  reset(): void;
  close(): void;
}

/** Bytes of output per native call; this much is the only inflated memory held per direction. */
const OUT_CHUNK = 16 * 1024;

// zlib refuses windowBits 8 for raw streams; a 9-bit window still decodes 8-bit input.
export const zlibWindow = (bits: number): number => Math.max(bits, 9);

interface NativeHandle {
  writeSync(flush: number, input: Uint8Array, inOff: number, inLen: number, out: Uint8Array, outOff: number, outLen: number): void;
  reset(): void;
  onerror: (message: string, errno: number, code?: string) => void;
}

interface StreamInternals {
  readonly _handle?: NativeHandle;
  readonly _writeState?: Uint32Array;
}

class NativeInflate implements RawInflate {
  readonly #stream: zlib.InflateRaw;
  readonly #handle: NativeHandle;
  /** [avail_out, avail_in] after each writeSync. */
  readonly #state: Uint32Array;
  readonly #out = Buffer.allocUnsafe(OUT_CHUNK);
  pending = false;
  error: Error | null = null;

  constructor(stream: zlib.InflateRaw, handle: NativeHandle, state: Uint32Array) {
    this.#stream = stream;
    this.#handle = handle;
    this.#state = state;
    // Called synchronously from within writeSync when zlib fails.
    handle.onerror = (message, _errno, code) => {
      this.error = Object.assign(new Error(message), { code });
    };
  }

  inflate(input: Uint8Array, offset: number, budget: number, sink: OutputSink, end = input.length): number {
    const out = this.#out;
    let produced = 0;
    for (;;) {
      const inLen = end - offset;
      this.#handle.writeSync(zlib.constants.Z_SYNC_FLUSH, input, offset, inLen, out, 0, OUT_CHUNK);
      if (this.error !== null) {
        this.pending = false;
        return end;
      }
      const availOut = this.#state[0]!;
      offset = end - this.#state[1]!;
      const n = OUT_CHUNK - availOut;
      if (n > 0) sink(out, n);
      // Room left in the output: everything given so far has been inflated and flushed...
      if (availOut !== 0) {
        this.pending = false;
        if (offset === end) return offset;
        // ...unless input is left over: the stream ended with a final block (BFINAL, RFC 7692
        // §7.2.3.4). What follows it (the §7.2.2 tail) is not inflated; the next message begins
        // a stream of its own.
        this.#handle.reset();
        return end;
      }
      produced += n;
      if (produced >= budget) {
        this.pending = true;
        return offset;
      }
    }
  }

  reset(): void {
    this.#handle.reset();
    this.pending = false;
  }

  close(): void {
    this.#stream.close();
  }
}

/**
 * minizlib hands back a whole call's output at once: slices this small bound it (~1 MiB at most).
 * (It does not say when a final block ended its stream, so unlike the native path it cannot begin
 * a new one: after such a message it inflates nothing more. Node 20 and later use the native path.)
 */
const MINI_SLICE = 1024;

class MiniInflate implements RawInflate {
  readonly #windowBits: number;
  #stream: MiniInflateRaw;
  #sink: OutputSink | null = null;
  pending = false;
  error: Error | null = null;

  constructor(windowBits: number) {
    this.#windowBits = windowBits;
    this.#stream = this.#open();
  }

  #open(): MiniInflateRaw {
    // (minizlib hands its options to Node's zlib, which reads windowBits; its own type omits it.)
    const options = { windowBits: this.#windowBits, flush: zlib.constants.Z_SYNC_FLUSH };
    // Loaded only when the fallback is used: the proxy's heap stays smaller without it (round 8).
    const { InflateRaw } = createRequire(import.meta.url)('minizlib') as typeof import('minizlib');
    const stream = new InflateRaw(options);
    stream.on('data', (piece: Buffer) => this.#sink?.(piece, piece.length));
    stream.on('error', (error: unknown) => {
      this.error = error instanceof Error ? error : new Error(String(error));
    });
    return stream;
  }

  inflate(input: Uint8Array, offset: number, budget: number, sink: OutputSink, end = input.length): number {
    let produced = 0;
    this.#sink = (piece, n) => {
      produced += n;
      sink(piece, n);
    };
    try {
      while (offset < end && this.error === null && produced < budget) {
        const stop = Math.min(end, offset + MINI_SLICE);
        this.#stream.write(Buffer.from(input.buffer, input.byteOffset + offset, stop - offset));
        offset = stop;
      }
    } finally {
      this.#sink = null;
    }
    return this.error !== null ? end : offset;
  }

  reset(): void {
    this.#stream.close();
    this.#stream = this.#open();
  }

  close(): void {
    this.#stream.close();
  }
}

/** `forceFallback`: use minizlib even where the native handle is usable (tests). */
export function openRawInflate(windowBits: number, forceFallback = false): RawInflate {
  const bits = zlibWindow(windowBits);
  if (!forceFallback) {
    const stream = zlib.createInflateRaw({ windowBits: bits });
    const internals = stream as unknown as StreamInternals;
    const handle = internals._handle;
    const state = internals._writeState;
    if (handle !== undefined && typeof handle.writeSync === 'function' && typeof handle.reset === 'function' && state instanceof Uint32Array) {
      return new NativeInflate(stream, handle, state);
    }
    stream.close();
  }
  return new MiniInflate(bits);
}
