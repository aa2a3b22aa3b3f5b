/**
 * One test per row of VIOLATIONS: the peer behaviour that triggers it, and the code, close code
 * and fatality reported (never the message text, which may change).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  FrameParser,
  Opcode,
  Utf8Validator,
  VIOLATIONS,
  parseClosePayload,
  violation,
  type ParseEvent,
  type Violation,
  type ViolationCode,
} from '../../src/protocol/index.js';
import {
  KEY_A,
  buildFrame,
  hex,
  maskedFrame,
  parseBytes,
  unmaskedFrame,
  type ParseOptions,
} from '../helpers/frames.js';

interface Expected {
  readonly code: ViolationCode;
  readonly closeCode: 1002 | 1007 | 1009 | null;
  readonly fatal: boolean;
}

function assertViolation(v: Violation | undefined, expected: Expected): void {
  assert.ok(v !== undefined, `expected a ${expected.code} violation`);
  assert.deepEqual({ code: v.code, closeCode: v.closeCode, fatal: v.fatal }, expected);
}

/** Codes that have a 'reports <code> when …' test below (filled as the tests are declared). */
const COVERED = new Set<ViolationCode>();

/** Declares the test for one row of VIOLATIONS. */
function reports(code: ViolationCode, when: string, fn: () => void): void {
  COVERED.add(code);
  test(`reports ${code} when ${when}`, fn);
}

/** All violations the parser reports for the bytes, in order (header-level and stream-level). */
function violationsOf(bytes: Uint8Array, options: ParseOptions = {}): Violation[] {
  const parser = new FrameParser({ from: options.from ?? 'server', rsv1Allowed: options.rsv1Allowed ?? false });
  const events: ParseEvent[] = [...parser.push(bytes)];
  if (options.finish === true) events.push(...parser.finish());
  return events.flatMap((e) =>
    e.type === 'header' ? [...e.violations] : e.type === 'violation' ? [e.violation] : [],
  );
}

/** Exactly one violation, with the expected fields. */
function assertOnly(bytes: Uint8Array, options: ParseOptions, expected: Expected): void {
  const found = violationsOf(bytes, options);
  assert.deepEqual(
    found.map((v) => v.code),
    [expected.code],
  );
  assertViolation(found[0], expected);
}

