/**
 * Looking at a connection's first bytes without taking them: read until a pure decoder can tell
 * what they are (or the peer ends, or the time runs out), then put every byte back for the layer
 * that handles the connection next.
 */
import type { SocketReader } from './socket-reader.js';

export type Peeked<T> = { readonly decided: true; readonly value: T } | { readonly decided: false; readonly seen: number; readonly timedOut: boolean };

/** `decide` answers undefined while the bytes so far are not enough. */
export async function peekHead<T>(reader: SocketReader, timeoutMs: number, decide: (bytes: Buffer) => T | undefined): Promise<Peeked<T>> {
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    reader.interrupt();
  }, timeoutMs);
  timer.unref();
  const chunks: Buffer[] = [];
  try {
    for (;;) {
      const chunk = await reader.read();
      if (chunk === null) {
        const seen = Buffer.concat(chunks);
        reader.unread(seen);
        return { decided: false, seen: seen.length, timedOut };
      }
      chunks.push(chunk);
      const bytes = Buffer.concat(chunks);
      const value = decide(bytes);
      if (value === undefined) continue;
      reader.unread(bytes);
      return { decided: true, value };
    }
  } finally {
    clearTimeout(timer);
  }
}
