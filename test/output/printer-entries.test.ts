import { test } from 'node:test';
import assert from 'node:assert/strict';
import { frameKind } from '../../src/protocol/constants.js';
import type { FrameRecord } from '../../src/proxy/events.js';
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
