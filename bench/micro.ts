/**
 * In-process cost of the relay's own work, without sockets or other processes: what a profile of
 * the proxy under load spreads over the kernel, the peers and the scheduler, measured alone.
 *
 *   npm run bench:micro        (builds first)
 *
 * Feeds two DirectionPipes (client→server masked, server→client unmasked) chunks as a socket would
 * hand them over, and reports the best of several rounds:
 *   - small: 100 text frames of 64 bytes per chunk each way (workload 1's traffic), per message;
 *   - large: 64 KiB binary frames in 64 KiB chunks each way (workload 2a's), per round trip;
 * each with no observer, and with the headless printer writing to a null stream.
 */
import { existsSync } from 'node:fs';
import { Writable } from 'node:stream';
import zlib from 'node:zlib';
import { DeflateRaw } from 'minizlib';
import { quote } from './workloads/deflate-messages.js';
import { EventEmitter } from 'eventemitter3';
import type { DirectionPipe as Pipe, PipeHost } from '../src/proxy/direction-pipe.js';
type DirectionPipe = Pipe;
import type { ProxyEvents } from '../src/proxy/events.js';

// The built code, as the CLI runs it (types from the sources).
const dist = new URL('../dist/', import.meta.url);
if (!existsSync(new URL('proxy/direction-pipe.js', dist))) {
  console.error('dist/ not found: run npm run build first');
  process.exit(1);
}
const load = <T>(file: string): Promise<T> => import(new URL(file, dist).href) as Promise<T>;
const { DirectionPipe } = await load<typeof import('../src/proxy/direction-pipe.js')>('proxy/direction-pipe.js');
const { randomMaskKeys } = await load<typeof import('../src/proxy/mask-keys.js')>('proxy/mask-keys.js');
const { installNativeMask } = await load<typeof import('../src/proxy/native-mask.js')>('proxy/native-mask.js');
const { Sequencer } = await load<typeof import('../src/proxy/sequencer.js')>('proxy/sequencer.js');
const { openRawInflate } = await load<typeof import('../src/proxy/raw-inflate.js')>('proxy/raw-inflate.js');
const { attachHeadless } = await load<typeof import('../src/output/headless.js')>('output/headless.js');

/** permessage-deflate with both contexts taken over (w6's negotiation). */
const DEFLATE = { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15 };

/** `reader`: also an observer that declares nothing, so it gets all of --max-preview (as the JSONL log does). */
function pipes(printer: boolean, maxPreview: number, deflate: typeof DEFLATE | null = null, reader = false): [DirectionPipe, DirectionPipe] {
  const bus = new EventEmitter<ProxyEvents>();
  if (printer) attachHeadless(bus, new Writable({ write: (_c, _e, cb) => cb() }), { color: false });
  if (reader) bus.on('frame', () => undefined);
  let id = 1;
  const host: PipeHost = {
    session: 1,
    bus,
    limits: { maxPreview, maxMessage: 1 << 20 },
    keys: randomMaskKeys(),
    signal: new AbortController().signal,
    records: new Sequencer(),
    now: Date.now,
    nextId: () => id++,
    interceptors: () => [],
    write: () => undefined,
    violation: () => undefined,
    closeFrame: () => undefined,
    pressure: () => undefined,
    chainError: (_name, error) => {
      throw error;
    },
    idle: () => undefined,
  };
  return [new DirectionPipe('client', host, deflate), new DirectionPipe('server', host, deflate)];
}

function frame(opcode: number, payload: Buffer, masked: boolean): Buffer {
  const n = payload.length;
  const len = n < 126 ? 2 : n <= 0xffff ? 4 : 10;
  const head = Buffer.alloc(len + (masked ? 4 : 0));
  head[0] = 0x80 | opcode;
  head[1] = (masked ? 0x80 : 0) | (len === 2 ? n : len === 4 ? 126 : 127);
  if (len === 4) head.writeUInt16BE(n, 2);
  if (len === 10) head.writeUInt32BE(n, 6);
  if (!masked) return Buffer.concat([head, payload]);
  const key = [0x37, 0xfa, 0x21, 0x3d];
  head.set(key, len);
  return Buffer.concat([head, Buffer.from(payload.map((b, i) => b ^ key[i & 3]!))]);
}

