/**
 * The JSONL log's frame and message lines, encoded as bytes (jsonl-bytes.ts), are the very text
 * the documented record builders give (jsonLine(frameJson(f)), jsonLine(messageJson(m))), on
 * random records: every kind, flag, payload (ASCII with escapes, DEL, C1, bidi, emoji, invalid
 * UTF-8, binary, long), close, violation and fate. And the log file written through the bus holds
 * every record, in order, each line parsing back to the record's values.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { EventEmitter } from 'eventemitter3';
import { JsonlBatch } from '../../src/output/jsonl-bytes.js';
import { attachJsonl, frameJson, jsonLine, messageJson } from '../../src/output/jsonl.js';
import type { FrameRecord, ProxyEvents } from '../../src/proxy/events.js';
import { frameKind } from '../../src/protocol/constants.js';
import { messageRecordOf } from '../helpers/record-arbitraries.js';

/** Bytes that exercise every escape: ASCII, quotes, backslashes, C0, DEL, C1, bidi, BOM, emoji, invalid UTF-8. */
const piece = fc.oneof(
  fc.uint8Array({ maxLength: 40 }),
  fc.string({ maxLength: 40 }).map((s) => Buffer.from(s)),
  fc.constantFrom('"', '\\', '\n\r\t\b\f', '\x00\x01\x1f', '\x7f', '\u0085\u009b', '\u202e\u2066', '\u200b\ufeff', '\u2028\u2029', '\ufe0f', '😀', 'é').map((s) => Buffer.from(s)),
  fc.constantFrom(Uint8Array.of(0xff), Uint8Array.of(0xc3), Uint8Array.of(0xed, 0xa0, 0x80)),
);
const payload = fc.oneof(
  fc.array(piece, { maxLength: 8 }).map((parts) => Buffer.concat(parts)),
  fc.nat(2000).map((n) => Buffer.alloc(n, 'a')),
  fc.nat(2000).map((n) => Buffer.alloc(n, 0x22)),
);
const text = fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom('bye "now"\\', '\u202eevil\u0085', '😀', ''));
const time = fc.integer({ min: 0, max: Date.UTC(2200, 0, 1) });

const frameRecord: fc.Arbitrary<FrameRecord> = fc
  .record({
    id: fc.oneof(fc.nat(), fc.constant(Number.MAX_SAFE_INTEGER)),
    session: fc.nat(100000),
    time,
    from: fc.constantFrom('client' as const, 'server' as const),
    fin: fc.boolean(),
    rsv1: fc.boolean(),
    rsv2: fc.boolean(),
    rsv3: fc.boolean(),
    opcode: fc.integer({ min: 0, max: 15 }),
    maskKey: fc.option(fc.uint8Array({ minLength: 4, maxLength: 4 })),
    length: fc.oneof(fc.nat(), fc.constant(2 ** 40)),
    headerLength: fc.integer({ min: 2, max: 14 }),
    payload,
    truncated: fc.boolean(),
    compressed: fc.boolean(),
    close: fc.option(fc.record({ code: fc.option(fc.integer({ min: 0, max: 65535 })), reason: text })),
    violations: fc.array(fc.record({ code: fc.constantFrom('invalid-utf8', 'control-too-long'), message: text }), { maxLength: 2 }),
    origin: fc.constantFrom('peer' as const, 'modified' as const, 'injected' as const),
  })
  .map((r) => ({
    id: r.id,
    session: r.session,
    time: r.time,
    from: r.from,
    fin: r.fin,
    rsv1: r.rsv1,
    rsv2: r.rsv2,
    rsv3: r.rsv3,
    opcode: r.opcode,
    kind: frameKind(r.opcode),
    masked: r.maskKey !== null,
    maskKey: r.maskKey,
    length: r.length,
    header: new Uint8Array(r.headerLength),
    headerLength: r.headerLength,
    payload: r.payload,
    truncated: r.truncated,
    compressed: r.compressed,
    close: r.close,
    violations: r.violations.map((v) => ({ code: v.code, message: v.message, closeCode: 1002, fatal: false, rfc: 'RFC 6455 §5.2' }) as unknown as FrameRecord['violations'][number]),
    origin: r.origin,
  }));

