/**
 * The printer encodes lines straight into bytes. These check the byte encoder against plain
 * string formatting: the same text, byte for byte.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { LineBytes } from '../../src/output/line-bytes.js';
import { arrow, describeClose, flags, formatTime, kindLabel, paint, preview, sideColor, writeFrameLine } from '../../src/output/format.js';
import type { FrameRecord } from '../../src/proxy/events.js';
import type { FrameKind } from '../../src/protocol/constants.js';

const KINDS: FrameKind[] = ['continuation', 'text', 'binary', 'close', 'ping', 'pong', 'reserved'];

/** The frame line spelled as one template string: the reference the byte encoder must match. */
function referenceLine(f: FrameRecord, color: boolean, chars: number): string {
  const style = { color };
  const origin = f.origin === 'peer' ? '' : ' ' + paint(style, 'yellow', f.origin === 'injected' ? '[injected]' : '[modified]');
  const comp = f.compressed ? ' ' + paint(style, 'dim', '[deflate]') : '';
  const bad = f.violations.length > 0 ? ' ' + paint(style, 'red', `⚠ ${f.violations.map((v) => v.code).join(',')}`) : '';
  const body = f.kind === 'close' && f.close !== null ? describeClose(f.close.code, f.close.reason) : preview(f.payload, f.kind, f.truncated, chars);
  const dir = paint(style, sideColor(f.from), arrow(f.from));
  return `${paint(style, 'dim', formatTime(f.time))} #${f.session} ${dir} ${kindLabel(f).padEnd(12)} ${flags(f)} ${String(f.length).padStart(7)}${origin}${comp}${bad} ${body}`;
}

describe('LineBytes', () => {
  test('integers match String(n) padded, for any safe integer and width', () => {
    fc.assert(
      fc.property(fc.oneof(fc.nat(), fc.maxSafeNat(), fc.constantFrom(0, 9, 10, 99, 100, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 10 ** 15)), fc.nat({ max: 20 }), fc.boolean(), (n, width, zeros) => {
        const out = new LineBytes(4);
        out.int(n, width, zeros ? 0x30 : 0x20);
        assert.equal(out.toString(), String(n).padStart(width, zeros ? '0' : ' '));
      }),
      { numRuns: 2000 },
    );
  });

  test('grows past its first size and hands back what was written', () => {
    const out = new LineBytes(8);
    out.ascii('abc').text('→é').bytes(Buffer.from('0123456789'.repeat(20))).spaces(3).byte(0x21).newline();
    const want = 'abc→é' + '0123456789'.repeat(20) + '   !\n';
    assert.equal(out.toString(), want);
    assert.equal(out.take().toString(), want);
    assert.equal(out.length, 0);
    out.ascii('next');
    assert.equal(out.take().toString(), 'next', 'the buffer goes on after a take');
  });

  test('a short take is a copy, so the next line cannot change it', () => {
    const out = new LineBytes(1024);
    out.ascii('first');
    const taken = out.take();
    out.ascii('XXXXX');
    assert.equal(taken.toString(), 'first');
  });

  test('quotedAscii escapes quotes and backslashes, stops before an escape would be cut, and refuses anything else, writing nothing', () => {
    const out = new LineBytes(4);
    const q = (text: string, max: number): number => {
      const b = Buffer.from(text);
      return out.quotedAscii(b, 0, b.length, max);
    };
    assert.equal(q('{"a":1}', 80), 7);
    assert.equal(q('a\\b', 80), 3);
    assert.equal(q('tab\there', 80), -1);
    assert.equal(q('é', 80), -1);
    assert.equal(q('xy"z', 3), 2, 'the escape of the quote does not fit in 3');
    assert.equal(q('"""', 5), 2, 'past half the room the cut is checked');
    // A range of a larger buffer: the bytes around it are not read.
    assert.equal(out.quotedAscii(Buffer.from('\x01ok\x01'), 1, 3, 80), 2);
    assert.equal(out.toString(), '{\\"a\\":1}a\\\\bxy\\"\\"ok');
  });
});

test('quotedAscii reading words through a DataView writes what it writes byte by byte', () => {
  // Bytes near every class boundary: controls, space, quote, backslash, tilde, DEL, high bytes.
  const byte = fc.constantFrom(0x00, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x41, 0x5b, 0x5c, 0x5d, 0x7e, 0x7f, 0x80, 0xc3, 0xff);
  fc.assert(
    fc.property(fc.array(fc.oneof(byte, fc.integer({ min: 0x20, max: 0x7e })), { maxLength: 120 }), fc.nat({ max: 7 }), fc.integer({ min: 4, max: 200 }), (bytes, shift, max) => {
      const b = Buffer.alloc(bytes.length + 8);
      Buffer.from(bytes).copy(b, shift);
      const view = new DataView(b.buffer, b.byteOffset, b.length);
      const plain = new LineBytes(16);
      const words = new LineBytes(16);
      plain.ascii('>');
      words.ascii('>');
      const n = plain.quotedAscii(b, shift, shift + bytes.length, max);
      assert.equal(words.quotedAscii(b, shift, shift + bytes.length, max, view), n);
      assert.deepEqual(words.written(), plain.written());
    }),
    { numRuns: 2000 },
  );
});

