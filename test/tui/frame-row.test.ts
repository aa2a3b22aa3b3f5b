/**
 * The TUI ring's storage: a small frame kept as plain fields and slab bytes reads back as the
 * record it came from (every field, on random records); other frames keep their record; the
 * ring's deque keeps positions across wrap-around and growth; and frames are found by id.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FrameRow, FrameSlabs, SMALL_PAYLOAD } from '../../src/tui/frame-row.js';
import { Deque } from '../../src/tui/deque.js';
import { TuiStore } from '../../src/tui/store.js';
import { encodeHeader } from '../../src/protocol/frame-header.js';
import { frameKind } from '../../src/protocol/constants.js';
import { violation } from '../../src/protocol/violations.js';
import type { FrameRecord } from '../../src/proxy/events.js';

const record = fc
  .record({
    id: fc.nat(),
    session: fc.nat(1000),
    time: fc.nat(),
    from: fc.constantFrom('client' as const, 'server' as const),
    fin: fc.boolean(),
    rsv1: fc.boolean(),
    rsv2: fc.boolean(),
    rsv3: fc.boolean(),
    opcode: fc.integer({ min: 0, max: 15 }),
    masked: fc.boolean(),
    key: fc.uint8Array({ minLength: 4, maxLength: 4 }),
    payload: fc.oneof(fc.uint8Array({ maxLength: 80 }), fc.nat(3000).map((n) => new Uint8Array(n).fill(7))),
    extra: fc.nat(100),
    truncated: fc.boolean(),
    compressed: fc.boolean(),
    origin: fc.constantFrom('peer' as const, 'modified' as const, 'injected' as const),
  })
  .map((r): FrameRecord => {
    const maskKey = r.masked ? r.key : null;
    const length = r.payload.length + (r.truncated ? r.extra : 0);
    return {
      id: r.id, session: r.session, time: r.time, from: r.from, fin: r.fin, rsv1: r.rsv1, rsv2: r.rsv2, rsv3: r.rsv3,
      opcode: r.opcode, kind: frameKind(r.opcode), masked: r.masked, maskKey, length,
      header: encodeHeader({ fin: r.fin, rsv1: r.rsv1, rsv2: r.rsv2, rsv3: r.rsv3, opcode: r.opcode, maskKey, payloadLength: length }),
      payload: Buffer.from(r.payload), truncated: r.truncated, compressed: r.compressed, close: null, violations: [], origin: r.origin,
    };
  });

/** A record's fields as plain values, bytes as arrays. */
function plain(r: FrameRecord): unknown {
  return { ...r, maskKey: r.maskKey === null ? null : [...r.maskKey], header: [...r.header], payload: [...r.payload], violations: r.violations.map((v) => v.code) };
}

