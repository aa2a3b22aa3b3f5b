/**
 * Close status codes (RFC 6455 §7.4 and the IANA registry), at the edges of every range.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CLOSE_CODES,
  closeCodeName,
  encodeClosePayload,
  isSendableCloseCode,
  parseClosePayload,
} from '../../src/protocol/index.js';

function body(code: number, reason: Uint8Array | string = ''): Buffer {
  const head = Buffer.alloc(2);
  head.writeUInt16BE(code, 0);
  return Buffer.concat([head, typeof reason === 'string' ? Buffer.from(reason, 'utf8') : reason]);
}

describe('close code table', () => {
  const EDGES: [number, boolean, string][] = [
    [0, false, 'Unknown'],
    [999, false, 'Unknown'], // §7.4.2: 0-999 "are not used"
    [1000, true, 'Normal Closure'],
    [1001, true, 'Going Away'],
    [1003, true, 'Unsupported Data'],
    [1004, false, 'Reserved'],
    [1005, false, 'No Status Received'], // "MUST NOT be set as a status code in a Close control frame"
    [1006, false, 'Abnormal Closure'], // same
    [1007, true, 'Invalid Frame Payload Data'],
    [1011, true, 'Internal Error'],
    [1012, true, 'Service Restart'], // IANA
    [1013, true, 'Try Again Later'], // IANA
    [1014, true, 'Bad Gateway'], // IANA, sendable
    [1015, false, 'TLS Handshake'], // same as 1005/1006
    [1016, false, 'Unknown'], // unassigned
    [2999, false, 'Unknown'],
    [3000, true, 'Registered'],
    [3999, true, 'Registered'],
    [4000, true, 'Private Use'],
    [4999, true, 'Private Use'],
    [5000, false, 'Unknown'],
    [65535, false, 'Unknown'],
  ];

  for (const [code, sendable, name] of EDGES) {
    test(`${code} is ${sendable ? '' : 'not '}sendable and named "${name}"`, () => {
      assert.equal(isSendableCloseCode(code), sendable);
      assert.equal(closeCodeName(code), name);
      assert.equal(parseClosePayload(body(code)).problem, sendable ? null : 'invalid-close-code');
    });
  }

  test('non-integers are never sendable', () => {
    for (const code of [1000.5, 3000.1, Number.NaN, Number.POSITIVE_INFINITY, -1000]) {
      assert.equal(isSendableCloseCode(code), false, String(code));
    }
  });

  test('every registered code 1000-1015 is in the table with a reference', () => {
    for (let code = 1000; code <= 1015; code++) {
      const info = CLOSE_CODES.get(code);
      assert.ok(info !== undefined, `${code} missing`);
      assert.match(info.ref, /^(RFC 6455 §7\.4\.1|IANA)$/);
      assert.equal(info.sendable, isSendableCloseCode(code));
    }
    assert.deepEqual(
      [...CLOSE_CODES.entries()].filter(([, i]) => !i.sendable).map(([c]) => c),
      [1004, 1005, 1006, 1015],
    );
  });
});

describe('parseClosePayload', () => {
  test('an empty body has no code and no problem (1005 to the application, §7.1.5)', () => {
    assert.deepEqual(parseClosePayload(new Uint8Array(0)), { code: null, reason: '', problem: null });
  });

  test('a one-byte body is a problem', () => {
    assert.deepEqual(parseClosePayload(Uint8Array.of(0x03)), { code: null, reason: '', problem: 'close-one-byte' });
  });

  test('reads the big-endian code and the UTF-8 reason', () => {
    assert.deepEqual(parseClosePayload(body(1000)), { code: 1000, reason: '', problem: null });
    assert.deepEqual(parseClosePayload(body(1001, 'bye')), { code: 1001, reason: 'bye', problem: null });
    assert.deepEqual(parseClosePayload(body(4321, 'déjà vu 👋')), { code: 4321, reason: 'déjà vu 👋', problem: null });
    assert.deepEqual(parseClosePayload(Uint8Array.of(0x0b, 0xb8)), { code: 3000, reason: '', problem: null });
  });

  test('reads a body that is a view into a larger buffer', () => {
    const frame = Buffer.concat([Buffer.from([0x88, 0x05]), body(1000, 'bye'), Buffer.from('junk')]);
    assert.deepEqual(parseClosePayload(frame.subarray(2, 7)), { code: 1000, reason: 'bye', problem: null });
  });

  test('flags a reason that is not UTF-8, and still reports the code', () => {
    for (const bad of [[0xff], [0xc3, 0x28], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xc0, 0xaf]]) {
      const parsed = parseClosePayload(body(1000, Uint8Array.from(bad)));
      assert.equal(parsed.code, 1000);
      assert.equal(parsed.problem, 'invalid-close-reason', JSON.stringify(bad));
    }
  });

  test('a code that may not be sent wins over a bad reason', () => {
    const parsed = parseClosePayload(body(1005, Uint8Array.of(0xff)));
    assert.equal(parsed.code, 1005);
    assert.equal(parsed.problem, 'invalid-close-code');
  });
});

describe('encodeClosePayload', () => {
  test('encodes nothing for no code', () => {
    assert.equal(encodeClosePayload().length, 0);
    assert.equal(encodeClosePayload(undefined, '').length, 0);
  });

  test('encodes a code and reason that parse back', () => {
    for (const [code, reason] of [
      [1000, ''],
      [1014, 'upstream down'],
      [3000, 'x'],
      [4999, 'ünïcödé 🎉'],
    ] as const) {
      const encoded = encodeClosePayload(code, reason);
      assert.equal(encoded.readUInt16BE(0), code);
      assert.deepEqual(parseClosePayload(encoded), { code, reason, problem: null });
    }
  });

  test('allows a reason of exactly 123 bytes (125 with the code)', () => {
    assert.equal(encodeClosePayload(1000, 'a'.repeat(123)).length, 125);
    assert.equal(encodeClosePayload(1000, '€'.repeat(41)).length, 125);
  });

  test('throws RangeError for a reason over 123 bytes, counted in UTF-8 bytes', () => {
    assert.throws(() => encodeClosePayload(1000, 'a'.repeat(124)), RangeError);
    assert.throws(() => encodeClosePayload(1000, `${'€'.repeat(41)}a`), RangeError);
  });

  test('throws RangeError for a code that may not be sent', () => {
    for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 1000.5, -1]) {
      assert.throws(() => encodeClosePayload(code), RangeError, String(code));
      assert.throws(() => encodeClosePayload(code, 'why'), RangeError, String(code));
    }
  });

  test('throws TypeError for a reason without a code', () => {
    assert.throws(() => encodeClosePayload(undefined, 'why'), TypeError);
  });
});
