/**
 * Pull-style reading from a socket for the layers that must know where one HTTP message ends and
 * the next begins: a chunk at a time, with the bytes a layer did not use put back for the next.
 * What arrives before a layer asks is queued (bounded), never lost: a layer that takes the socket
 * over (a Session) gets the queued bytes from `detach`, and the socket itself as it was.
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
  #flowing = false;
  readonly #onData = (chunk: Buffer): void => {
    this.#queue.push(chunk);
    this.#queued += chunk.length;
    // Reading heads, the socket pauses after each chunk: a peer's end then waits in the socket
    // until the next owner (a Session) resumes it, and is not lost here. Relaying a body, it keeps
    // flowing up to a bound (TCP backpressure past it): a pause and resume per chunk costs more.
    if (!this.#flowing || this.#queued >= MAX_QUEUED) this.socket.pause();
    this.#notify();
  };
  #peerEnded = false;
  readonly #onEnd = (): void => {
    this.#ended = true;
    this.#notify();
  };
  readonly #onPeerEnd = (): void => {
    this.#peerEnded = true;
    this.#onEnd();
  };

  constructor(socket: Socket) {
    this.socket = socket;
    socket.pause();
    socket.on('data', this.#onData);
    socket.on('end', this.#onPeerEnd);
    socket.on('close', this.#onEnd);
  }

  /** The peer's end ('end') was read here: whoever takes the socket over must be told. */
  get peerEnded(): boolean {
    return this.#peerEnded;
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

  /** Relaying a body: let the socket flow between reads (bounded); off again before reading a head. */
  flow(on: boolean): void {
    this.#flowing = on;
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
    this.socket.off('end', this.#onPeerEnd);
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