describe('FrameRow', () => {
  it('reads back every field of the record, cut to the cap', () => {
    const slabs = new FrameSlabs();
    fc.assert(
      fc.property(record, fc.oneof(fc.constant(64 * 1024), fc.nat(100)), (r, cap) => {
        const row = new FrameRow(1, r, null, cap, slabs);
        assert.equal(row.kept, r.payload.length > SMALL_PAYLOAD);
        const cut = r.payload.length > cap;
        const expected = { ...r, payload: r.payload.subarray(0, cap), truncated: r.truncated || cut };
        assert.deepEqual(plain(row.record), plain(expected));
        assert.equal(row.payloadLength, Math.min(cap, r.payload.length));
        assert.deepEqual([row.id, row.session, row.time, row.length, row.type], [r.id, r.session, r.time, r.length, 'frame']);
      }),
      { numRuns: 2000 },
    );
  });

  it('keeps a copy: the bytes the relay reuses afterwards do not change the row', () => {
    const slabs = new FrameSlabs();
    const payload = Buffer.from('hello');
    const key = Uint8Array.of(1, 2, 3, 4);
    const r: FrameRecord = { id: 1, session: 1, time: 5, from: 'client', fin: true, rsv1: false, rsv2: false, rsv3: false, opcode: 1, kind: 'text', masked: true, maskKey: key, length: 5, header: encodeHeader({ fin: true, opcode: 1, maskKey: key, payloadLength: 5 }), payload, truncated: false, compressed: false, close: null, violations: [], origin: 'peer' };
    const row = new FrameRow(1, r, 'text', 1024, slabs);
    payload.fill(0);
    key.fill(0);
    assert.equal(Buffer.from(row.record.payload).toString(), 'hello');
    assert.deepEqual([...row.record.maskKey!], [1, 2, 3, 4]);
    assert.ok(!row.kept);
    // Fills many slabs: rows keep their own.
    const rows = Array.from({ length: 5000 }, (_, i) => new FrameRow(i, { ...r, id: i, payload: Buffer.alloc(100, i & 0xff) }, 'text', 1024, slabs));
    for (const [i, x] of rows.entries()) assert.ok(x.record.payload.every((b) => b === (i & 0xff)));
  });

  it('keeps close frames, frames with violations and a mask key that is not the header’s as records', () => {
    const slabs = new FrameSlabs();
    const base: FrameRecord = { id: 1, session: 1, time: 5, from: 'server', fin: true, rsv1: false, rsv2: false, rsv3: false, opcode: 8, kind: 'close', masked: false, maskKey: null, length: 2, header: Uint8Array.of(0x88, 2), payload: Uint8Array.of(3, 0xe8), truncated: false, compressed: false, close: { code: 1000, reason: '' }, violations: [], origin: 'peer' };
    const close = new FrameRow(1, base, null, 1024, slabs);
    assert.ok(close.kept);
    assert.deepEqual(close.record.close, { code: 1000, reason: '' });
    const bad = new FrameRow(2, { ...base, opcode: 1, kind: 'text', close: null, violations: [violation('masked-server-frame')] }, null, 1024, slabs);
    assert.ok(bad.kept);
    assert.equal(bad.record.violations[0]!.code, 'masked-server-frame');
    const odd = new FrameRow(3, { ...base, opcode: 1, kind: 'text', close: null, masked: true, maskKey: Uint8Array.of(9, 9, 9, 9), header: Uint8Array.of(0x81, 0x82, 1, 2, 3, 4) }, null, 1024, slabs);
    assert.ok(odd.kept);
    assert.deepEqual([...odd.record.maskKey!], [9, 9, 9, 9]);
  });
});

describe('Deque', () => {
  it('keeps absolute positions across wrap-around and growth, like an array shifted from the front', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constant('push' as const), fc.constant('shift' as const)), { maxLength: 400 }), (ops) => {
        const d = new Deque<number>();
        const model: number[] = [];
        let start = 0;
        let next = 0;
        for (const op of ops) {
          if (op === 'push') {
            assert.equal(d.push(next), start + model.length);
            model.push(next++);
          } else if (model.length > 0) {
            assert.equal(d.shift(), model.shift());
            start++;
          } else assert.equal(d.shift(), undefined);
        }
        assert.deepEqual([d.start, d.end, d.length], [start, start + model.length, model.length]);
        assert.deepEqual([...d], model);
        assert.deepEqual(d.slice(start - 3, start + model.length + 3), model);
        assert.deepEqual(d.slice(start + 1, start + 3), model.slice(1, 3));
        for (let i = -2; i < model.length + 2; i++) assert.equal(d.at(start + i), model[i]);
        assert.equal(d.first(), model[0]);
        assert.equal(d.last(), model[model.length - 1]);
        for (const v of [-1, 0, next >> 1, next]) assert.equal(d.lowerBound((x) => x >= v), start + model.filter((x) => x < v).length);
      }),
      { numRuns: 500 },
    );
  });
});

describe('TuiStore frame lookup', () => {
  it('finds frames by id while they are in the ring, and not after they left it', () => {
    const store = new TuiStore({ history: 50, maxPreview: 1024 });
    const slabsRecord = (id: number): FrameRecord => ({ id, session: 1, time: id, from: 'server', fin: true, rsv1: false, rsv2: false, rsv3: false, opcode: 1, kind: 'text', masked: false, maskKey: null, length: 1, header: Uint8Array.of(0x81, 1), payload: Buffer.from('x'), truncated: false, compressed: false, close: null, violations: [], origin: 'peer' });
    for (let id = 1; id <= 100; id++) store.addFrame(slabsRecord(id * 2));
    assert.equal(store.frame(200)?.id, 200);
    assert.equal(store.frame(102)?.id, 102);
    assert.equal(store.frame(100), undefined, 'evicted');
    assert.equal(store.frame(101), undefined, 'never seen');
    // A violation about a frame in the ring is shown on its row; one about a frame gone gets a row.
    const rows = store.size;
    store.addViolation({ session: 1, time: 1, from: 'server', violation: violation('invalid-utf8'), frame: 150 });
    assert.equal(store.size, rows);
    store.addViolation({ session: 1, time: 1, from: 'server', violation: violation('invalid-utf8'), frame: 10 });
    assert.equal(store.view.last()?.type, 'violation');
  });
});
