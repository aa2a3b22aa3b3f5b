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
const { attachHeadless } = await load<typeof import('../src/output/headless.js')>('output/headless.js');

function pipes(printer: boolean, maxPreview: number): [DirectionPipe, DirectionPipe] {
  const bus = new EventEmitter<ProxyEvents>();
  if (printer) attachHeadless(bus, new Writable({ write: (_c, _e, cb) => cb() }), { color: false });
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
  return [new DirectionPipe('client', host, null), new DirectionPipe('server', host, null)];
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

async function large(printer: boolean, maxPreview: number): Promise<number> {
  const [c2s, s2c] = pipes(printer, maxPreview);
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

const masking = installNativeMask();
console.log(`relay work in process (node ${process.version}, masking: ${masking}); best of 6 rounds, chunk copies subtracted`);
for (const printer of [false, true]) {
  const who = printer ? 'with the headless printer' : 'no observer             ';
  console.log(`  64 B text, 100 per chunk  ${who}  ${(await small(printer)).toFixed(0).padStart(7)} ns per message (2 frames)`);
}
for (const preview of [64 * 1024, 4 * 1024]) {
  const ns = await large(true, preview);
  console.log(`  64 KiB binary, printer, --max-preview ${String(preview / 1024).padStart(2)}k     ${(ns / 1000).toFixed(1).padStart(7)} µs per round trip (2 frames)`);
}
