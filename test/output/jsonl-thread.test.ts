/**
 * The JSONL log written from its own thread (jsonl-thread.ts, jsonl-entries.ts, jsonl-worker.ts):
 * a record packed into an entry and encoded on the other side is the line the record builders
 * give, byte for byte; through a ring of small batches (entries larger than a batch go in
 * pieces) the file gets every line in bus order; and a reader slower than the traffic holds the
 * relay back, loses nothing, and is said in a `backpressure` record.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { EventEmitter } from 'eventemitter3';
import { JsonlBatch } from '../../src/output/jsonl-bytes.js';
import { byBytes, entryKey, frameEntrySize, freshSlab, messageEntrySize, packFrame, packLine, packMessage, readEntries } from '../../src/output/jsonl-entries.js';
import { attachJsonl, frameJson, jsonLine, logJson, messageJson } from '../../src/output/jsonl.js';
import type { FrameRecord, MessageRecord, ProxyEvents } from '../../src/proxy/events.js';
import { Opcode, frameKind } from '../../src/protocol/constants.js';
import { DirectionPipe } from '../../src/proxy/direction-pipe.js';
import { KEY_A, buildFrame } from '../helpers/frames.js';
import { testPipeHost } from '../helpers/pipe-host.js';
import { messageRecordOf } from '../helpers/record-arbitraries.js';

const payload = fc.oneof(
  fc.uint8Array({ maxLength: 60 }),
  fc.string({ maxLength: 40 }).map((s) => Buffer.from(s)),
  fc.constantFrom('"\\\n\u0085\u202e😀', '\x7f\x00').map((s) => Buffer.from(s)),
  fc.constantFrom(Uint8Array.of(0xff), Uint8Array.of(0xed, 0xa0, 0x80)),
  fc.nat(5000).map((n) => Buffer.alloc(n, 'a')),
);
const text = fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('bye "now"\\', '\u202eevil\u0085'));

const frameRecord: fc.Arbitrary<FrameRecord> = fc
  .record({
    id: fc.oneof(fc.nat(), fc.constant(Number.MAX_SAFE_INTEGER)),
    session: fc.nat(100000),
    time: fc.integer({ min: 0, max: Date.UTC(2200, 0, 1) }),
    server: fc.boolean(),
    bits: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
    opcode: fc.integer({ min: 0, max: 15 }),
    masked: fc.boolean(),
    maskKey: fc.option(fc.uint8Array({ minLength: 4, maxLength: 4 })),
    length: fc.oneof(fc.nat(), fc.constant(2 ** 40)),
    headerLength: fc.integer({ min: 2, max: 14 }),
    payload,
    truncated: fc.boolean(),
    compressed: fc.boolean(),
    close: fc.option(fc.record({ code: fc.option(fc.integer({ min: 0, max: 65535 })), reason: text }), { freq: 8 }),
    violation: fc.option(text, { freq: 8 }),
    origin: fc.constantFrom('peer' as const, 'modified' as const, 'injected' as const),
  })
  .map((r) => ({
    id: r.id,
    session: r.session,
    time: r.time,
    from: r.server ? ('server' as const) : ('client' as const),
    fin: r.bits[0]!,
    rsv1: r.bits[1]!,
    rsv2: r.bits[2]!,
    rsv3: r.bits[3]!,
    opcode: r.opcode,
    kind: frameKind(r.opcode),
    masked: r.masked,
    maskKey: r.maskKey,
    length: r.length,
    header: new Uint8Array(r.headerLength),
    headerLength: r.headerLength,
    payload: r.payload,
    truncated: r.truncated,
    compressed: r.compressed,
    close: r.close,
    violations: r.violation === null ? [] : [{ code: 'invalid-utf8', message: r.violation, closeCode: 1007, fatal: false, rfc: 'RFC 6455 §8.1' } as unknown as FrameRecord['violations'][number]],
    origin: r.origin,
  }));

const messageRecord = messageRecordOf(payload);

/** A frame, then sometimes its one-frame message (the same payload object), as the relay emits them. */
const pair = fc.tuple(frameRecord, messageRecord, fc.nat(2)).map(([f, m, one]) =>
  // The same payload object, or another view of the same bytes.
  one === 0 ? { f, m } : { f, m: { ...m, payload: one === 1 ? f.payload : new Uint8Array(f.payload.buffer, f.payload.byteOffset, f.payload.length) } },
);