/** Best time of `rounds` rounds of `reps` calls of `step`, in ns per call; yields between rounds. */
async function best(step: () => void, reps: number, rounds = 6): Promise<number> {
  for (let i = 0; i < reps; i++) step();
  let min = Infinity;
  for (let r = 0; r < rounds; r++) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < reps; i++) step();
    min = Math.min(min, Number(process.hrtime.bigint() - t) / reps);
    await new Promise((resolve) => setImmediate(resolve));
  }
  return min;
}

async function small(printer: boolean): Promise<number> {
  const [c2s, s2c] = pipes(printer, 64 * 1024);
  const text = (i: number): Buffer => Buffer.from(`#${i} ${'abcdefghijklmnopqrstuvwxyz'.repeat(3)}`.slice(0, 64));
  const up = Buffer.concat(Array.from({ length: 100 }, (_, i) => frame(1, text(i), true)));
  const down = Buffer.concat(Array.from({ length: 100 }, (_, i) => frame(1, text(i), false)));
  // A fresh chunk per push, as a socket gives: the pipe re-masks client chunks in place.
  const ns = await best(() => {
    c2s.push(Buffer.from(up));
    s2c.push(Buffer.from(down));
  }, 2000);
  const copies = await best(() => {
    Buffer.from(up);
    Buffer.from(down);
  }, 2000);
  return (ns - copies) / 100;
}

async function large(printer: boolean, maxPreview: number, reader: boolean): Promise<number> {
  const [c2s, s2c] = pipes(printer, maxPreview, null, reader);
  const payload = Buffer.alloc(64 * 1024, 0x61);
  const up = Buffer.concat(Array.from({ length: 16 }, () => frame(2, payload, true)));
  const down = Buffer.concat(Array.from({ length: 16 }, () => frame(2, payload, false)));
  const feed = (pipe: DirectionPipe | null, stream: Buffer): void => {
    for (let i = 0; i < stream.length; i += 64 * 1024) {
      const chunk = Buffer.from(stream.subarray(i, i + 64 * 1024));
      pipe?.push(chunk);
    }
  };
  const ns = await best(() => {
    feed(c2s, up);
    feed(s2c, down);
  }, 20);
  const copies = await best(() => {
    feed(null, up);
    feed(null, down);
  }, 20);
  return (ns - copies) / 16;
}

/** w6's compressed stream: ~150 B JSON each, one deflate context, tails removed (RFC 7692 §7.2.1). */
function compressedQuotes(count: number): Buffer[] {
  const deflater = new DeflateRaw({ flush: zlib.constants.Z_SYNC_FLUSH });
  let out: Buffer[] = [];
  deflater.on('data', (c: Buffer) => out.push(c));
  const all: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    out = [];
    deflater.write(Buffer.from(quote(i)));
    const b = Buffer.concat(out);
    all.push(b.subarray(0, b.length - 4));
  }
  deflater.close();
  return all;
}

