/**
 * TCP delivers bytes in arbitrary pieces: however a stream is cut, the parser must see the same
 * frames, payloads and violations as when the stream arrives in one push.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameParser, Opcode } from '../../src/protocol/index.js';
import {
  KEY_A,
  KEY_B,
  KEY_RFC,
  buildFrame,
  bytewise,
  parseBytes,
  parseChunks,
  patternBytes,
  splitAt,
  type ParseOptions,
  type ParseResult,
} from '../helpers/frames.js';

interface Stream {
  readonly bytes: Buffer;
  /** Offsets where each frame starts, plus the end. */
  readonly boundaries: number[];
  /** Offsets where each frame's payload starts. */
  readonly payloadStarts: number[];
}

function stream(frames: Buffer[], headerLengths: number[]): Stream {
  const boundaries = [0];
  const payloadStarts: number[] = [];
  for (const [i, f] of frames.entries()) {
    payloadStarts.push(boundaries[i]! + headerLengths[i]!);
    boundaries.push(boundaries[i]! + f.length);
  }
  return { bytes: Buffer.concat(frames), boundaries, payloadStarts };
}

const CLOSE_BODY = Buffer.from([0x03, 0xe8, ...Buffer.from('bye')]);

/** About 300 bytes: masked and unmasked, 0/125/126-byte payloads, a fragmented message with a ping inside, close. */
const SMALL = stream(
  [
    buildFrame({ opcode: Opcode.Text, payload: '', maskKey: KEY_A }),
    buildFrame({ opcode: Opcode.Binary, payload: patternBytes(125, 7), maskKey: KEY_B }),
    buildFrame({ opcode: Opcode.Text, payload: 'Hel', maskKey: KEY_RFC, fin: false }),
    buildFrame({ opcode: Opcode.Ping, payload: 'p', maskKey: KEY_A }),
    buildFrame({ opcode: Opcode.Continuation, payload: 'lo', maskKey: KEY_B }),
    buildFrame({ opcode: Opcode.Binary, payload: patternBytes(126, 8) }), // unmasked: a violation from a client
    buildFrame({ opcode: Opcode.Close, payload: CLOSE_BODY, maskKey: KEY_RFC }),
  ],
  [6, 6, 6, 6, 6, 4, 6],
);

/** 0/125/126/65535/65536-byte payloads, masked and unmasked, with the same message structure. */
const BIG = stream(
  [
    buildFrame({ opcode: Opcode.Binary, payload: '', maskKey: KEY_A }),
    buildFrame({ opcode: Opcode.Text, payload: patternBytes(125, 1), maskKey: KEY_B }),
    buildFrame({ opcode: Opcode.Binary, payload: patternBytes(126, 2) }),
    buildFrame({ opcode: Opcode.Binary, payload: patternBytes(65535, 3), maskKey: KEY_RFC, fin: false }),
    buildFrame({ opcode: Opcode.Ping, payload: patternBytes(125, 4), maskKey: KEY_A }),
    buildFrame({ opcode: Opcode.Continuation, payload: patternBytes(65536, 5), maskKey: KEY_B }),
    buildFrame({ opcode: Opcode.Close, payload: CLOSE_BODY }),
  ],
  [6, 6, 4, 8, 6, 14, 2],
);

const CLIENT: ParseOptions = { from: 'client' };

function assertSame(got: ParseResult, want: ParseResult, label: string): void {
  assert.equal(got.frames.length, want.frames.length, `${label}: frame count`);
  for (const [i, f] of want.frames.entries()) {
    const g = got.frames[i]!;
    assert.deepEqual({ ...g, payload: null }, { ...f, payload: null }, `${label}: frame ${i}`);
    assert.ok(g.payload.equals(f.payload), `${label}: payload of frame ${i}`);
  }
  assert.deepEqual(got.violations, want.violations, `${label}: stream violations`);
  assert.equal(got.failed, want.failed, `${label}: failed`);
}

/** Offsets near every header/payload boundary of a stream (where a cut is interesting). */
function interestingOffsets(s: Stream): number[] {
  const out = new Set<number>();
  for (const b of [...s.boundaries, ...s.payloadStarts]) {
    for (let d = -16; d <= 16; d++) out.add(b + d);
  }
  return [...out].filter((o) => o >= 0 && o <= s.bytes.length).sort((a, b) => a - b);
}

