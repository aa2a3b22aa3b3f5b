/**
 * A Writable onto a file descriptor (fd 1 or 2) whose system calls run on a thread of their own.
 *
 * process.stdout writes a file synchronously (as Node documents for terminals on Linux too), on the
 * relay's thread; at a few hundred thousand frames a second those writes alone took a sixth of
 * it. An fs stream moves them to libuv's pool but fails on a non-blocking
 * pipe that is full (EAGAIN: Node makes fd 1 non-blocking once process.stdout is touched). Here
 * one worker thread writes each chunk whole, waiting and retrying while the reader is behind; the
 * stream's length counts what the thread has not written yet, so a writer above it (LineWriter)
 * sees a slow reader and drops lines, said so, instead of holding memory or the relay.
 */
import { Writable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { threadEntry } from '../thread-entry.js';

export class FdWriter extends Writable {
  readonly #worker: Worker;
  readonly #pending: ((error?: Error | null) => void)[] = [];

  /** `onGone`: the reader went away (EPIPE); other errors are the stream's 'error'. */
  constructor(fd: number, onGone: () => void) {
    super({ decodeStrings: true });
    this.#worker = new Worker(threadEntry(import.meta.url, 'fd-worker'), { eval: true, workerData: { fd }, name: 'wsproxy output' });
    this.#worker.unref();
    this.#worker.on('message', (m: { readonly done?: number; readonly error?: string }) => {
      const callback = this.#pending.shift();
      if (m.error === undefined) return callback?.();
      if (m.error === 'EPIPE') return onGone();
      callback?.(new Error(`write to fd ${fd} failed: ${m.error}`));
    });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#pending.push(callback);
    this.#worker.postMessage(chunk);
  }

  override _final(callback: (error?: Error | null) => void): void {
    void this.#worker.terminate().then(() => callback(), callback);
  }
}