/** The same messages through the pipes, compressed both ways (100 per chunk), with the printer. */
async function smallCompressed(): Promise<number> {
  const messages = compressedQuotes(1200 * 100);
  let next = 0;
  const chunk = (masked: boolean, from: number): Buffer => Buffer.concat(messages.slice(from, from + 100).map((m) => {
    const f = frame(1, m, masked);
    f[0] = f[0]! | 0x40;
    return f;
  }));
  // Each direction's context must see the stream in order: chunks are built ahead, fed once.
  const ups: Buffer[] = [];
  const downs: Buffer[] = [];
  for (let i = 0; i * 100 + 100 <= messages.length; i++) {
    ups.push(chunk(true, i * 100));
    downs.push(chunk(false, i * 100));
  }
  const [c2s, s2c] = pipes(true, 64 * 1024, DEFLATE);
  // The first half warms up; the second is measured, in rounds, best kept.
  const half = Math.floor(ups.length / 2);
  for (; next < half; next++) {
    c2s.push(ups[next]!);
    s2c.push(downs[next]!);
  }
  let min = Infinity;
  const per = Math.floor((ups.length - half) / 6);
  for (let r = 0; r < 6; r++) {
    const t = process.hrtime.bigint();
    for (let k = 0; k < per; k++, next++) {
      c2s.push(ups[next]!);
      s2c.push(downs[next]!);
    }
    min = Math.min(min, Number(process.hrtime.bigint() - t) / (per * 100));
    await new Promise((resolve) => setImmediate(resolve));
  }
  return min;
}

/** Inflating one w6 message (context kept), three ways: what the proxy uses, and the two others. */
async function inflateEngines(): Promise<[string, number][]> {
  const messages = compressedQuotes(2000);
  const tail = Buffer.from([0, 0, 0xff, 0xff]);
  const results: [string, number][] = [];
  {
    const s = zlib.createInflateRaw({ windowBits: 15 });
    s.on('data', () => undefined);
    let min = Infinity;
    for (let r = 0; r < 4; r++) {
      const t = process.hrtime.bigint();
      for (const m of messages) {
        s.write(m);
        s.write(tail);
        await new Promise<void>((resolve) => s.flush(zlib.constants.Z_SYNC_FLUSH, () => resolve()));
      }
      min = Math.min(min, Number(process.hrtime.bigint() - t) / messages.length);
    }
    s.close();
    results.push(['node:zlib stream, flush per message (before)', min]);
  }
  for (const [name, fallback] of [['minizlib InflateRaw, synchronous', true], ['native handle writeSync (the proxy)', false]] as const) {
    const engine = openRawInflate(15, fallback);
    const sink = (): void => undefined;
    let i = 0;
    const ns = await best(() => {
      // The stream again from its start, on a fresh context.
      if (i === messages.length) {
        i = 0;
        engine.reset();
      }
      engine.inflate(messages[i++]!, 0, Infinity, sink);
      engine.inflate(tail, 0, Infinity, sink);
    }, messages.length);
    if (engine.error !== null) throw engine.error;
    engine.close();
    results.push([name, ns]);
  }
  return results;
}

const masking = installNativeMask();
console.log(`relay work in process (node ${process.version}, masking: ${masking}); best of 6 rounds, chunk copies subtracted`);
for (const printer of [false, true]) {
  const who = printer ? 'with the headless printer' : 'no observer             ';
  console.log(`  64 B text, 100 per chunk  ${who}  ${(await small(printer)).toFixed(0).padStart(7)} ns per message (2 frames)`);
}
// The printer alone reads a line's worth of each preview; a reader of all of it (the JSONL log,
// the TUI) makes the relay keep --max-preview bytes per frame.
for (const [preview, reader] of [[64 * 1024, false], [64 * 1024, true], [4 * 1024, true]] as const) {
  const ns = await large(true, preview, reader);
  const who = reader ? `+ a reader, --max-preview ${String(preview / 1024).padStart(2)}k` : 'alone                      ';
  console.log(`  64 KiB binary, printer ${who}  ${(ns / 1000).toFixed(1).padStart(7)} µs per round trip (2 frames)`);
}
console.log(`  ~150 B JSON, permessage-deflate both ways, 100 per chunk, printer  ${(await smallCompressed()).toFixed(0).padStart(5)} ns per message (2 frames)`);
console.log('inflating one ~150 B JSON message (about 50 B compressed, context kept):');
for (const [name, ns] of await inflateEngines()) console.log(`  ${name.padEnd(46)} ${(ns / 1000).toFixed(2).padStart(6)} µs`);