describe('violations reported by the frame parser', () => {
  reports('unmasked-client-frame', 'a client sends an unmasked frame', () => {
    assertOnly(unmaskedFrame(Opcode.Text, 'hi'), { from: 'client' }, {
      code: 'unmasked-client-frame',
      closeCode: 1002,
      fatal: false,
    });
  });

  reports('masked-server-frame', 'a server sends a masked frame', () => {
    assertOnly(maskedFrame(Opcode.Binary, 'hi'), { from: 'server' }, {
      code: 'masked-server-frame',
      closeCode: 1002,
      fatal: false,
    });
  });

  reports('reserved-opcode', 'a frame uses a reserved opcode (0x3-0x7 data, 0xB-0xF control)', () => {
    for (const opcode of [0x3, 0x4, 0x5, 0x6, 0x7, 0xb, 0xc, 0xd, 0xe, 0xf]) {
      assertOnly(unmaskedFrame(opcode, 'x'), {}, { code: 'reserved-opcode', closeCode: 1002, fatal: false });
    }
    for (const opcode of [0x0, 0x1, 0x2, 0x8, 0x9, 0xa]) {
      const codes = violationsOf(unmaskedFrame(opcode, ''), {}).map((v) => v.code);
      assert.ok(!codes.includes('reserved-opcode'), `opcode ${opcode} is not reserved`);
    }
  });

  reports('unexpected-rsv', 'RSV2 or RSV3 is set', () => {
    for (const bits of [{ rsv2: true }, { rsv3: true }]) {
      for (const rsv1Allowed of [false, true]) {
        assertOnly(buildFrame({ opcode: Opcode.Text, payload: 'x', ...bits }), { rsv1Allowed }, {
          code: 'unexpected-rsv',
          closeCode: 1002,
          fatal: false,
        });
      }
    }
  });

  reports('unexpected-rsv', 'RSV1 is set without permessage-deflate', () => {
    assertOnly(buildFrame({ opcode: Opcode.Text, payload: 'x', rsv1: true }), { rsv1Allowed: false }, {
      code: 'unexpected-rsv',
      closeCode: 1002,
      fatal: false,
    });
  });

  reports('unexpected-rsv', 'RSV1 is set on a control frame even with permessage-deflate', () => {
    for (const opcode of [Opcode.Ping, Opcode.Pong, Opcode.Close]) {
      assertOnly(buildFrame({ opcode, payload: '', rsv1: true }), { rsv1Allowed: true }, {
        code: 'unexpected-rsv',
        closeCode: 1002,
        fatal: false,
      });
    }
  });

  reports('unexpected-rsv', 'RSV1 is set on a continuation frame even with permessage-deflate', () => {
    const bytes = Buffer.concat([
      buildFrame({ opcode: Opcode.Binary, payload: 'a', rsv1: true, fin: false }),
      buildFrame({ opcode: Opcode.Continuation, payload: 'b', rsv1: true }),
    ]);
    const result = parseBytes(bytes, { rsv1Allowed: true });
    assert.deepEqual(
      result.frames.map((f) => f.violations),
      [[], ['unexpected-rsv']],
    );
    // The message stays compressed as its first frame said.
    assert.deepEqual(
      result.frames.map((f) => f.message?.compressed),
      [true, true],
    );
  });

  test('does not report unexpected-rsv when RSV1 marks the first frame of a message under permessage-deflate', () => {
    const result = parseBytes(buildFrame({ opcode: Opcode.Text, payload: 'x', rsv1: true }), { rsv1Allowed: true });
    assert.deepEqual(result.frames[0]!.violations, []);
    assert.equal(result.frames[0]!.message?.compressed, true);
  });

  reports('control-too-long', 'a control frame carries more than 125 bytes', () => {
    for (const opcode of [Opcode.Ping, Opcode.Pong, Opcode.Close]) {
      const payload = Buffer.alloc(126, 0x61);
      if (opcode === Opcode.Close) payload.writeUInt16BE(1000, 0);
      assertOnly(unmaskedFrame(opcode, payload), {}, { code: 'control-too-long', closeCode: 1002, fatal: false });
      // 125 bytes is the limit, not over it.
      assert.deepEqual(violationsOf(unmaskedFrame(opcode, payload.subarray(0, 125)), {}), []);
    }
  });

  reports('control-fragmented', 'a control frame has FIN clear', () => {
    for (const opcode of [Opcode.Ping, Opcode.Pong, Opcode.Close]) {
      assertOnly(unmaskedFrame(opcode, '', false), {}, { code: 'control-fragmented', closeCode: 1002, fatal: false });
    }
  });

  reports('unexpected-continuation', 'a continuation frame arrives with no message open', () => {
    assertOnly(unmaskedFrame(Opcode.Continuation, 'x'), {}, {
      code: 'unexpected-continuation',
      closeCode: 1002,
      fatal: false,
    });
    // Also after a message has finished.
    const after = Buffer.concat([unmaskedFrame(Opcode.Text, 'a'), unmaskedFrame(Opcode.Continuation, 'b')]);
    assert.deepEqual(
      parseBytes(after).frames.map((f) => f.violations),
      [[], ['unexpected-continuation']],
    );
  });

  reports('expected-continuation', 'a new data message starts before the previous one finished', () => {
    const bytes = Buffer.concat([unmaskedFrame(Opcode.Text, 'a', false), unmaskedFrame(Opcode.Binary, 'b')]);
    const found = violationsOf(bytes, {});
    assert.deepEqual(
      found.map((v) => v.code),
      ['expected-continuation'],
    );
    assertViolation(found[0], { code: 'expected-continuation', closeCode: 1002, fatal: false });
    // A control frame in between is allowed (§5.4) and does not count.
    const withPing = Buffer.concat([
      unmaskedFrame(Opcode.Text, 'a', false),
      unmaskedFrame(Opcode.Ping, ''),
      unmaskedFrame(Opcode.Continuation, 'b'),
    ]);
    assert.deepEqual(violationsOf(withPing, {}), []);
  });

  reports('non-minimal-length', 'a length fits a shorter encoding', () => {
    const cases: Buffer[] = [
      buildFrame({ opcode: Opcode.Binary, payload: Buffer.alloc(5), lengthBits: 16 }),
      buildFrame({ opcode: Opcode.Binary, payload: Buffer.alloc(125), lengthBits: 16 }),
      buildFrame({ opcode: Opcode.Binary, payload: Buffer.alloc(0), lengthBits: 64 }),
      buildFrame({ opcode: Opcode.Binary, payload: Buffer.alloc(200), lengthBits: 64 }),
      buildFrame({ opcode: Opcode.Binary, payload: Buffer.alloc(0xffff), lengthBits: 64 }),
    ];
    for (const bytes of cases) {
      assertOnly(bytes, {}, { code: 'non-minimal-length', closeCode: 1002, fatal: false });
      // The frame is still framed by the length it declares.
      const result = parseBytes(bytes);
      assert.equal(result.frames.length, 1);
      assert.equal(result.frames[0]!.complete, true);
    }
    // The smallest lengths of each encoding are minimal.
    assert.deepEqual(violationsOf(buildFrame({ opcode: Opcode.Binary, payload: Buffer.alloc(126) }), {}), []);
    assert.deepEqual(violationsOf(buildFrame({ opcode: Opcode.Binary, payload: Buffer.alloc(0x10000) }), {}), []);
  });

  reports('length-msb-set', 'a 64-bit length has its most significant bit set', () => {
    for (const declared of [0x8000_0000_0000_0000n, 0xffff_ffff_ffff_ffffn, 0x8000_0000_0000_0005n]) {
      const bytes = buildFrame({ opcode: Opcode.Binary, declaredLength: declared, lengthBits: 64 });
      assertOnly(bytes, {}, { code: 'length-msb-set', closeCode: 1002, fatal: true });
      // No header event: the frame cannot be described.
      assert.deepEqual(parseBytes(bytes).frames, []);
    }
  });

  reports('length-too-large', 'a 64-bit length exceeds 2^53-1', () => {
    for (const declared of [2n ** 53n, 2n ** 63n - 1n]) {
      const bytes = buildFrame({ opcode: Opcode.Binary, declaredLength: declared, lengthBits: 64 });
      assertOnly(bytes, {}, { code: 'length-too-large', closeCode: 1009, fatal: true });
    }
    // 2^53-1 itself can be framed.
    const edge = parseBytes(buildFrame({ opcode: Opcode.Binary, declaredLength: 2n ** 53n - 1n, lengthBits: 64 }));
    assert.equal(edge.failed, false);
    assert.equal(edge.frames[0]!.payloadLength, Number.MAX_SAFE_INTEGER);
    assert.equal(edge.frames[0]!.complete, false);
  });

  reports('data-after-close', 'a frame follows a close frame', () => {
    const close = unmaskedFrame(Opcode.Close, hex('03 e8'));
    for (const next of [unmaskedFrame(Opcode.Text, 'late'), unmaskedFrame(Opcode.Ping, ''), close]) {
      const found = violationsOf(Buffer.concat([close, next]), {});
      assert.deepEqual(
        found.map((v) => v.code),
        ['data-after-close'],
      );
      assertViolation(found[0], { code: 'data-after-close', closeCode: null, fatal: false });
    }
  });

  reports('truncated-frame', 'the stream ends inside a header', () => {
    for (const cut of [1, 2, 3, 5]) {
      const bytes = maskedFrame(Opcode.Text, Buffer.alloc(200)).subarray(0, cut);
      assertOnly(bytes, { from: 'client', finish: true }, { code: 'truncated-frame', closeCode: null, fatal: true });
    }
  });

  reports('truncated-frame', 'the stream ends inside a payload', () => {
    const bytes = unmaskedFrame(Opcode.Text, 'Hello').subarray(0, 4);
    assertOnly(bytes, { finish: true }, { code: 'truncated-frame', closeCode: null, fatal: true });
    const parser = new FrameParser({ from: 'server', rsv1Allowed: false });
    parser.push(bytes);
    parser.finish();
    assert.equal(parser.failed, true);
    assert.deepEqual(parser.push(hex('6c 6f')), []);
  });

  test('does not report truncated-frame when the stream ends between frames', () => {
    const parser = new FrameParser({ from: 'server', rsv1Allowed: false });
    parser.push(unmaskedFrame(Opcode.Text, 'Hello'));
    assert.equal(parser.idle, true);
    assert.deepEqual(parser.finish(), []);
    assert.equal(parser.failed, false);
  });
});

