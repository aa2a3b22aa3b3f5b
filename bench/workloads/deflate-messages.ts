/**
 * Workload 6: small JSON messages with permessage-deflate and context takeover, window 100: what a
 * browser negotiates with most servers. The client's compressed stream is made once, before the
 * clock starts (one deflate context, Z_SYNC_FLUSH per message, tail removed, RFC 7692 §7.2.1);
 * the echo server reflects each compressed payload as it came, which is a valid server-to-client
 * stream too, since the client's inflater has seen the same messages. Neither the load generator
 * nor the echo server does any zlib work while measuring: only a proxy that inflates pays for it.
 */
import zlib from 'node:zlib';
import { DeflateRaw } from 'minizlib';
import { buildStream, streamEcho, type EchoStream } from '../stream-echo.js';
import { OP_TEXT, maskKeyFor, writeHeader, xorInPlace } from '../ws-frames.js';
import type { Workload, WorkloadContext } from './types.js';

const SYMBOLS = ['AAPL', 'MSFT', 'GOOG', 'AMZN', 'NVDA', 'META', 'TSLA', 'NFLX'];
const VENUES = ['XNAS', 'XNYS', 'BATS', 'IEXG'];

/** A varied quote, about 150 bytes of JSON; the values change enough that each compresses to 40-60 B. */
export function quote(i: number): string {
  const r = (n: number): number => (Math.imul(i + 1, 0x9e3779b1) >>> n) & 0xffff;
  const bid = 100 + (r(3) % 90_000) / 100;
  return JSON.stringify({
    seq: i,
    sym: SYMBOLS[i % SYMBOLS.length],
    bid: bid.toFixed(2),
    ask: (bid + (r(7) % 50) / 100).toFixed(2),
    bidSize: r(11) % 5000,
    askSize: r(9) % 5000,
    venue: VENUES[r(5) % VENUES.length],
    ref: (Math.imul(i + 7, 0x85ebca6b) >>> 0).toString(16).padStart(8, '0'),
    ts: 1_764_000_000_000 + i * 37 + (r(2) % 1000),
    id: `q${(r(1) * 65_537 + i).toString(36)}`,
  });
}

const streams = new Map<number, EchoStream>();

export function deflateStream(count: number): EchoStream {
  let s = streams.get(count);
  if (s !== undefined) return s;
  // minizlib's deflater is synchronous: each write's output is there when write returns.
  const deflater = new DeflateRaw({ flush: zlib.constants.Z_SYNC_FLUSH });
  let out: Buffer[] = [];
  deflater.on('data', (c: Buffer) => out.push(c));
  s = buildStream(count, 512, 512, (i, client, server) => {
    out = [];
    deflater.write(Buffer.from(quote(i)));
    const all = Buffer.concat(out);
    const payload = all.subarray(0, all.length - 4);
    const key = maskKeyFor(i);
    const p = writeHeader(client, 0, true, OP_TEXT, payload.length, key);
    client[0] = client[0]! | 0x40; // RSV1: compressed (RFC 7692 §6)
    payload.copy(client, p);
    xorInPlace(client, p, p + payload.length, key, 0);
    const q = writeHeader(server, 0, true, OP_TEXT, payload.length, null);
    server[0] = server[0]! | 0x40;
    payload.copy(server, q);
    return [p + payload.length, q + payload.length];
  });
  deflater.close();
  streams.set(count, s);
  return s;
}

export const deflateMessages: Workload = {
  id: 'w6',
  title: '~150 B JSON, permessage-deflate, window 100',
  metrics: [{ key: 'msgPerSec', label: 'msg/s', unit: 'msg/s', better: 'higher' }],
  async warmup(ctx: WorkloadContext) {
    await streamEcho(ctx.port, deflateStream(ctx.scale.messages), { path: '/echo', extensions: 'permessage-deflate', window: ctx.scale.window, count: 2000 });
  },
  async run(ctx: WorkloadContext) {
    const ms = await streamEcho(ctx.port, deflateStream(ctx.scale.messages), { path: '/echo', extensions: 'permessage-deflate', window: ctx.scale.window });
    return { msgPerSec: ctx.scale.messages / (ms / 1000), ms };
  },
};