describe('the reference parses (one push)', () => {
  test('the small stream parses to the frames it was built from', () => {
    const r = parseBytes(SMALL.bytes, CLIENT);
    assert.deepEqual(
      r.frames.map((f) => [f.opcode, f.fin, f.payloadLength, f.complete]),
      [
        [Opcode.Text, true, 0, true],
        [Opcode.Binary, true, 125, true],
        [Opcode.Text, false, 3, true],
        [Opcode.Ping, true, 1, true],
        [Opcode.Continuation, true, 2, true],
        [Opcode.Binary, true, 126, true],
        [Opcode.Close, true, 5, true],
      ],
    );
    assert.equal(Buffer.concat([r.frames[2]!.payload, r.frames[4]!.payload]).toString(), 'Hello');
    assert.ok(r.frames[1]!.payload.equals(patternBytes(125, 7)));
    assert.ok(r.frames[6]!.payload.equals(CLOSE_BODY));
    assert.deepEqual(
      r.frames.map((f) => f.violations),
      [[], [], [], [], [], ['unmasked-client-frame'], []],
    );
    assert.deepEqual(r.violations, []);
  });

  test('the big stream parses to the frames it was built from', () => {
    const r = parseBytes(BIG.bytes, CLIENT);
    assert.deepEqual(
      r.frames.map((f) => [f.opcode, f.payloadLength, f.headerLength, f.violations]),
      [
        [Opcode.Binary, 0, 6, []],
        [Opcode.Text, 125, 6, []],
        [Opcode.Binary, 126, 4, ['unmasked-client-frame']],
        [Opcode.Binary, 65535, 8, []],
        [Opcode.Ping, 125, 6, []],
        [Opcode.Continuation, 65536, 14, []],
        [Opcode.Close, 5, 2, ['unmasked-client-frame']],
      ],
    );
    assert.ok(r.frames[3]!.payload.equals(patternBytes(65535, 3)));
    assert.ok(r.frames[5]!.payload.equals(patternBytes(65536, 5)));
  });
});

describe('split everywhere', () => {
  for (const from of ['client', 'server'] as const) {
    test(`the small stream (${SMALL.bytes.length} bytes, from ${from}) split in two at every offset parses the same`, () => {
      const want = parseBytes(SMALL.bytes, { from });
      for (let cut = 0; cut <= SMALL.bytes.length; cut++) {
        assertSame(parseChunks(splitAt(SMALL.bytes, [cut]), { from }), want, `cut at ${cut}`);
      }
    });
  }

  test('the small stream split in three at every pair of offsets near frame boundaries parses the same', () => {
    const want = parseBytes(SMALL.bytes, CLIENT);
    const offsets = interestingOffsets(SMALL).filter((_, i) => i % 3 === 0);
    for (const a of offsets) {
      for (const b of offsets) {
        if (b < a) continue;
        assertSame(parseChunks(splitAt(SMALL.bytes, [a, b]), CLIENT), want, `cuts at ${a}, ${b}`);
      }
    }
  });

  test('the small stream fed one byte at a time parses the same', () => {
    for (const from of ['client', 'server'] as const) {
      assertSame(parseChunks(bytewise(SMALL.bytes), { from }), parseBytes(SMALL.bytes, { from }), `bytewise ${from}`);
    }
  });

  test('the big stream split in two near every header and payload boundary parses the same', () => {
    const want = parseBytes(BIG.bytes, CLIENT);
    const offsets = interestingOffsets(BIG);
    // Plus a spread of cuts deep inside the big payloads.
    for (let o = 0; o <= BIG.bytes.length; o += 4099) offsets.push(o);
    for (const cut of offsets) {
      assertSame(parseChunks(splitAt(BIG.bytes, [cut]), CLIENT), want, `cut at ${cut}`);
    }
  });

  test('the big stream fed one byte at a time parses the same', () => {
    assertSame(parseChunks(bytewise(BIG.bytes), CLIENT), parseBytes(BIG.bytes, CLIENT), 'bytewise');
  });

  test('the big stream in uneven chunks (1..4099 bytes) parses the same', () => {
    const cuts: number[] = [];
    for (let o = 0, step = 1; o < BIG.bytes.length; step = (step * 7 + 3) % 4099 || 1) cuts.push((o += step));
    assertSame(parseChunks(splitAt(BIG.bytes, cuts), CLIENT), parseBytes(BIG.bytes, CLIENT), 'uneven');
  });

  test('a stream with violations (non-minimal lengths, stray continuation, RSV bits) splits the same', () => {
    const s = Buffer.concat([
      buildFrame({ opcode: Opcode.Binary, payload: patternBytes(20, 1), lengthBits: 16 }),
      buildFrame({ opcode: Opcode.Continuation, payload: 'x', rsv1: true, rsv3: true, maskKey: KEY_A }),
      buildFrame({ opcode: Opcode.Text, payload: patternBytes(30, 2), lengthBits: 64, fin: false }),
      buildFrame({ opcode: Opcode.Binary, payload: 'y' }),
      buildFrame({ opcode: 0xb, payload: patternBytes(130, 3), fin: false }),
    ]);
    const want = parseBytes(s);
    assert.ok(want.frames.every((f) => f.violations.length > 0), 'every frame breaks a rule');
    for (let cut = 0; cut <= s.length; cut++) assertSame(parseChunks(splitAt(s, [cut])), want, `cut at ${cut}`);
    assertSame(parseChunks(bytewise(s)), want, 'bytewise');
  });

  test('a stream cut short reports truncated-frame wherever it is cut inside a frame', () => {
    for (let end = 0; end <= SMALL.bytes.length; end++) {
      const prefix = SMALL.bytes.subarray(0, end);
      const r = parseChunks(bytewise(prefix), { ...CLIENT, finish: true });
      const between = SMALL.boundaries.includes(end);
      assert.deepEqual(r.violations, between ? [] : ['truncated-frame'], `end at ${end}`);
      // The frames before the cut are the same as in the whole stream.
      const complete = r.frames.filter((f) => f.complete);
      assert.equal(complete.length, SMALL.boundaries.filter((b) => b > 0 && b <= end).length, `end at ${end}`);
    }
  });
});