describe('frame lines as bytes', () => {
  const violation = { code: 'reserved-opcode' as const, closeCode: 1002 as const, fatal: false, rfc: 'RFC 6455 §5.2', message: 'x' };
  const record = fc.record({
    session: fc.nat({ max: 100_000 }),
    time: fc.integer({ min: 0, max: 4_102_444_800_000 }),
    from: fc.constantFrom('client' as const, 'server' as const),
    fin: fc.boolean(),
    rsv1: fc.boolean(),
    rsv2: fc.boolean(),
    rsv3: fc.boolean(),
    opcode: fc.integer({ min: 0, max: 15 }),
    kind: fc.constantFrom(...KINDS),
    length: fc.maxSafeNat(),
    payload: fc.oneof(
      fc.uint8Array({ maxLength: 200 }),
      fc.string({ maxLength: 200 }).map((s) => Buffer.from(s)),
      fc.stringMatching(/^[ -~]{0,200}$/).map((s) => Buffer.from(s)),
      // JSON: quotes (escaped in a quoted preview) everywhere, and backslashes.
      fc.json({ maxDepth: 2 }).map((s) => Buffer.from(s)),
      fc.stringMatching(/^["\\a-z]{0,200}$/).map((s) => Buffer.from(s)),
    ),
    truncated: fc.boolean(),
    compressed: fc.boolean(),
    close: fc.option(fc.record({ code: fc.option(fc.integer({ min: 0, max: 65535 })), reason: fc.string({ maxLength: 20 }) })),
    bad: fc.boolean(),
    origin: fc.constantFrom('peer' as const, 'modified' as const, 'injected' as const),
  });

  test('writeFrameLine writes exactly the reference line, in and out of colour', () => {
    fc.assert(
      fc.property(record, fc.boolean(), fc.integer({ min: 1, max: 120 }), (r, color, chars) => {
        const f: FrameRecord = {
          id: 1, session: r.session, time: r.time, from: r.from, fin: r.fin, rsv1: r.rsv1, rsv2: r.rsv2, rsv3: r.rsv3, opcode: r.opcode, kind: r.kind,
          masked: false, maskKey: null, length: r.length, header: new Uint8Array(2), headerLength: 2, payload: r.payload, truncated: r.truncated, compressed: r.compressed,
          close: r.close, violations: r.bad ? [violation] : [], origin: r.origin,
        };
        const out = new LineBytes(16);
        writeFrameLine(out, f, { color }, chars);
        assert.equal(out.toString(), referenceLine(f, color, chars));
      }),
      { numRuns: 3000 },
    );
  });
});

test('lines written one after another, their heads often the same as the line before, each match the reference', () => {
  // Each line takes its head (time, session, direction, kind, flags, colour) from a set of one to
  // three, so that it is often its predecessor's, and its length from a few: often the same, and
  // sometimes the length alone differs (the compressed messages of one read).
  const head = fc.record({
    time: fc.constantFrom(1_000, 1_001),
    session: fc.constantFrom(1, 2),
    from: fc.constantFrom('client' as const, 'server' as const),
    opcode: fc.constantFrom(1, 2, 3, 4, 9, 11),
    fin: fc.boolean(),
    rsv1: fc.boolean(),
    color: fc.boolean(),
  });
  const line = fc.record({
    head: fc.nat({ max: 2 }),
    // Lengths of one, seven and nine digits: the cached head's size changes with the length.
    length: fc.constantFrom(5, 6, 1_234_567, 123_456_789),
    compressed: fc.boolean(),
    origin: fc.constantFrom('peer' as const, 'modified' as const, 'injected' as const),
  });
  const kindOf = (op: number): FrameKind => (op === 1 ? 'text' : op === 2 ? 'binary' : op === 9 ? 'ping' : op === 11 ? 'reserved' : 'reserved');
  fc.assert(
    fc.property(fc.array(head, { minLength: 1, maxLength: 3 }), fc.array(line, { minLength: 2, maxLength: 40 }), (heads, lines) => {
      const out = new LineBytes(16);
      for (const l of lines) {
        const h = heads[l.head % heads.length]!;
        const f: FrameRecord = {
          id: 1, session: h.session, time: h.time, from: h.from, fin: h.fin, rsv1: h.rsv1, rsv2: false, rsv3: false, opcode: h.opcode, kind: kindOf(h.opcode),
          masked: false, maskKey: null, length: l.length, header: new Uint8Array(2), headerLength: 2, payload: Buffer.from('hi'), truncated: false, compressed: l.compressed,
          close: null, violations: [], origin: l.origin,
        };
        out.truncate(0);
        writeFrameLine(out, f, { color: h.color }, 80);
        assert.equal(out.toString(), referenceLine(f, h.color, 80));
      }
    }),
    { numRuns: 1000 },
  );
});
