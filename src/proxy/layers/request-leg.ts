/**
 * One plain request's stream between the proxy's client leg and the internal HTTP server that
 * hands the request to http-proxy (upstream-leg.ts). Its readable side carries exactly the bytes
 * the head reader framed for this request (the head as sent to the target, then the body), never
 * a byte of the next one, so Node's parser cannot disagree with the proxy's about where the
 * request ends. Its written side is the response: passed to the client socket with backpressure,
 * counted, and its head parsed, so the client leg decides keep-alive from what the client got.
 */
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { parseHead, splitHead, type HttpHead } from '../../protocol/handshake.js';
import { writeAndDrain } from './http-io.js';

export class RequestLeg extends Duplex {
  readonly client: Socket;
  /** The final response head as the client received it; null until it is complete. */
  head: HttpHead | null = null;
  #pending: Buffer = Buffer.alloc(0);
  /** Bytes of interim answers the proxy wrote itself, not part of the final head. */
  #skip = 0;
  #cut = false;
  #wanted: (() => void) | null = null;
  readonly #counted: (bytes: number) => void;

  constructor(client: Socket, counted: (bytes: number) => void) {
    super({ allowHalfOpen: true });
    this.client = client;
    this.#counted = counted;
  }

  /** Request bytes for the server; the promise (null: none needed) resolves when it wants more. */
  readonly feed = (bytes: Buffer): Promise<void> | null => {
    if (this.destroyed) return null;
    if (this.push(bytes)) return null;
    return new Promise((resolve) => (this.#wanted = resolve));
  };

  /** An interim (1xx) answer, written ahead of the final one through the same ordered queue. */
  interim(bytes: Buffer): void {
    this.#skip += bytes.length;
    this.write(bytes);
  }

  /** From now on nothing written reaches the client (the exchange switched protocols or failed). */
  cut(): void {
    this.#cut = true;
  }

  override _read(): void {
    this.#wake();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.#cut || this.client.destroyed) {
      callback();
      return;
    }
    if (this.head === null) this.#watch(chunk);
    this.#counted(chunk.length);
    const wait = writeAndDrain(this.client, chunk);
    if (wait === null) callback();
    else void wait.then(() => callback());
  }

  /** Node's server ends its side after an answer that does not keep alive; the client leg decides. */
  override _final(callback: (error?: Error | null) => void): void {
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#wake();
    callback(error);
  }

  #wake(): void {
    const wake = this.#wanted;
    this.#wanted = null;
    wake?.();
  }

  #watch(chunk: Buffer): void {
    let bytes = chunk;
    if (this.#skip > 0) {
      const skipped = Math.min(this.#skip, bytes.length);
      this.#skip -= skipped;
      bytes = bytes.subarray(skipped);
    }
    if (bytes.length === 0) return;
    this.#pending = this.#pending.length === 0 ? bytes : Buffer.concat([this.#pending, bytes]);
    const split = splitHead(this.#pending);
    if (split.state === 'incomplete') return;
    const parsed = split.state === 'complete' ? parseHead(split.head) : null;
    this.#pending = Buffer.alloc(0);
    // Node wrote this head; one that does not parse (it always does) is treated as not keeping alive.
    this.head = parsed !== null && parsed.ok ? parsed.head : { raw: new Uint8Array(0), startLine: '', headers: [['connection', 'close']] };
  }
}