describe('violations reported on message and close-frame content', () => {
  reports('invalid-utf8', 'a text message is not valid UTF-8', () => {
    const validator = new Utf8Validator();
    assert.equal(validator.push(hex('48 65')), true);
    assert.equal(validator.push(hex('ff')), false);
    assert.equal(validator.end(), false);
    // A sequence cut off by the end of the message is invalid too.
    assert.equal(validator.push(hex('e2 82')), true);
    assert.equal(validator.end(), false);
    assertViolation(violation('invalid-utf8'), { code: 'invalid-utf8', closeCode: 1007, fatal: false });
  });

  reports('close-one-byte', 'a close body is a single byte', () => {
    const parsed = parseClosePayload(hex('03'));
    assert.equal(parsed.problem, 'close-one-byte');
    assertViolation(violation(parsed.problem!), { code: 'close-one-byte', closeCode: 1002, fatal: false });
  });

  reports('invalid-close-code', 'a close code may not be sent on the wire', () => {
    for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535]) {
      const body = Buffer.alloc(2);
      body.writeUInt16BE(code, 0);
      const parsed = parseClosePayload(body);
      assert.equal(parsed.problem, 'invalid-close-code', `code ${code}`);
      assert.equal(parsed.code, code);
      assertViolation(violation(parsed.problem!), { code: 'invalid-close-code', closeCode: 1002, fatal: false });
    }
  });

  reports('invalid-close-reason', 'a close reason is not valid UTF-8', () => {
    const parsed = parseClosePayload(hex('03 e8 c3 28'));
    assert.equal(parsed.code, 1000);
    assert.equal(parsed.problem, 'invalid-close-reason');
    assertViolation(violation(parsed.problem!), { code: 'invalid-close-reason', closeCode: 1007, fatal: false });
  });

});

