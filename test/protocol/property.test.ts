/**
 * Properties checked on random inputs (fast-check): encode → split anywhere → parse is the
 * identity; masking matches the naive §5.3 loop; the UTF-8 validator agrees with TextDecoder.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  Opcode,
  Utf8Validator,
  encodeFrameBuffer,
  maskInto,
  masked,
  rekey,
  unmaskWords,
  type MessageContext,
} from '../../src/protocol/index.js';
import { parseBytes, parseChunks, patternBytes, splitAt, xorMask } from '../helpers/frames.js';

/** Payload lengths biased to the edges of the three length encodings. */
const dataLength = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(0, 1, 125, 126, 127, 65535, 65536) },
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 300 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 70000 }) },
);
const controlLength = fc.oneof(fc.constantFrom(0, 1, 124, 125), fc.integer({ min: 0, max: 125 }));
const maskKey = fc.uint8Array({ minLength: 4, maxLength: 4 });

interface Spec {
  readonly fin: boolean;
  readonly rsv1: boolean;
  readonly opcode: number;
  readonly payload: Buffer;
  readonly maskKey: Uint8Array | null;
}

/** A control frame: FIN set, at most 125 bytes, no RSV1 (RFC 6455 §5.5, RFC 7692 §6.1). */
const control = fc.record({
  opcode: fc.constantFrom(Opcode.Ping, Opcode.Pong),
  length: controlLength,
  seed: fc.integer(),
});

/** A data message of 1..4 fragments, each possibly followed by control frames. */
const message = fc.record({
  opcode: fc.constantFrom(Opcode.Text, Opcode.Binary),
  compressed: fc.boolean(),
  fragments: fc.array(fc.record({ length: dataLength, seed: fc.integer(), controls: fc.array(control, { maxLength: 2 }) }), {
    minLength: 1,
    maxLength: 4,
  }),
});

const conversation = fc.record({
  from: fc.constantFrom('client' as const, 'server' as const),
  rsv1Allowed: fc.boolean(),
  messages: fc.array(message, { maxLength: 4 }),
  close: fc.option(fc.record({ length: controlLength, seed: fc.integer() })),
  keys: fc.array(maskKey, { minLength: 1, maxLength: 4 }),
  cuts: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 6 }),
});

type Conversation = typeof conversation extends fc.Arbitrary<infer T> ? T : never;

/** The frames of a conversation, and the message context the parser should report for each. */
function framesOf(c: Conversation): { specs: Spec[]; contexts: (MessageContext | null)[] } {
  const specs: Spec[] = [];
  const contexts: (MessageContext | null)[] = [];
  let k = 0;
  const key = (): Uint8Array | null => (c.from === 'client' ? c.keys[k++ % c.keys.length]! : null);
  for (const m of c.messages) {
    const compressed = m.compressed && c.rsv1Allowed;
    for (const [i, f] of m.fragments.entries()) {
      specs.push({
        fin: i === m.fragments.length - 1,
        rsv1: i === 0 && compressed,
        opcode: i === 0 ? m.opcode : Opcode.Continuation,
        payload: patternBytes(f.length, f.seed),
        maskKey: key(),
      });
      contexts.push({ opcode: m.opcode, compressed, first: i === 0 });
      for (const ctl of f.controls) {
        specs.push({ fin: true, rsv1: false, opcode: ctl.opcode, payload: patternBytes(ctl.length, ctl.seed), maskKey: key() });
        contexts.push(null);
      }
    }
  }
  if (c.close !== null) {
    specs.push({ fin: true, rsv1: false, opcode: Opcode.Close, payload: patternBytes(c.close.length, c.close.seed), maskKey: key() });
    contexts.push(null);
  }
  return { specs, contexts };
}