const messageRecord = messageRecordOf(payload);

describe('JSONL lines as bytes', () => {
  test('a frame line is exactly jsonLine(frameJson(f))', () => {
    const batch = new JsonlBatch(64);
    fc.assert(
      fc.property(frameRecord, (f) => {
        batch.frame(f);
        assert.equal(batch.take().toString('utf8'), `${jsonLine(frameJson(f))}\n`);
      }),
      { numRuns: 3000 },
    );
  });

  test('a message line is exactly jsonLine(messageJson(m))', () => {
    const batch = new JsonlBatch(64);
    fc.assert(
      fc.property(messageRecord, (m) => {
        batch.message(m);
        assert.equal(batch.take().toString('utf8'), `${jsonLine(messageJson(m))}\n`);
      }),
      { numRuns: 3000 },
    );
  });

  test('a message carrying its frame’s very preview gets the same line as any other', () => {
    const batch = new JsonlBatch(64);
    fc.assert(
      fc.property(frameRecord, messageRecord, fc.boolean(), (f, m0, flush) => {
        const m = { ...m0, payload: f.payload };
        batch.frame(f);
        // A batch taken between the two lines leaves nothing to copy from.
        const first = flush ? batch.take().toString('utf8') : '';
        batch.message(m);
        assert.equal(first + batch.take().toString('utf8'), `${jsonLine(frameJson(f))}\n${jsonLine(messageJson(m))}\n`);
      }),
      { numRuns: 3000 },
    );
  });

  test('lines follow each other in one batch; a failing record leaves no half line', () => {
    const batch = new JsonlBatch(16);
    const frames = fc.sample(frameRecord, 50);
    const messages = fc.sample(messageRecord, 50);
    let expected = '';
    for (let i = 0; i < 50; i++) {
      batch.frame(frames[i]!);
      batch.message(messages[i]!);
      expected += `${jsonLine(frameJson(frames[i]!))}\n${jsonLine(messageJson(messages[i]!))}\n`;
    }
    assert.throws(() => batch.frame({ ...frames[0]!, time: Number.NaN }), RangeError);
    batch.text('{"type":"log"}');
    assert.equal(batch.take().toString('utf8'), `${expected}{"type":"log"}\n`);
    assert.equal(batch.length, 0);
  });

  test('the log file gets every frame and message line, in order, across many batches', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsproxy-jsonl-'));
    try {
      const file = path.join(dir, 'log.jsonl');
      const bus = new EventEmitter<ProxyEvents>();
      const log = await attachJsonl(bus, file);
      const frames = fc.sample(frameRecord, 400);
      const n = 20_000;
      for (let i = 0; i < n; i++) {
        const f = { ...frames[i % frames.length]!, id: 2 * i };
        bus.emit('frame', f);
        bus.emit('message', { id: 2 * i + 1, session: f.session, time: f.time, from: f.from, kind: 'text', length: 3, payload: Buffer.from(`m${i}`), truncated: false, frames: 1, compressed: false, fate: 'forwarded', by: null });
        // As socket reads would: the relay's turn ends now and then.
        if (i % 1000 === 999) await new Promise((r) => setImmediate(r));
      }
      await log.close();
      const lines = fs.readFileSync(file, 'utf8').split('\n');
      assert.equal(lines.pop(), '');
      assert.equal(lines.length, 2 * n);
      for (let i = 0; i < n; i++) {
        const f = JSON.parse(lines[2 * i]!) as { type: string; id: number };
        const m = JSON.parse(lines[2 * i + 1]!) as { type: string; id: number; payload: string };
        assert.deepEqual([f.type, f.id, m.type, m.id, m.payload], ['frame', 2 * i, 'message', 2 * i + 1, `m${i}`]);
        assert.equal(lines[2 * i], jsonLine(frameJson({ ...frames[i % frames.length]!, id: 2 * i })));
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
