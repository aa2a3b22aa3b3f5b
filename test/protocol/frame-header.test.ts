/**
 * Header encoding helpers and the Wireshark-style bit view of a header.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  FrameParser,
  Opcode,
  describeHeaderBits,
  encodeHeader,
  headerLength,
  opcodeName,
  rewriteMaskKey,
  type FrameHeader,
} from '../../src/protocol/index.js';
import { KEY_A, KEY_B, KEY_RFC, buildFrame, hex, type RawFrame } from '../helpers/frames.js';

/** The header and raw bytes the parser produces for a frame (so the view is tested on real parser output). */
function parsedHeader(frame: RawFrame, from: 'client' | 'server' = 'client'): { raw: Uint8Array; header: FrameHeader } {
  const parser = new FrameParser({ from, rsv1Allowed: true });
  const event = parser.push(buildFrame(frame)).find((e) => e.type === 'header');
  assert.ok(event !== undefined && event.type === 'header');
  return { raw: event.raw, header: event.header };
}

describe('describeHeaderBits', () => {
  test('prints a masked 126-byte text frame the way Wireshark does', () => {
    const { raw, header } = parsedHeader({ opcode: Opcode.Text, payload: Buffer.alloc(126), maskKey: KEY_RFC });
    assert.deepEqual(describeHeaderBits(raw, header), [
      '1... .... = Fin: True',
      '.000 .... = Reserved: 0x0',
      '.0.. .... = Reserved (RSV1): False',
      '.... 0001 = Opcode: Text (1)',
      '1... .... = Mask: True',
      '.111 1110 = Payload length: 126 Extended Payload Length (16 bits)',
      'Extended Payload length (16 bits): 126',
      'Masking-Key: 37fa213d',
    ]);
  });

  test('prints a short unmasked frame with no extended length or key', () => {
    const { raw, header } = parsedHeader({ opcode: Opcode.Ping, payload: 'Hello' }, 'server');
    assert.deepEqual(describeHeaderBits(raw, header), [
      '1... .... = Fin: True',
      '.000 .... = Reserved: 0x0',
      '.0.. .... = Reserved (RSV1): False',
      '.... 1001 = Opcode: Ping (9)',
      '0... .... = Mask: False',
      '.000 0101 = Payload length: 5',
    ]);
  });

  test('RSV1 reads Per-Message Compressed only when permessage-deflate was negotiated (else Reserved, as Wireshark)', () => {
    const { raw, header } = parsedHeader({ opcode: Opcode.Text, rsv1: true, payload: 'x', maskKey: KEY_A });
    assert.equal(describeHeaderBits(raw, header, false)[2], '.1.. .... = Reserved (RSV1): True');
    assert.equal(describeHeaderBits(raw, header, true)[2], '.1.. .... = Per-Message Compressed (RSV1): True');
  });

  test('prints a 64-bit length, RSV bits and a continuation', () => {
    const { raw, header } = parsedHeader({
      opcode: Opcode.Continuation,
      fin: false,
      rsv1: true,
      rsv3: true,
      payload: Buffer.alloc(65536),
      maskKey: KEY_B,
    });
    assert.equal(describeHeaderBits(raw, header)[2], '.1.. .... = Reserved (RSV1): True');
    assert.deepEqual(describeHeaderBits(raw, header, true), [
      '0... .... = Fin: False',
      '.101 .... = Reserved: 0x5',
      '.1.. .... = Per-Message Compressed (RSV1): True',
      '.... 0000 = Opcode: Continuation (0)',
      '1... .... = Mask: True',
      '.111 1111 = Payload length: 127 Extended Payload Length (64 bits)',
      'Extended Payload length (64 bits): 65536',
      'Masking-Key: deadbeef',
    ]);
  });

  test('names reserved opcodes with their hex value', () => {
    const { raw, header } = parsedHeader({ opcode: 0xb, payload: '', maskKey: KEY_A });
    const line = describeHeaderBits(raw, header)[3]!;
    assert.ok(line.startsWith('.... 1011 = Opcode: Reserved (0xb)'), line);
    assert.ok(line.endsWith('(11)'), line);
    assert.equal(opcodeName(0x3), 'Reserved (0x3)');
    assert.deepEqual(
      [0x0, 0x1, 0x2, 0x8, 0x9, 0xa].map(opcodeName),
      ['Continuation', 'Text', 'Binary', 'Close', 'Ping', 'Pong'],
    );
  });
});