describe('encode, split, parse', () => {
  test('random valid conversations round-trip through encodeFrame and the parser, however split', () => {
    fc.assert(
      fc.property(conversation, (c) => {
        const { specs, contexts } = framesOf(c);
        const bytes = Buffer.concat(specs.map((s) => encodeFrameBuffer(s)));
        const cuts = c.cuts.map((x) => Math.floor(x * bytes.length));
        const result = parseChunks(splitAt(bytes, cuts), { from: c.from, rsv1Allowed: c.rsv1Allowed });
        assert.equal(result.failed, false);
        assert.deepEqual(result.violations, []);
        assert.equal(result.frames.length, specs.length);
        for (const [i, s] of specs.entries()) {
          const f = result.frames[i]!;
          assert.deepEqual(
            {
              fin: f.fin,
              rsv1: f.rsv1,
              rsv2: f.rsv2,
              rsv3: f.rsv3,
              opcode: f.opcode,
              maskKey: f.maskKey,
              payloadLength: f.payloadLength,
              violations: f.violations,
              message: f.message,
              complete: f.complete,
            },
            {
              fin: s.fin,
              rsv1: s.rsv1,
              rsv2: false,
              rsv3: false,
              opcode: s.opcode,
              maskKey: s.maskKey === null ? null : Buffer.from(s.maskKey).toString('hex'),
              payloadLength: s.payload.length,
              violations: [],
              message: contexts[i],
              complete: true,
            },
          );
          assert.ok(f.payload.equals(s.payload), `payload of frame ${i}`);
        }
      }),
      { numRuns: 150 },
    );
  });

  test('arbitrary frames (any opcode, RSV bits, mask, FIN) parse the same whole and split', () => {
    const anyFrame = fc.record({
      fin: fc.boolean(),
      rsv1: fc.boolean(),
      rsv2: fc.boolean(),
      rsv3: fc.boolean(),
      opcode: fc.integer({ min: 0, max: 15 }),
      length: fc.oneof(fc.constantFrom(0, 125, 126, 127, 200), fc.integer({ min: 0, max: 400 })),
      seed: fc.integer(),
      maskKey: fc.option(maskKey),
    });
    fc.assert(
      fc.property(
        fc.array(anyFrame, { minLength: 1, maxLength: 8 }),
        fc.constantFrom('client' as const, 'server' as const),
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 8 }),
        (frames, from, rsv1Allowed, cutSeeds) => {
          const bytes = Buffer.concat(
            frames.map((f) => encodeFrameBuffer({ ...f, payload: patternBytes(f.length, f.seed) })),
          );
          const options = { from, rsv1Allowed };
          const whole = parseBytes(bytes, options);
          const split = parseChunks(
            splitAt(
              bytes,
              cutSeeds.map((s) => s % (bytes.length + 1)),
            ),
            options,
          );
          assert.deepEqual(split, whole);
          // Peer mistakes never stop framing: every frame comes out, payload intact.
          assert.equal(whole.frames.length, frames.length);
          for (const [i, f] of frames.entries()) {
            assert.ok(whole.frames[i]!.payload.equals(patternBytes(f.length, f.seed)));
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('masking', () => {
  /** A view of `length` bytes at byte offset `shift` of a fresh buffer, to vary alignment. */
  function viewAt(bytes: Uint8Array, shift: number): Uint8Array {
    const backing = new Uint8Array(bytes.length + 8);
    backing.set(bytes, shift);
    return backing.subarray(shift, shift + bytes.length);
  }

  test('maskInto at any payload offset and alignment equals the naive byte loop', () => {
    fc.assert(
      fc.property(
        // Past 256 bytes maskInto switches from bytes to 32-bit words: lengths cover both.
        fc.uint8Array({ maxLength: 600 }),
        maskKey,
        fc.nat({ max: 1_000_000 }),
        fc.integer({ min: 0, max: 7 }),
        fc.integer({ min: 0, max: 7 }),
        (data, key, offset, srcShift, dstShift) => {
          const want = xorMask(data, key, offset);
          const src = viewAt(data, srcShift);
          const dst = viewAt(new Uint8Array(data.length), dstShift);
          maskInto(src, key, offset, dst);
          assert.deepEqual(Buffer.from(dst), want);
          assert.deepEqual(Buffer.from(src), Buffer.from(data), 'src untouched');
          // In place (dst === src).
          maskInto(src, key, offset, src);
          assert.deepEqual(Buffer.from(src), want);
          assert.deepEqual(masked(data, key, offset), want);
        },
      ),
      { numRuns: 500 },
    );
  });

  test('a payload masked piecewise at its offsets equals it masked whole', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 600 }), maskKey, fc.array(fc.nat(), { maxLength: 5 }), (data, key, cutSeeds) => {
        const pieces = splitAt(
          data,
          cutSeeds.map((s) => s % data.length),
        );
        let offset = 0;
        const out: Buffer[] = [];
        for (const p of pieces) {
          out.push(masked(p, key, offset));
          offset += p.length;
        }
        assert.deepEqual(Buffer.concat(out), xorMask(data, key));
      }),
      { numRuns: 300 },
    );
  });

  test('unmaskWords over DataViews equals the byte loop at any range, offset and alignment, in place too, and tells ASCII', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 300 }).map((a) => a.map((b) => b & 0x7f))),
        maskKey,
        fc.nat({ max: 1_000_000 }),
        fc.integer({ min: 0, max: 7 }),
        fc.integer({ min: 0, max: 7 }),
        (data, key, offset, srcShift, dstShift) => {
          const word = ((key[0]! << 24) | (key[1]! << 16) | (key[2]! << 8) | key[3]!) >>> 0;
          const src = viewAt(data, srcShift);
          const srcView = new DataView(src.buffer, src.byteOffset - srcShift, src.length + srcShift);
          const dst = new Uint8Array(data.length + dstShift);
          const ascii = unmaskWords(srcView, srcShift, srcShift + data.length, word, offset, new DataView(dst.buffer), dstShift);
          const want = xorMask(data, key, offset);
          assert.deepEqual(Buffer.from(dst.subarray(dstShift)), want);
          assert.equal(ascii, want.every((b) => b < 0x80));
          assert.deepEqual(Buffer.from(src), Buffer.from(data), 'src untouched');
          unmaskWords(srcView, srcShift, srcShift + data.length, word, offset, srcView, srcShift);
          assert.deepEqual(Buffer.from(src), want, 'in place');
          // Word 0 copies.
          const copy = new Uint8Array(data.length);
          unmaskWords(new DataView(data.buffer, data.byteOffset, data.length), 0, data.length, 0, offset, new DataView(copy.buffer), 0);
          assert.deepEqual(copy, data);
        },
      ),
      { numRuns: 500 },
    );
  });

  test('rekey(old, new) turns data masked with old into data masked with new', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), maskKey, maskKey, fc.nat({ max: 1000 }), (data, oldKey, newKey, offset) => {
        const withOld = xorMask(data, oldKey, offset);
        const rekeyed = masked(withOld, rekey(oldKey, newKey), offset);
        assert.deepEqual(rekeyed, xorMask(data, newKey, offset));
      }),
      { numRuns: 300 },
    );
  });
});

