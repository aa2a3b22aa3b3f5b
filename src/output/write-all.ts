/**
 * Writing bytes whole to a file descriptor from a thread that may block: fd 1 is non-blocking once
 * the main thread touched process.stdout, so a full pipe answers EAGAIN, and the thread waits for
 * its reader instead of failing.
 */
import { writeSync } from 'node:fs';

const nap = new Int32Array(new SharedArrayBuffer(4));

export function writeAll(fd: number, bytes: Uint8Array): void {
  let at = 0;
  while (at < bytes.length) {
    try {
      at += writeSync(fd, bytes, at, bytes.length - at);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
      Atomics.wait(nap, 0, 0, 5);
    }
  }
}