const expected = (f: FrameRecord, m: MessageRecord): string => `${jsonLine(frameJson(f))}\n${jsonLine(messageJson(m))}\n`;

function withDir(run: (dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsproxy-jsonl-thread-'));
    try {
      await run(dir);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };
}

describe('the JSONL log on its own thread', () => {
  test('an entry read back and encoded is the line of the record builders', () => {
    const s = freshSlab(64 * 1024);
    const out = new JsonlBatch(64);
    const reader = { frame: (f: FrameRecord) => out.frame(f), message: (m: MessageRecord) => out.message(m), line: (l: Uint8Array) => out.line(l), part: () => assert.fail('no pieces here') };
    fc.assert(
      fc.property(pair, fc.nat(7), ({ f, m }, skip) => {
        // Anywhere in the slab, at a multiple of 8.
        let at = skip * 8;
        const start = at;
        const key = entryKey(f);
        const frameSize = frameEntrySize(f, key);
        if (frameSize < 0) at = packLine(s, at, jsonLine(frameJson(f)));
        else {
          at = packFrame(s, at, f, key!);
          assert.equal(at - start, frameSize);
        }
        const by = m.by === null ? null : byBytes(m.by);
        const same = m.payload === f.payload && frameSize >= 0;
        const size = messageEntrySize(m, same, by);
        const mid = at;
        at = size < 0 ? packLine(s, at, jsonLine(messageJson(m))) : packMessage(s, at, m, same, by);
        if (size >= 0) assert.equal(at - mid, size);
        readEntries(s, start, at, reader);
        assert.equal(out.take().toString('utf8'), expected(f, m));
      }),
      { numRuns: 3000 },
    );
  });

  test("a peer frame's mask key, taken as a word, reads back as the bytes the peer sent", () => {
    const bus = new EventEmitter<ProxyEvents>();
    const frames: FrameRecord[] = [];
    bus.on('frame', (f) => frames.push(f));
    const host = testPipeHost(bus, { limits: { maxPreview: 1024, maxMessage: 1 << 20 } });
    const pipe = new DirectionPipe('client', host, null);
    pipe.push(buildFrame({ opcode: Opcode.Text, payload: Buffer.from('keyed'), maskKey: KEY_A }));
    const s = freshSlab(4096);
    const key = entryKey(frames[0]!);
    const end = packFrame(s, 0, frames[0]!, key!);
    const back: FrameRecord[] = [];
    readEntries(s, 0, end, { frame: (f) => back.push(f), message: () => assert.fail('no message'), line: () => assert.fail('no line'), part: () => assert.fail('no pieces') });
    assert.deepEqual([...back[0]!.maskKey!], [...KEY_A]);
    assert.equal(Buffer.from(back[0]!.payload).toString(), 'keyed');
    assert.equal(jsonLine(frameJson(back[0]!)), jsonLine(frameJson(frames[0]!)));
  });

  test("the relay's own records (previews still in its slab, one-frame messages sharing their frame's payload) are logged as their lines", withDir(async (dir) => {
    const file = path.join(dir, 'log.jsonl');
    const bus = new EventEmitter<ProxyEvents>();
    // Small batches: a message's frame is sometimes in the batch before, or in pieces (previews
    // of 1,024 bytes); a frame with a violation goes as its line, and its message as an entry.
    const log = await attachJsonl(bus, file, { slots: 4, slotBytes: 1024 });
    // Attached after the log: the records are read here only once the log has packed them.
    let want = '';
    bus.on('frame', (f) => void (want += `${jsonLine(frameJson(f))}\n`));
    bus.on('message', (m) => void (want += `${jsonLine(messageJson(m))}\n`));
    const host = testPipeHost(bus, { limits: { maxPreview: 1024, maxMessage: 1 << 20 } });
    const pipes = [new DirectionPipe('client', host, null), new DirectionPipe('server', host, null)] as const;
    const sizes = [0, 1, 3, 4, 5, 7, 31, 32, 33, 63, 64, 65, 125, 126, 300, 1023, 1024, 1025, 5000];
    let n = 0;
    for (const [side, pipe] of pipes.entries()) {
      const maskKey = side === 0 ? KEY_A : null;
      for (const size of sizes) {
        const bytes = Buffer.from(Array.from({ length: size }, (_, i) => (i * 7 + size) & 0xff));
        const text = Buffer.from('é"\\x'.repeat(size).slice(0, size));
        // A read of several frames: binary, text, a ping, and a text message in three fragments.
        pipe.push(Buffer.concat([
          buildFrame({ opcode: Opcode.Binary, payload: bytes, maskKey }),
          buildFrame({ opcode: Opcode.Text, payload: text, maskKey }),
          buildFrame({ opcode: Opcode.Ping, payload: bytes.subarray(0, 125), maskKey }),
          buildFrame({ opcode: Opcode.Text, payload: text.subarray(0, 2), fin: false, maskKey }),
          buildFrame({ opcode: Opcode.Continuation, payload: bytes, fin: false, maskKey }),
          buildFrame({ opcode: Opcode.Continuation, payload: Buffer.from('end'), maskKey }),
          buildFrame({ opcode: Opcode.Text, payload: Buffer.concat([text, Buffer.of(0xff)]), maskKey }),
        ]));
        n += 7;
      }
    }
    await log.close();
    // (Waits for the writer, said in the log, aside.)
    const got = fs.readFileSync(file, 'utf8').split('\n').filter((l) => !l.startsWith('{"type":"backpressure"')).join('\n');
    assert.equal(want.split('\n').filter((l) => l.startsWith('{"type":"frame"')).length, n);
    assert.equal(got, want);
  }));

  test('through a ring of small batches the file gets every line, in bus order, large entries in pieces', withDir(async (dir) => {
    const file = path.join(dir, 'log.jsonl');
    const bus = new EventEmitter<ProxyEvents>();
    // 3 batches of 1 KiB: most entries cross a batch, payloads up to 5000 bytes go in pieces.
    const log = await attachJsonl(bus, file, { slots: 3, slotBytes: 1024 });
    const pairs = fc.sample(pair, 1500);
    let want = '';
    for (const [i, { f, m }] of pairs.entries()) {
      bus.emit('frame', f);
      bus.emit('message', m);
      want += expected(f, m);
      if (i % 100 === 0) {
        const l = { session: i, time: f.time, source: 'script' as const, level: 'info' as const, text: 'x'.repeat(i * 3) };
        bus.emit('log', l);
        want += `${jsonLine(logJson(l))}\n`;
      }
      if (i % 300 === 299) await new Promise((r) => setTimeout(r, 15));
    }
    await log.close();
    const got = fs.readFileSync(file, 'utf8');
    // Waits for the writer are said in the log; everything else is what was emitted.
    const said = got.split('\n').filter((l) => l.startsWith('{"type":"backpressure"'));
    assert.equal(got.split('\n').filter((l) => !l.startsWith('{"type":"backpressure"')).join('\n'), want);
    for (const l of said) {
      const o = JSON.parse(l) as { waits: number; waitedMs: number; time: string };
      assert.ok(o.waits >= 1 && o.waitedMs >= 0 && !Number.isNaN(Date.parse(o.time)));
    }
  }));

  test('a disk that fails (ENOSPC, /dev/full) ends the log with a message; the relay goes on', { skip: !fs.existsSync('/dev/full') }, async () => {
    const said: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => (said.push(String(chunk)), true)) as typeof process.stderr.write;
    try {
      const bus = new EventEmitter<ProxyEvents>();
      const log = await attachJsonl(bus, '/dev/full', { slots: 2, slotBytes: 4096 });
      const frames = fc.sample(frameRecord, 200);
      // Far more than the two batches: the relay must not wait for a writer that has stopped.
      for (let round = 0; round < 20; round++) {
        for (const f of frames) bus.emit('frame', f);
        await new Promise((r) => setTimeout(r, 20));
      }
      await log.close();
      assert.ok(said.some((l) => /^wsproxy: --log-file: writing failed: ENOSPC; the log ends here\n$/.test(l)), JSON.stringify(said));
    } finally {
      process.stderr.write = write;
    }
  });

  test('a process that exits without close() still leaves every record in the file', { timeout: 60_000 }, withDir(async (dir) => {
    const file = path.join(dir, 'exit.jsonl');
    const jsonl = new URL('../../src/output/jsonl.ts', import.meta.url).href;
    // Records emitted in the same turn as process.exit: none of them was handed over yet.
    const script = `
      import { EventEmitter } from 'eventemitter3';
      const { attachJsonl } = await import(${JSON.stringify(jsonl)});
      const bus = new EventEmitter();
      await attachJsonl(bus, ${JSON.stringify(file)}, { slots: 4, slotBytes: 64 * 1024 });
      for (let i = 0; i < 20000; i++) bus.emit('log', { session: null, time: 0, source: 'proxy', level: 'info', text: 'line ' + i });
      process.exit(3);
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: path.dirname(new URL(import.meta.url).pathname), stdio: ['ignore', 'ignore', 'inherit'] });
    const code = await new Promise((resolve) => child.once('exit', resolve));
    assert.equal(code, 3);
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    assert.equal(lines.pop(), '');
    const texts = lines.map((l) => (JSON.parse(l) as { type: string; text?: string })).filter((o) => o.type === 'log').map((o) => o.text);
    assert.deepEqual(texts, Array.from({ length: 20000 }, (_, i) => `line ${i}`));
  }));

  test('a reader slower than the traffic holds the relay back: nothing is lost, and the log says so', { timeout: 60_000 }, withDir(async (dir) => {
    const fifo = path.join(dir, 'log.fifo');
    const copy = path.join(dir, 'copy.jsonl');
    execFileSync('mkfifo', [fifo]);
    // The reader opens at once, and starts reading a second and a half after the records begin
    // (`go`: starting the log's thread may itself take a second on a loaded machine).
    const go = path.join(dir, 'go');
    const reader = spawn('sh', ['-c', 'exec 3<"$1"; while [ ! -e "$3" ]; do sleep 0.02; done; sleep 1.5; exec cat <&3 >"$2"', 'sh', fifo, copy, go], { stdio: 'ignore' });
    const done = new Promise((r) => reader.once('exit', r));
    const bus = new EventEmitter<ProxyEvents>();
    const log = await attachJsonl(bus, fifo, { slots: 4, slotBytes: 16 * 1024 });
    const start = Date.now();
    fs.writeFileSync(go, '');
    const n = 2000;
    for (let i = 0; i < n; i++) {
      const f = fc.sample(frameRecord, { seed: i, numRuns: 1 })[0]!;
      bus.emit('frame', { ...f, id: i, close: null, violations: [], payload: Buffer.alloc(200, 0x61 + (i % 26)) });
    }
    // 64 KiB of batches and the pipe's buffer cannot hold 2000 lines of 500 bytes: the loop waited for the reader.
    const held = Date.now() - start;
    await log.close();
    await done;
    assert.ok(held >= 1000, `the relay was held back (${held} ms)`);
    const lines = fs.readFileSync(copy, 'utf8').split('\n');
    assert.equal(lines.pop(), '');
    const frames = lines.filter((l) => l.startsWith('{"type":"frame"')).map((l) => JSON.parse(l) as { id: number });
    assert.deepEqual(frames.map((f) => f.id), Array.from({ length: n }, (_, i) => i));
    const notes = lines.filter((l) => l.startsWith('{"type":"backpressure"')).map((l) => JSON.parse(l) as { waits: number; waitedMs: number });
    assert.ok(notes.length >= 1, 'a backpressure record');
    assert.ok(notes.reduce((a, o) => a + o.waitedMs, 0) >= 800, `the waits add up (${JSON.stringify(notes)})`);
    assert.equal(lines.length, n + notes.length);
  }));
});