describe('encodeHeader', () => {
  test('uses the minimal length encoding at every boundary', () => {
    const cases: [number, string][] = [
      [0, '82 00'],
      [125, '82 7d'],
      [126, '82 7e 00 7e'],
      [0xffff, '82 7e ff ff'],
      [0x10000, '82 7f 00 00 00 00 00 01 00 00'],
      [2 ** 32, '82 7f 00 00 00 01 00 00 00 00'],
      [Number.MAX_SAFE_INTEGER, '82 7f 00 1f ff ff ff ff ff ff'],
    ];
    for (const [payloadLength, wire] of cases) {
      const out = encodeHeader({ fin: true, opcode: Opcode.Binary, payloadLength });
      assert.deepEqual(out, hex(wire), `length ${payloadLength}`);
      assert.equal(headerLength(payloadLength, false), out.length);
      assert.equal(headerLength(payloadLength, true), out.length + 4);
    }
  });

  test('sets the FIN, RSV and mask bits and appends the key', () => {
    const out = encodeHeader({ fin: false, rsv1: true, rsv2: true, rsv3: true, opcode: Opcode.Text, maskKey: KEY_B, payloadLength: 3 });
    assert.deepEqual(out, hex('71 83 de ad be ef'));
    assert.deepEqual(encodeHeader({ fin: true, opcode: Opcode.Close, maskKey: null, payloadLength: 2 }), hex('88 02'));
  });

  test('agrees with the independent test builder for every opcode and RSV combination', () => {
    for (let opcode = 0; opcode < 16; opcode++) {
      for (let rsv = 0; rsv < 8; rsv++) {
        const fields = { fin: opcode % 2 === 0, rsv1: (rsv & 4) !== 0, rsv2: (rsv & 2) !== 0, rsv3: (rsv & 1) !== 0, opcode };
        const built = buildFrame({ ...fields, payload: Buffer.alloc(300), maskKey: KEY_A });
        assert.deepEqual(encodeHeader({ ...fields, maskKey: KEY_A, payloadLength: 300 }), built.subarray(0, 8));
      }
    }
  });

  test('throws RangeError on arguments no frame can have', () => {
    const ok = { fin: true, opcode: Opcode.Text, payloadLength: 1 };
    assert.throws(() => encodeHeader({ ...ok, payloadLength: -1 }), RangeError);
    assert.throws(() => encodeHeader({ ...ok, payloadLength: 1.5 }), RangeError);
    assert.throws(() => encodeHeader({ ...ok, payloadLength: Number.MAX_SAFE_INTEGER + 1 }), RangeError);
    assert.throws(() => encodeHeader({ ...ok, payloadLength: Number.NaN }), RangeError);
    assert.throws(() => encodeHeader({ ...ok, opcode: 16 }), RangeError);
    assert.throws(() => encodeHeader({ ...ok, opcode: -1 }), RangeError);
    assert.throws(() => encodeHeader({ ...ok, opcode: 1.5 }), RangeError);
    assert.throws(() => encodeHeader({ ...ok, maskKey: Uint8Array.of(1, 2, 3) }), RangeError);
    assert.throws(() => encodeHeader({ ...ok, maskKey: new Uint8Array(5) }), RangeError);
  });
});

describe('rewriteMaskKey', () => {
  test('swaps the key and keeps every other header byte, including a non-minimal length', () => {
    const original = buildFrame({ opcode: Opcode.Binary, payload: Buffer.alloc(5), maskKey: KEY_A, lengthBits: 64 }).subarray(0, 14);
    const out = rewriteMaskKey(original, KEY_B);
    assert.deepEqual(out.subarray(0, 10), original.subarray(0, 10));
    assert.deepEqual(out.subarray(10), Buffer.from(KEY_B));
    // The input is not modified.
    assert.deepEqual(original.subarray(10), Buffer.from(KEY_A));
  });
});