// Rows the proxy layer reports (it owns the zlib streams, the HTTP server and the message limits):
// here only their table rows are checked.
describe('violations reported by the proxy layer', () => {
  reports('invalid-deflate', 'a compressed message does not inflate (proxy layer)', () => {
    assertViolation(violation('invalid-deflate'), { code: 'invalid-deflate', closeCode: 1007, fatal: false });
  });

  reports('invalid-handshake', 'a client sends a head that is not a valid HTTP request (proxy layer)', () => {
    // Nothing to close: the connection never became a WebSocket (answered 400 instead).
    assertViolation(violation('invalid-handshake'), { code: 'invalid-handshake', closeCode: null, fatal: true });
  });

  reports('message-too-big', 'a message exceeds what the proxy can process (proxy layer)', () => {
    // §7.4.1: 1009 "a message that is too big for it to process". Fatal: the proxy cannot go on
    // relaying that direction without holding the whole message.
    assertViolation(violation('message-too-big'), { code: 'message-too-big', closeCode: 1009, fatal: true });
  });
});

describe('the violations table', () => {
  const ALL = Object.keys(VIOLATIONS) as ViolationCode[];

  test('has a "reports <code> when …" test for every row', () => {
    assert.deepEqual(
      ALL.filter((code) => !COVERED.has(code)),
      [],
    );
    assert.deepEqual(
      [...COVERED].filter((code) => !(code in VIOLATIONS)),
      [],
    );
  });

  test('gives every code an RFC reference and a close code in {1002, 1007, 1009, null}', () => {
    for (const code of ALL) {
      const row = VIOLATIONS[code];
      assert.match(row.rfc, /^RFC (6455|7692) §\d/, `${code} rfc`);
      assert.ok([1002, 1007, 1009, null].includes(row.closeCode), `${code} closeCode ${String(row.closeCode)}`);
      assert.equal(typeof row.fatal, 'boolean');
      assert.ok(row.message.length > 0, `${code} message`);
    }
  });

  test('violation() copies the row and appends a detail to the message', () => {
    for (const code of ALL) {
      const plain = violation(code);
      const detailed = violation(code, 'extra');
      assert.deepEqual({ ...plain, message: '' }, { ...detailed, message: '' });
      assert.equal(plain.code, code);
      assert.ok(detailed.message.startsWith(plain.message) && detailed.message.includes('extra'));
    }
  });
});

