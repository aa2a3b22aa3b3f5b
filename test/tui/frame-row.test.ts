/**
 * The TUI ring's storage: a small frame kept as plain fields and slab bytes reads back as the
 * record it came from (every field, on random records); other frames keep their record; the
 * ring's deque keeps positions across wrap-around and growth; and frames are found by id.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FrameTable, SMALL_PAYLOAD } from '../../src/tui/frame-row.js';
import { Deque } from '../../src/tui/deque.js';
import { TuiStore } from '../../src/tui/store.js';
import { MATCH_ALL, parseFilter } from '../../src/tui/filter.js';
import { encodeHeader, headerLength } from '../../src/protocol/frame-header.js';
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
      headerLength: headerLength(length, maskKey !== null),
      payload: Buffer.from(r.payload), truncated: r.truncated, compressed: r.compressed, close: null, violations: [], origin: r.origin,
    };
  });

/** A record's fields as plain values, bytes as arrays. */
function plain(r: FrameRecord): unknown {
  return { ...r, maskKey: r.maskKey === null ? null : [...r.maskKey], header: [...r.header], payload: [...r.payload], violations: r.violations.map((v) => v.code) };
}

describe('FrameTable', () => {
  it('reads back every field of a small frame, cut to the cap; takes no other frame', () => {
    const table = new FrameTable(100);
    let seq = 0;
    fc.assert(
      fc.property(record, fc.oneof(fc.constant(64 * 1024), fc.nat(100)), fc.constantFrom('text' as const, 'binary' as const, null), (r, cap, messageKind) => {
        seq++;
        const kept = table.add(seq, r, messageKind, cap);
        assert.equal(kept, r.payload.length <= SMALL_PAYLOAD);
        if (!kept) return;
        const row = table.row(seq);
        const expected = { ...r, payload: r.payload.subarray(0, cap), truncated: r.truncated || r.payload.length > cap };
        assert.deepEqual(plain(row.record), plain(expected));
        assert.deepEqual([row.seq, row.id, row.session, row.type, row.messageKind, row.message, row.fault], [seq, r.id, r.session, 'frame', messageKind, null, undefined]);
        assert.equal(table.id(seq), r.id);
      }),
      { numRuns: 2000 },
    );
  });

  it('keeps copies in slabs and its slots across growth: every row held reads back its own bytes', () => {
    const table = new FrameTable(3000);
    const payload = Buffer.from('hello');
    const key = Uint8Array.of(1, 2, 3, 4);
    const r: FrameRecord = { id: 1, session: 1, time: 5, from: 'client', fin: true, rsv1: false, rsv2: false, rsv3: false, opcode: 1, kind: 'text', masked: true, maskKey: key, length: 5, header: encodeHeader({ fin: true, opcode: 1, maskKey: key, payloadLength: 5 }), headerLength: 6, payload, truncated: false, compressed: false, close: null, violations: [], origin: 'peer' };
    assert.ok(table.add(1, r, 'text', 1024));
    // The relay's buffers are reused afterwards: the row does not change.
    payload.fill(0);
    key.fill(0);
    assert.equal(Buffer.from(table.row(1).record.payload).toString(), 'hello');
    assert.deepEqual([...table.row(1).record.maskKey!], [1, 2, 3, 4]);
    // Many slabs, two growths, then a ring of 4096 slots going round: the last 3000 read back.
    for (let seq = 2; seq <= 20_000; seq++) assert.ok(table.add(seq, { ...r, id: seq, maskKey: Uint8Array.of(1, 2, 3, 4), payload: Buffer.alloc(seq % 1000, seq & 0xff), length: seq % 1000, headerLength: headerLength(seq % 1000, true) }, null, 1024));
    for (let seq = 17_001; seq <= 20_000; seq++) {
      const p = table.row(seq).record.payload;
      assert.equal(p.length, seq % 1000);
      assert.ok(p.every((b) => b === (seq & 0xff)));
      assert.equal(table.id(seq), seq);
    }
    assert.throws(() => table.row(1), /not held/);
  });

  it('leaves close frames, frames with violations, a length not in the minimal encoding and a key that does not match the mask bit to rows of their own', () => {
    const table = new FrameTable(10);
    const base: FrameRecord = { id: 1, session: 1, time: 5, from: 'server', fin: true, rsv1: false, rsv2: false, rsv3: false, opcode: 8, kind: 'close', masked: false, maskKey: null, length: 2, header: Uint8Array.of(0x88, 2), headerLength: 2, payload: Uint8Array.of(3, 0xe8), truncated: false, compressed: false, close: { code: 1000, reason: '' }, violations: [], origin: 'peer' };
    assert.equal(table.add(1, base, null, 1024), false);
    assert.equal(table.add(2, { ...base, opcode: 1, kind: 'text', close: null, violations: [violation('masked-server-frame')] }, null, 1024), false);
    // 2 bytes of payload announced in the 16-bit form (§5.2 violation, but kept apart even without one).
    assert.equal(table.add(3, { ...base, opcode: 1, kind: 'text', close: null, header: Uint8Array.of(0x81, 126, 0, 2), headerLength: 4 }, null, 1024), false);
    assert.equal(table.add(5, { ...base, opcode: 1, kind: 'text', close: null, masked: true, maskKey: null, header: Uint8Array.of(0x81, 0x82, 1, 2, 3, 4), headerLength: 6 }, null, 1024), false);
    assert.equal(table.add(4, { ...base, opcode: 1, kind: 'text', close: null }, null, 1024), true);
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
    const slabsRecord = (id: number): FrameRecord => ({ id, session: 1, time: id, from: 'server', fin: true, rsv1: false, rsv2: false, rsv3: false, opcode: 1, kind: 'text', masked: false, maskKey: null, length: 1, header: Uint8Array.of(0x81, 1), headerLength: 2, payload: Buffer.from('x'), truncated: false, compressed: false, close: null, violations: [], origin: 'peer' });
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

  it('attaches a fault and a fragmented message to small frame rows, in the ring and in a filtered view', () => {
    const store = new TuiStore({ history: 50, maxPreview: 1024 });
    const frame = (id: number, opcode: number, fin: boolean, text: string): FrameRecord => ({ id, session: 1, time: id, from: 'client', fin, rsv1: false, rsv2: false, rsv3: false, opcode, kind: frameKind(opcode), masked: true, maskKey: Uint8Array.of(1, 2, 3, 4), length: text.length, header: encodeHeader({ fin, opcode, maskKey: Uint8Array.of(1, 2, 3, 4), payloadLength: text.length }), headerLength: headerLength(text.length, true), payload: Buffer.from(text), truncated: false, compressed: false, close: null, violations: [], origin: 'peer' });
    const r = parseFilter('hel');
    assert.ok(r.ok);
    store.setFilter(r.filter);
    store.addFrame(frame(1, 1, false, 'hel'));
    store.addFrame(frame(2, 0, true, 'lo'));
    store.addMessage({ id: 3, session: 1, time: 3, from: 'client', kind: 'text', length: 5, payload: Buffer.from('hello'), truncated: false, frames: 2, compressed: false, fate: 'forwarded', by: null });
    store.addFault({ session: 1, time: 4, ruleId: 1, rule: 'client: delay 5ms', action: 'delay', from: 'client', frame: 1, message: 3, detail: 'held 5 ms' });
    const rows = [...store.view];
    const first = rows.find((x) => x.type === 'frame' && x.record.id === 1);
    assert.ok(first !== undefined && first.type === 'frame');
    assert.equal(first.fault, 'delay');
    assert.equal(Buffer.from(first.message!.payload).toString(), 'hello');
    // The row keeps them when read again, and so does the unfiltered ring.
    store.setFilter(MATCH_ALL);
    const again = [...store.view].filter((x) => x.type === 'frame');
    assert.deepEqual(again.map((x) => (x.type === 'frame' ? [x.record.id, x.fault ?? null, x.message?.frames ?? null, x.messageKind] : [])), [[1, 'delay', 2, 'text'], [2, null, 2, 'text']]);
  });
});
