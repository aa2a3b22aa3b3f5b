/**
 * In-process cost of the relay's own work, without sockets or other processes: what a profile of
 * the proxy under load spreads over the kernel, the peers and the scheduler, measured alone.
 *
 *   npm run bench:micro                          (builds first; measures ./dist)
 *   npm run bench:micro -- --dist /other/dist    (another build, e.g. for a "before" column)
 *
 * Feeds two DirectionPipes (client→server masked, server→client unmasked) chunks as a socket would
 * hand them over, and reports the best of several rounds:
 *   - small: 100 text frames of 64 bytes per chunk each way (workload 1's traffic), per frame,
 *     with no observer, the headless printer, the printer and the JSONL log (--log-file), and the
 *     TUI's ingest (its store fed from the bus, no drawing);
 *   - large: 64 KiB binary frames in 64 KiB chunks each way (workload 2a's), per round trip;
 *   - w6's compressed messages both ways, and inflating one of them three ways.
 * Each line runs in a process of its own (`--line N` runs one here), so that none inherits the
 * heap and the compiled code of the lines before it.
 * Types come from the sources; the code measured is only ever the built one.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import zlib from 'node:zlib';
import { DeflateRaw } from 'minizlib';
import { quote } from './workloads/deflate-messages.js';
import { EventEmitter } from 'eventemitter3';
import type { DirectionPipe as Pipe, PipeHost } from '../src/proxy/direction-pipe.js';
type DirectionPipe = Pipe;
import type { ProxyEvents } from '../src/proxy/events.js';

const USAGE = `usage: npm run bench:micro -- [--dist DIR] [--line N]
  --dist DIR  measure the build in DIR (a dist/ directory) instead of this checkout's dist/
  --line N    measure only the report's line N (from 0), in this process`;

/** The line to measure in this process, or null: all of them, each in a process of its own. */
let only: number | null = null;

function distDir(argv: string[]): URL {
  let dir: string | null = null;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--dist' && argv[i + 1] !== undefined) dir = argv[++i]!;
    else if (argv[i] === '--line' && /^\d+$/.test(argv[i + 1] ?? '')) only = Number(argv[++i]);
    else if (argv[i] === '--help' || argv[i] === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else {
      console.error(`unknown option ${argv[i]}\n${USAGE}`);
      process.exit(2);
    }
  }
  return dir === null ? new URL('../dist/', import.meta.url) : pathToFileURL(path.resolve(dir) + '/');
}

// The built code, as the CLI runs it (types from the sources).
const dist = distDir(process.argv.slice(2));
if (!existsSync(new URL('proxy/direction-pipe.js', dist))) {
  console.error(`${dist.pathname}proxy/direction-pipe.js not found: ${process.argv.includes('--dist') ? 'not a wsproxy build' : 'run npm run build first'}`);
  process.exit(1);
}
const load = <T>(file: string): Promise<T> => import(new URL(file, dist).href) as Promise<T>;
/** A module an older build may not have: null, and the lines that need it say so. */
const loadOptional = async <T>(file: string): Promise<T | null> => (existsSync(new URL(file, dist)) ? load<T>(file) : null);
const { DirectionPipe } = await load<typeof import('../src/proxy/direction-pipe.js')>('proxy/direction-pipe.js');
const { randomMaskKeys } = await load<typeof import('../src/proxy/mask-keys.js')>('proxy/mask-keys.js');
const { installNativeMask } = await load<typeof import('../src/proxy/native-mask.js')>('proxy/native-mask.js');
const { Sequencer } = await load<typeof import('../src/proxy/sequencer.js')>('proxy/sequencer.js');
const { attachHeadless } = await load<typeof import('../src/output/headless.js')>('output/headless.js');
const rawInflate = await loadOptional<typeof import('../src/proxy/raw-inflate.js')>('proxy/raw-inflate.js');
const jsonl = await loadOptional<typeof import('../src/output/jsonl.js')>('output/jsonl.js');
const tuiStore = await loadOptional<typeof import('../src/tui/store.js')>('tui/store.js');
const tuiFeed = await loadOptional<typeof import('../src/tui/bus-feed.js')>('tui/bus-feed.js');
const printerThread = await loadOptional<typeof import('../src/output/printer-thread.js')>('output/printer-thread.js');
const entries = await loadOptional<typeof import('../src/output/printer-entries.js')>('output/printer-entries.js');
const format = await load<typeof import('../src/output/format.js')>('output/format.js');
const lineBytes = await load<typeof import('../src/output/line-bytes.js')>('output/line-bytes.js');