describe('framing after a violation', () => {
  test('keeps framing the next frame correctly after a non-fatal violation', () => {
    const bad: Buffer[] = [
      unmaskedFrame(Opcode.Text, 'no mask'), // from client: unmasked-client-frame
      buildFrame({ opcode: 0x3, payload: 'reserved', maskKey: KEY_A }),
      buildFrame({ opcode: Opcode.Ping, payload: Buffer.alloc(200, 1), maskKey: KEY_A }),
      buildFrame({ opcode: Opcode.Binary, payload: Buffer.alloc(10, 2), maskKey: KEY_A, lengthBits: 64 }),
      buildFrame({ opcode: Opcode.Continuation, payload: 'stray', maskKey: KEY_A, rsv2: true }),
    ];
    const good = maskedFrame(Opcode.Text, 'after', KEY_A);
    for (const b of bad) {
      const result = parseBytes(Buffer.concat([b, good]), { from: 'client' });
      assert.equal(result.failed, false);
      assert.equal(result.frames.length, 2);
      assert.ok(result.frames[0]!.violations.length > 0);
      const next = result.frames[1]!;
      assert.equal(next.opcode, Opcode.Text);
      assert.equal(next.payload.toString(), 'after');
      assert.deepEqual(next.violations, []);
      assert.equal(next.complete, true);
    }
  });

  test('reports failed after a fatal violation (length-msb-set) and ignores further bytes', () => {
    const parser = new FrameParser({ from: 'server', rsv1Allowed: false });
    const first = parser.push(
      Buffer.concat([
        unmaskedFrame(Opcode.Text, 'ok'),
        buildFrame({ opcode: Opcode.Binary, declaredLength: 2n ** 63n, lengthBits: 64 }),
        unmaskedFrame(Opcode.Text, 'lost'),
      ]),
    );
    assert.deepEqual(
      first.map((e) => (e.type === 'violation' ? e.violation.code : e.type)),
      ['header', 'payload', 'frame-end', 'length-msb-set'],
    );
    assert.equal(parser.failed, true);
    assert.equal(parser.idle, false);
    assert.deepEqual(parser.push(unmaskedFrame(Opcode.Text, 'more')), []);
    assert.deepEqual(parser.finish(), []);
    assert.equal(parser.failed, true);
  });

  test('a fatal violation split across chunks is reported once, when the header completes', () => {
    const bytes = buildFrame({ opcode: Opcode.Binary, declaredLength: 2n ** 63n, lengthBits: 64 });
    const parser = new FrameParser({ from: 'server', rsv1Allowed: false });
    assert.deepEqual(parser.push(bytes.subarray(0, 9)), []);
    assert.equal(parser.failed, false);
    const events = parser.push(Buffer.concat([bytes.subarray(9), unmaskedFrame(Opcode.Text, 'x')]));
    assert.deepEqual(
      events.map((e) => (e.type === 'violation' ? e.violation.code : e.type)),
      ['length-msb-set'],
    );
  });
});