describe('payload events', () => {
  test('are views into the pushed chunk (no copy), still masked as on the wire', () => {
    const bytes = buildFrame({ opcode: Opcode.Binary, payload: patternBytes(300, 9), maskKey: KEY_B });
    const parser = new FrameParser({ from: 'client', rsv1Allowed: false });
    const chunk = Buffer.from(bytes);
    const events = parser.push(chunk);
    const payload = events.find((e) => e.type === 'payload');
    assert.ok(payload !== undefined && payload.type === 'payload');
    assert.equal(payload.data.buffer, chunk.buffer);
    assert.equal(payload.data.byteOffset, chunk.byteOffset + 8);
    assert.ok(Buffer.from(payload.data).equals(bytes.subarray(8)));
  });

  test('counts every pushed byte, and idle holds only between frames', () => {
    const parser = new FrameParser({ from: 'client', rsv1Allowed: false });
    let pushed = 0;
    for (let i = 0; i < SMALL.bytes.length; i++) {
      parser.push(SMALL.bytes.subarray(i, i + 1));
      pushed++;
      assert.equal(parser.bytes, pushed);
      assert.equal(parser.idle, SMALL.boundaries.includes(i + 1), `after byte ${i}`);
    }
  });

  test('buffered counts the header bytes gathered for a frame not reported yet', () => {
    const parser = new FrameParser({ from: 'client', rsv1Allowed: false });
    let frame = 0;
    for (let i = 0; i < SMALL.bytes.length; i++) {
      parser.push(SMALL.bytes.subarray(i, i + 1));
      while (SMALL.boundaries[frame + 1]! <= i) frame++;
      const intoFrame = i + 1 - SMALL.boundaries[frame]!;
      const headerLen = SMALL.payloadStarts[frame]! - SMALL.boundaries[frame]!;
      // Inside the header: every byte so far is buffered; once it is complete, nothing is.
      assert.equal(parser.buffered, intoFrame < headerLen ? intoFrame : 0, `after byte ${i}`);
    }
  });

  test('an empty push produces no events', () => {
    const parser = new FrameParser({ from: 'server', rsv1Allowed: false });
    assert.deepEqual(parser.push(new Uint8Array(0)), []);
    parser.push(SMALL.bytes.subarray(0, 3));
    assert.deepEqual(parser.push(new Uint8Array(0)), []);
  });
});