/** permessage-deflate with both contexts taken over (w6's negotiation). */
const DEFLATE = { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15 };

/** What watches the bus: the CLI attaches these (the printer headless, the log with --log-file, the TUI). */
interface Observers {
  printer?: boolean;
  /** An observer that declares nothing, so it gets all of --max-preview (as the JSONL log does). */
  reader?: boolean;
  /** A bus with other observers already attached (before the pipes exist: they may look at its listeners when made). */
  bus?: EventEmitter<ProxyEvents>;
  /** Compressed frames inflated after each chunk's write, as a session does without --strict (later-inflater.ts). */
  later?: boolean;
}

function pipes(obs: Observers, maxPreview: number, deflate: typeof DEFLATE | null = null, onWrite: (segments: readonly Uint8Array[]) => void = () => undefined): [DirectionPipe, DirectionPipe] {
  const bus = obs.bus ?? new EventEmitter<ProxyEvents>();
  if (obs.printer) attachHeadless(bus, new Writable({ write: (_c, _e, cb) => cb() }), { color: false });
  if (obs.reader) bus.on('frame', () => undefined);
  let id = 1;
  const host: PipeHost = {
    session: 1,
    bus,
    limits: { maxPreview, maxMessage: 1 << 20 },
    keys: randomMaskKeys(),
    signal: new AbortController().signal,
    records: new Sequencer(),
    inflateLater: obs.later === true,
    now: Date.now,
    nextId: () => id++,
    interceptors: () => [],
    write: onWrite,
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

/**
 * The build must take (side, host, deflate) and the PipeHost built above, as this checkout's does:
 * one small frame each way must come out whole, with a frame record each.
 */
function checkShape(): void {
  const where = `the DirectionPipe in ${dist.pathname}`;
  if (DirectionPipe.length !== 3) fail(`${where} takes ${DirectionPipe.length} constructor arguments, this benchmark passes 3 (side, host, deflate)`);
  let written = 0;
  let records = 0;
  try {
    const bus = new EventEmitter<ProxyEvents>();
    bus.on('frame', () => void records++);
    const [c2s, s2c] = pipes({ bus }, 1024, null, (segs) => {
      for (const s of segs) written += s.length;
    });
    c2s.push(frame(1, Buffer.from('shape check'), true));
    s2c.push(frame(1, Buffer.from('shape check'), false));
  } catch (err) {
    fail(`${where} does not work with the PipeHost this benchmark builds: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (written !== 17 + 13 || records !== 2) fail(`${where} relayed ${written} of 30 bytes with ${records} of 2 frame records: its PipeHost or constructor differs from this benchmark's`);
}

function fail(why: string): never {
  console.error(`bench:micro: ${why}; measure it with the bench/micro.ts of its own checkout`);
  process.exit(1);
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

/** Best time of `rounds` rounds of `reps` calls of `step`, in ns per call; yields (or waits on `between`) between rounds. */
async function best(step: () => void, reps: number, rounds = 6, between?: () => Promise<void>): Promise<number> {
  for (let i = 0; i < reps; i++) step();
  let min = Infinity;
  for (let r = 0; r < rounds; r++) {
    await (between?.() ?? new Promise((resolve) => setImmediate(resolve)));
    const t = process.hrtime.bigint();
    for (let i = 0; i < reps; i++) step();
    min = Math.min(min, Number(process.hrtime.bigint() - t) / reps);
  }
  return min;
}

/** ns per frame: 100 frames of 64 B per chunk, both ways, chunk copies subtracted. */
async function small(obs: Observers, reps = 2000, between?: () => Promise<void>): Promise<number> {
  const [c2s, s2c] = pipes(obs, 64 * 1024);
  const text = (i: number): Buffer => Buffer.from(`#${i} ${'abcdefghijklmnopqrstuvwxyz'.repeat(3)}`.slice(0, 64));
  const up = Buffer.concat(Array.from({ length: 100 }, (_, i) => frame(1, text(i), true)));
  const down = Buffer.concat(Array.from({ length: 100 }, (_, i) => frame(1, text(i), false)));
  // A fresh chunk per push, as a socket gives: the pipe re-masks client chunks in place.
  const ns = await best(() => {
    c2s.push(Buffer.from(up));
    s2c.push(Buffer.from(down));
  }, reps, 6, between);
  const copies = await best(() => {
    Buffer.from(up);
    Buffer.from(down);
  }, reps);
  return (ns - copies) / 200;
}

/**
 * The same with --log-file as well, into a file on tmpfs. Since the log has a thread of its own
 * this is the relay's share (packing records for that thread); the rounds are kept small and the
 * log's thread catches up between them: a log 64 MiB behind makes the relay wait, and the figure
 * would then be the log's thread's speed. Checked for such waits (and, on older builds, drops).
 */
async function smallWithLog(printer: boolean): Promise<number | string> {
  if (jsonl === null) return 'not in this build';
  const dir = mkdtempSync(path.join(existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'wsproxy-micro-'));
  const file = path.join(dir, 'log.jsonl');
  try {
    const bus = new EventEmitter<ProxyEvents>();
    const log = await jsonl.attachJsonl(bus, file);
    const ns = await small({ printer, bus }, 200, () => new Promise((resolve) => setTimeout(resolve, 150)));
    await log.close();
    const written = readFileSync(file, 'latin1');
    if (written.includes('"type":"dropped"')) return 'the log dropped lines: not measured';
    if (written.includes('"type":"backpressure"')) return 'the relay waited for the log: not measured';
    return ns;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The command line's printer: the relay's thread packs entries, a thread of its own formats them
 * (into /dev/null here). The time is the relay's thread's: the other thread runs beside it.
 */
async function withPrinterThread(measure: (bus: EventEmitter<ProxyEvents>) => Promise<number>): Promise<number | string> {
  if (printerThread === null) return 'not in this build';
  const fd = openSync('/dev/null', 'w');
  const bus = new EventEmitter<ProxyEvents>();
  const printer = printerThread.attachPrinterThread(bus, fd, { color: false }, () => undefined);
  try {
    return await measure(bus);
  } finally {
    await printer.close();
    closeSync(fd);
  }
}

/**
 * The printer's thread, per line: entries packed as the relay packs them, 100 a read (a read's
 * frames share the time and the direction), read back and formatted as that thread does. w1's 64 B
 * text, or w6's ~150 B JSON, compressed, whose lengths differ within a read.
 */
async function printerLines(w6: boolean): Promise<number | string> {
  if (entries === null || !('readEntries' in entries)) return 'not in this build';
  const batch = new entries.EntryBatch(Buffer.alloc(1 << 20));
  let n = 0;
  for (; n < 2000; n++) {
    const payload = Buffer.from(w6 ? quote(n) : `#${n} ${'abcdefghijklmnopqrstuvwxyz'.repeat(3)}`.slice(0, 64));
    const f = {
      id: n, session: 1, time: 1_764_000_000_000 + Math.floor(n / 100), from: Math.floor(n / 100) % 2 === 0 ? 'client' : 'server', fin: true, rsv1: w6, rsv2: false, rsv3: false,
      opcode: 1, kind: 'text', masked: false, maskKey: null, length: payload.length, header: new Uint8Array(2), headerLength: 2, payload, truncated: false, compressed: w6,
      close: null, violations: [], origin: 'peer',
    } as const;
    if (!batch.frame(f, 80 * 4)) break;
  }
  const out = new lineBytes.LineBytes(1 << 20);
  const style = { color: false };
  const ns = await best(() => {
    entries.readEntries(batch.buffer, batch.length, (f, start, end, view) => {
      format.writeFrameLine(out, f, style, 80, start, end, view);
      out.newline();
    }, (line) => out.bytes(line).newline());
    out.truncate(0);
  }, 100);
  return ns / n;
}

/** The TUI's share: its store fed from the bus (what every frame costs it), no screen, no drawing. */
async function smallWithTui(): Promise<number | string> {
  if (tuiStore === null || tuiFeed === null) return 'not in this build';
  // The CLI's defaults: --history 10000, --max-preview 64k, --ui-memory 64M.
  const store = new tuiStore.TuiStore({ history: 10_000, maxPreview: 64 * 1024, maxPayloadBytes: 64 * 2 ** 20 });
  const bus = new EventEmitter<ProxyEvents>();
  tuiFeed.feedStore(bus, store, Date.now, () => undefined);
  return small({ bus });
}

async function large(printer: boolean, maxPreview: number, reader: boolean): Promise<number> {
  const [c2s, s2c] = pipes({ printer, reader }, maxPreview);
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
async function smallCompressed(obs: Observers): Promise<number> {
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
  const [c2s, s2c] = pipes(obs, 64 * 1024, DEFLATE);
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
  if (rawInflate === null) return [];
  const { openRawInflate } = rawInflate;
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
checkShape();
const perFrame = (what: string, ns: number | string): void =>
  console.log(`  64 B text, 100 per chunk, ${what.padEnd(30)} ${typeof ns === 'string' ? ns : `${ns.toFixed(0).padStart(6)} ns per frame (${(2 * ns).toFixed(0)} per echoed message)`}`);
const compressedLine = (what: string, measure: () => Promise<number | string>) => async (): Promise<void> => {
  // (An older build inflates as it reads either way: it has no inflateLater.)
  const label = `  ~150 B JSON, permessage-deflate both ways, 100 per chunk, ${what.padEnd(44)}`;
  try {
    const ns = await measure();
    console.log(`${label} ${typeof ns === 'string' ? ns : `${ns.toFixed(0).padStart(5)} ns per message (2 frames)`}`);
  } catch (err) {
    console.log(`${label} not measurable on this build (${err instanceof Error ? err.message : String(err)})`);
  }
};

/** The report, a line each. */
const LINES: (() => Promise<void>)[] = [
  async () => perFrame('relay alone', await small({})),
  async () => perFrame('+ headless printer', await small({ printer: true })),
  async () => perFrame('+ printer thread (CLI)', await withPrinterThread((bus) => small({ bus }))),
  async () => perFrame('+ printer + JSONL log', await smallWithLog(true)),
  async () => perFrame('+ TUI ingest (no drawing)', await smallWithTui()),
  ...[false, true].map((w6) => async () => {
    const ns = await printerLines(w6);
    console.log(`  the printer's thread, formatting a line of ${w6 ? '~150 B JSON, compressed' : '64 B text            '}  ${typeof ns === 'string' ? ns : `${ns.toFixed(0).padStart(6)} ns per line`}`);
  }),
  // The printer alone reads a line's worth of each preview; a reader of all of it (the JSONL log,
  // the TUI) makes the relay keep --max-preview bytes per frame.
  ...([[64 * 1024, false], [64 * 1024, true], [4 * 1024, true]] as const).map(([preview, reader]) => async () => {
    const ns = await large(true, preview, reader);
    const who = reader ? `+ a reader, --max-preview ${String(preview / 1024).padStart(2)}k` : 'alone                      ';
    console.log(`  64 KiB binary, printer ${who}  ${(ns / 1000).toFixed(1).padStart(7)} µs per round trip (2 frames)`);
  }),
  compressedLine('alone', () => smallCompressed({ later: true })),
  compressedLine('headless printer', () => smallCompressed({ printer: true, later: true })),
  compressedLine('printer thread (CLI)', () => withPrinterThread((bus) => smallCompressed({ bus, later: true }))),
  compressedLine('alone, --strict (inflated as each frame ends)', () => smallCompressed({ later: false })),
  async () => {
    const engines = await inflateEngines();
    if (engines.length === 0) console.log('inflating one ~150 B JSON message: proxy/raw-inflate.js not in this build');
    else {
      console.log('inflating one ~150 B JSON message (about 50 B compressed, context kept):');
      for (const [name, ns] of engines) console.log(`  ${name.padEnd(46)} ${(ns / 1000).toFixed(2).padStart(6)} µs`);
    }
  },
];

if (only !== null) {
  const line = LINES[only];
  if (line === undefined) {
    console.error(`--line ${only}: there are ${LINES.length} lines (0 to ${LINES.length - 1})`);
    process.exit(2);
  }
  await line();
} else {
  const cpu = os.cpus()[0]?.model.trim() ?? 'unknown CPU';
  console.log(`relay work in process: ${dist.pathname}`);
  console.log(`${cpu}, ${os.cpus().length} cores, node ${process.version}, load average ${os.loadavg()[0]!.toFixed(2)}; masking: ${masking}; best of 6 rounds, chunk copies subtracted; each line in a process of its own`);
  // Each line in a fresh process: what earlier lines leave behind (their heap, the JIT's choices)
  // moved a later line by a fifth, for a change that did not touch its code (docs/performance.md, round 7).
  for (let i = 0; i < LINES.length; i++) {
    const child = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2), '--line', String(i)], { stdio: ['ignore', 'inherit', 'inherit'] });
    if (child.status !== 0) process.exit(child.status ?? 1);
  }
}
