import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Opcode, frameKind } from '../../src/protocol/constants.js';
import { EventEmitter } from 'eventemitter3';
import { subscribe, type FrameRecord, type ProxyEvents } from '../../src/proxy/events.js';
import { DirectionPipe } from '../../src/proxy/direction-pipe.js';
import { KEY_A, buildFrame } from '../helpers/frames.js';
import { testPipeHost } from '../helpers/pipe-host.js';
import { formatFrameLine, writeFrameLine } from '../../src/output/format.js';
import { LineBytes } from '../../src/output/line-bytes.js';
import { EntryBatch, readEntries } from '../../src/output/printer-entries.js';

function record(over: Partial<FrameRecord> & { payload: Uint8Array; opcode: number }): FrameRecord {
  return {
    id: 7, session: 3, time: Date.UTC(2026, 11, 4, 12, 0, 0, 123), from: 'client', fin: true, rsv1: false, rsv2: false, rsv3: false,
    kind: frameKind(over.opcode), masked: true, maskKey: Uint8Array.of(1, 2, 3, 4), length: over.payload.length, header: Uint8Array.of(0x81, 0x85, 1, 2, 3, 4),
    headerLength: 6, truncated: false, compressed: false, close: null, violations: [], origin: 'peer', ...over,
  };
}

// The printer's thread formats a frame from its entry: the line must be the one formatted from the record itself.
test('a frame packed into a batch and read back prints the same line as the record', () => {
  const records = [
    record({ opcode: 1, payload: Buffer.from('hello "world" \\ back') }),
    record({ opcode: 1, payload: Buffer.from('€ and 😀 and \u202e bidi'), from: 'server', masked: false, maskKey: null }),
    record({ opcode: 2, payload: Buffer.from([0, 1, 2, 0xff, 0xfe]), origin: 'injected' }),
    record({ opcode: 1, payload: Buffer.from('x'.repeat(500)), length: 70_000, truncated: true, compressed: true, rsv1: true }),
    record({ opcode: 0, payload: Buffer.from('tail'), fin: false, origin: 'modified' }),
    record({ opcode: 9, payload: Buffer.alloc(0), rsv2: true, rsv3: true, session: 123_456 }),
    record({ opcode: 1, payload: Buffer.from('é'.repeat(300)) }),
  ];
  for (const color of [false, true]) {
    const batch = new EntryBatch(Buffer.alloc(64 * 1024));
    for (const r of records) assert.equal(batch.frame(r, 320), true);
    batch.line('a line of its own ✓');
    assert.equal(batch.count, records.length + 1);
    const back: string[] = [];
    readEntries(
      batch.buffer,
      batch.length,
      (f, start, end) => {
        const out = new LineBytes(256);
        writeFrameLine(out, f, { color }, 80, start, end);
        back.push(out.toString());
      },
      (bytes) => back.push(Buffer.from(bytes).toString()),
    );
    assert.deepEqual(back, [...records.map((r) => formatFrameLine(r, { color }, 80)), 'a line of its own ✓']);
  }
});

test('a full batch refuses an entry instead of overrunning', () => {
  const batch = new EntryBatch(Buffer.alloc(100));
  assert.equal(batch.frame(record({ opcode: 1, payload: Buffer.from('x'.repeat(60)) }), 320), true);
  assert.equal(batch.frame(record({ opcode: 1, payload: Buffer.from('x'.repeat(60)) }), 320), false);
  assert.equal(batch.line('y'.repeat(40)), false);
  assert.equal(batch.count, 1);
});

// A peer frame's preview may still lie in the relay's slab when its record is made: the printer
// copies it from there (a word at a time, or in one copy when long). 200 previews of 1 to 256
// bytes in one chunk outgrow one 8 KiB slab, so the first frames' bytes are in a slab already
// used up when their records go out.
test('previews copied from the slab print what the frames carried, across a slab that filled up', () => {
  const bus = new EventEmitter<ProxyEvents>();
  const records: FrameRecord[] = [];
  subscribe(bus, { frame: (f) => records.push(f), message: () => undefined }, { previewBytes: 320, eventfulMessages: true });
  const pipe = new DirectionPipe('client', testPipeHost(bus), null);
  const texts = Array.from({ length: 200 }, (_, i) => `#${i} ${'the quick "brown" fox \\ jumps '.repeat(9)}`.slice(0, 1 + ((i * 37) % 256)));
  pipe.push(Buffer.concat([...texts.map((t) => buildFrame({ opcode: Opcode.Text, payload: Buffer.from(t), maskKey: KEY_A })), buildFrame({ opcode: Opcode.Ping, payload: Buffer.from('ping!'), maskKey: KEY_A })]));
  assert.equal(records.length, 201);
  const batch = new EntryBatch(Buffer.alloc(64 * 1024));
  for (const r of records) assert.equal(batch.frame(r, 320), true);
  const back: string[] = [];
  readEntries(
    batch.buffer,
    batch.length,
    (f, start, end, view) => {
      const out = new LineBytes(256);
      writeFrameLine(out, f, { color: false }, 80, start, end, view);
      back.push(out.toString());
    },
    () => assert.fail('no lines'),
  );
  // Each record's own payload (made when asked for) holds the frame's bytes, and the lines agree.
  records.forEach((r, i) => assert.equal(Buffer.from(r.payload).toString(), i < 200 ? texts[i] : 'ping!'));
  assert.deepEqual(back, records.map((r) => formatFrameLine(r, { color: false }, 80)));
});
