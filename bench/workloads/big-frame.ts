/**
 * Workload 5: one huge binary message in ONE frame, client to server. The sink checks every byte
 * without holding them and acks with a text frame carrying when its first MiB arrived; if that is
 * before the client started writing its last MiB, the proxy streamed the frame instead of
 * buffering it whole.
 */
import { performance } from 'node:perf_hooks';
import { wallNow } from '../clock.js';
import { IntegrityError, WholeFrames, WsClient } from '../load.js';
import { fillPattern } from '../pattern.js';
import { OP_BINARY, OP_TEXT, headerSize, writeHeader } from '../ws-frames.js';
import type { Metrics, Workload } from './types.js';

const MIB = 1024 * 1024;
const STREAM_ID = 0xb16f;
const KEY = 0x37a4c1e5;

export const bigFrame: Workload = {
  id: 'w5',
  title: 'one binary frame, client to server',
  metrics: [
    { key: 'ms', label: 'time ms', unit: 'ms', better: 'lower' },
    { key: 'mbPerSec', label: 'MB/s', unit: 'MB/s', better: 'higher' },
    { key: 'peakRssMiB', label: 'peak RSS MiB', unit: 'MiB', better: 'lower' },
    { key: 'rssGrowthMiB', label: 'RSS growth MiB', unit: 'MiB', better: 'lower' },
    { key: 'streamed', label: 'streamed', unit: '', better: 'none' },
  ],
  // A smaller frame first: V8's young generation grows to its working size (~35 MiB even for the
  // plain relay) on the first big transfer; growth after that is buffering, which is what counts.
  async warmup(ctx) {
    await sendFrame(ctx.port, Math.min(16, ctx.scale.bigFrameMiB) * MIB);
  },
  run: (ctx) => sendFrame(ctx.port, ctx.scale.bigFrameMiB * MIB),
};

export async function sendFrame(port: number, size: number): Promise<Metrics> {
  const client = await WsClient.connect(port, `/sink/${STREAM_ID}`);
  const ack = new Promise<string>((resolve, reject) => {
    client.onFail = reject;
    client.handler = new WholeFrames((op, payload) => {
      if (op !== OP_TEXT) throw new IntegrityError(`sink answered with opcode ${op}`);
      resolve(payload.toString('latin1'));
    });
  });
  const t0 = performance.now();
  let lastMiBAt = 0;
  for (let off = 0; off < size; off += MIB) {
    const len = Math.min(MIB, size - off);
    const head = off === 0 ? headerSize(size, true) : 0;
    const chunk = Buffer.allocUnsafe(head + len);
    if (head) writeHeader(chunk, 0, true, OP_BINARY, size, KEY);
    // Offsets stay multiples of 4, so each chunk is masked independently with the same key.
    fillPattern(chunk, head, STREAM_ID, off, len, KEY);
    if (off + len === size) lastMiBAt = wallNow();
    // Backpressure: never more than the socket's buffer ahead of the proxy. The race lets a
    // failure reported by the sink end the loop; the write's own rejection is then moot.
    const written = client.write(chunk);
    written.catch(() => {});
    await Promise.race([written, ack]);
  }
  const reply = await ack;
  const ms = performance.now() - t0;
  await client.close();
  const m = /^ok (\d+) ([\d.]+)$/.exec(reply);
  if (!m) throw new IntegrityError(`sink: ${reply}`);
  if (Number(m[1]) !== size) throw new IntegrityError(`sink got ${m[1]} of ${size} bytes`);
  const firstMiBAt = Number(m[2]);
  return { ms, mbPerSec: size / 1e6 / (ms / 1000), streamed: firstMiBAt > 0 && firstMiBAt < lastMiBAt, streamLeadMs: lastMiBAt - firstMiBAt };
}
