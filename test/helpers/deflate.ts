/** permessage-deflate streams made in tests, as a sender makes them (RFC 7692 §7.2.1). */
import zlib from 'node:zlib';
import { DeflateRaw } from 'minizlib';

/** Compresses messages as one sender would (context takeover unless `reset`), tails removed (§7.2.1). */
export function compressAll(messages: readonly Buffer[], reset = false, windowBits = 15): Buffer[] {
  const open = (): DeflateRaw => new DeflateRaw({ windowBits, flush: zlib.constants.Z_SYNC_FLUSH } as ConstructorParameters<typeof DeflateRaw>[0]);
  let deflater = open();
  const chunks: Buffer[] = [];
  deflater.on('data', (c: Buffer) => chunks.push(c));
  const out: Buffer[] = [];
  for (const m of messages) {
    chunks.length = 0;
    deflater.write(m); // synchronous: the data events have run when it returns
    const all = Buffer.concat(chunks);
    out.push(all.subarray(0, all.length - 4));
    if (reset) {
      deflater.close();
      deflater = open();
      deflater.on('data', (c: Buffer) => chunks.push(c));
    }
  }
  deflater.close();
  return out;
}


/** n bytes that do not compress (a linear congruential sequence): zlib's output is as long as its input. */
export function noise(n: number): Buffer {
  const out = Buffer.alloc(n);
  for (let i = 0, x = 7; i < n; i++) out[i] = (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 24;
  return out;
}
