/**
 * Pull-style reading from a socket for the layers that must know where one HTTP message ends and
 * the next begins: a chunk at a time, with the bytes a layer did not use put back for the next.
 * What arrives before a layer asks is queued (bounded), never lost: a layer that takes the socket
 * over (a Session) gets the queued bytes from `detach`.
 */
import type { Socket } from 'node:net';

/** Bytes read ahead of the layer that reads them, at most. */
const MAX_QUEUED = 256 * 1024;

export class SocketReader {
  readonly socket: Socket;
  readonly #queue: Buffer[] = [];
  #ended = false;
  #wake: (() => void) | null = null;
  #queued = 0;
  readonly #onData = (chunk: Buffer): void => {
    this.#queue.push(chunk);
    this.#queued += chunk.length;
    // Backpressure: past a bound the peer waits (TCP) until a layer reads; below it the socket
    // keeps flowing, since pausing and resuming on every chunk costs more than the copy it saves.
    if (this.#queued >= MAX_QUEUED) this.socket.pause();
    this.#notify();
  };
  readonly #onEnd = (): void => {
    this.#ended = true;
    this.#notify();
  };

  constructor(socket: Socket) {
    this.socket = socket;
    socket.pause();
    socket.on('data', this.#onData);
    socket.on('end', this.#onEnd);
    socket.on('close', this.#onEnd);
  }

  /** The peer finished sending (or the socket is gone) and everything it sent has been read. */
  get exhausted(): boolean {
    return this.#ended && this.#queue.length === 0;
  }

  /** Whether bytes are waiting to be read. */
  get pending(): boolean {
    return this.#queue.length > 0;
  }

  /** The next chunk, or null at the end of the stream. */
  async read(): Promise<Buffer | null> {
    while (this.#queue.length === 0) {
      if (this.#ended || this.socket.destroyed) return null;
      const woken = new Promise<void>((resolve) => (this.#wake = resolve));
      this.socket.resume();
      await woken;
    }
    const chunk = this.#queue.shift()!;
    this.#queued -= chunk.length;
    return chunk;
  }

  /** Puts bytes back in front of what is still to be read. */
  unread(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.#queue.unshift(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length));
    this.#queued += bytes.length;
  }

  /** Wakes a pending read (it returns what is queued, or null once the stream is over). */
  interrupt(): void {
    this.#ended = true;
    this.#notify();
  }

  /** Stops reading; the socket stays paused and the unread bytes are returned for the next owner. */
  detach(): Buffer {
    this.socket.off('data', this.#onData);
    this.socket.off('end', this.#onEnd);
    this.socket.off('close', this.#onEnd);
    this.socket.pause();
    const rest = this.#queue.length === 1 ? this.#queue[0]! : Buffer.concat(this.#queue);
    this.#queue.length = 0;
    this.#queued = 0;
    return rest;
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }
}