describe('Utf8Validator', () => {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  function decodes(bytes: Uint8Array): boolean {
    try {
      decoder.decode(bytes);
      return true;
    } catch {
      return false;
    }
  }

  /** Pushes the bytes in pieces; returns every push result and the end() result. */
  function validate(bytes: Uint8Array, cutSeeds: readonly number[]): { pushes: boolean[]; end: boolean } {
    const v = new Utf8Validator();
    const pushes = splitAt(
      bytes,
      cutSeeds.map((s) => s % (bytes.length + 1)),
    ).map((piece) => v.push(piece));
    return { pushes, end: v.end() };
  }

  /** Bytes that sit on the edges of UTF-8: leads, continuation ranges, forbidden bytes. */
  const edgyByte = fc.constantFrom(
    0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xed, 0xee, 0xef, 0xf0,
    0xf1, 0xf4, 0xf5, 0xf7, 0xf8, 0xff,
  );
  const utf8Ish = fc.oneof(
    fc.uint8Array({ maxLength: 40 }),
    fc.array(edgyByte, { maxLength: 24 }).map((a) => Uint8Array.from(a)),
    // Valid text with a byte flipped, dropped or duplicated.
    fc.tuple(fc.string({ unit: 'binary', maxLength: 12 }), fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'drop', 'dup')).map(
      ([s, at, byte, op]) => {
        const b = [...Buffer.from(s, 'utf8')];
        if (b.length === 0) return Uint8Array.of(byte);
        const i = at % b.length;
        if (op === 'set') b[i] = byte;
        else if (op === 'drop') b.splice(i, 1);
        else b.splice(i, 0, b[i]!);
        return Uint8Array.from(b);
      },
    ),
  );

  test('agrees with a fatal TextDecoder on random bytes, however they are split', () => {
    fc.assert(
      fc.property(utf8Ish, fc.array(fc.nat(), { maxLength: 6 }), (bytes, cuts) => {
        const expected = decodes(bytes);
        const { pushes, end } = validate(bytes, cuts);
        assert.equal(end, expected);
        // A push only says false once the text is really invalid, and then it stays false.
        if (expected) assert.ok(pushes.every((p) => p));
        const firstFalse = pushes.indexOf(false);
        if (firstFalse !== -1) assert.ok(pushes.slice(firstFalse).every((p) => !p));
      }),
      { numRuns: 2000 },
    );
  });

  test('accepts any valid string (including 4-byte emoji) however it is split', () => {
    const withEmoji = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 30 }),
      fc.array(fc.constantFrom('😀', '👍🏽', '🇫🇷', '𝄞', 'é', '€', 'a', '\u0000', '\uffff', '\u{10ffff}'), { maxLength: 12 }).map((a) => a.join('')),
    );
    fc.assert(
      fc.property(withEmoji, fc.array(fc.nat(), { maxLength: 8 }), (s, cuts) => {
        const bytes = Buffer.from(s, 'utf8');
        assert.ok(decodes(bytes));
        const { pushes, end } = validate(bytes, cuts);
        assert.ok(pushes.every((p) => p));
        assert.equal(end, true);
      }),
      { numRuns: 500 },
    );
  });

  test('a validator is reusable after end(): each message is judged alone', () => {
    fc.assert(
      fc.property(fc.array(utf8Ish, { minLength: 1, maxLength: 4 }), (messages) => {
        const v = new Utf8Validator();
        for (const m of messages) {
          for (let i = 0; i < m.length; i++) v.push(m.subarray(i, i + 1));
          assert.equal(v.end(), decodes(m));
          assert.equal(v.valid, true, 'reset after end()');
        }
      }),
      { numRuns: 300 },
    );
  });
});
