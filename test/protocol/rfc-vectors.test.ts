/**
 * The examples of RFC 6455 §5.7, byte for byte: parsed from the side that sends them, and
 * re-encoded by encodeFrame/encodeHeader to the same bytes.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Opcode, encodeFrame, encodeFrameBuffer, encodeHeader } from '../../src/protocol/index.js';
import { KEY_RFC, hex, parseBytes, patternBytes, type ParsedFrame } from '../helpers/frames.js';

interface Vector {
  readonly name: string;
  readonly from: 'client' | 'server';
  /** The frames as the RFC writes them. */
  readonly wire: Buffer[];
  /** What each frame carries once unmasked. */
  readonly frames: readonly {
    readonly fin: boolean;
    readonly opcode: number;
    readonly maskKey: Uint8Array | null;
    readonly payload: Buffer;
    readonly headerLength: number;
  }[];
}

const HELLO = Buffer.from('Hello', 'latin1');
const BIN_256 = patternBytes(256, 256);
const BIN_64K = patternBytes(65536, 65536);

const VECTORS: Vector[] = [
  {
    name: 'a single-frame unmasked text message',
    from: 'server',
    wire: [hex('81 05 48 65 6c 6c 6f')],
    frames: [{ fin: true, opcode: Opcode.Text, maskKey: null, payload: HELLO, headerLength: 2 }],
  },
  {
    name: 'a single-frame masked text message',
    from: 'client',
    wire: [hex('81 85 37 fa 21 3d 7f 9f 4d 51 58')],
    frames: [{ fin: true, opcode: Opcode.Text, maskKey: KEY_RFC, payload: HELLO, headerLength: 6 }],
  },
  {
    name: 'a fragmented unmasked text message',
    from: 'server',
    wire: [hex('01 03 48 65 6c'), hex('80 02 6c 6f')],
    frames: [
      { fin: false, opcode: Opcode.Text, maskKey: null, payload: Buffer.from('Hel'), headerLength: 2 },
      { fin: true, opcode: Opcode.Continuation, maskKey: null, payload: Buffer.from('lo'), headerLength: 2 },
    ],
  },
  {
    name: 'an unmasked Ping request',
    from: 'server',
    wire: [hex('89 05 48 65 6c 6c 6f')],
    frames: [{ fin: true, opcode: Opcode.Ping, maskKey: null, payload: HELLO, headerLength: 2 }],
  },
  {
    name: 'a masked Ping response (Pong)',
    from: 'client',
    wire: [hex('8a 85 37 fa 21 3d 7f 9f 4d 51 58')],
    frames: [{ fin: true, opcode: Opcode.Pong, maskKey: KEY_RFC, payload: HELLO, headerLength: 6 }],
  },
  {
    name: '256 bytes binary message in a single unmasked frame (16-bit length)',
    from: 'server',
    wire: [Buffer.concat([hex('82 7e 01 00'), BIN_256])],
    frames: [{ fin: true, opcode: Opcode.Binary, maskKey: null, payload: BIN_256, headerLength: 4 }],
  },
  {
    name: '64 KiB binary message in a single unmasked frame (64-bit length)',
    from: 'server',
    wire: [Buffer.concat([hex('82 7f 00 00 00 00 00 01 00 00'), BIN_64K])],
    frames: [{ fin: true, opcode: Opcode.Binary, maskKey: null, payload: BIN_64K, headerLength: 10 }],
  },
];

function expectedFrames(v: Vector): Pick<ParsedFrame, 'fin' | 'opcode' | 'maskKey' | 'payloadLength' | 'headerLength' | 'payload' | 'violations' | 'complete'>[] {
  return v.frames.map((f) => ({
    fin: f.fin,
    opcode: f.opcode,
    maskKey: f.maskKey === null ? null : Buffer.from(f.maskKey).toString('hex'),
    payloadLength: f.payload.length,
    headerLength: f.headerLength,
    payload: f.payload,
    violations: [],
    complete: true,
  }));
}

describe('RFC 6455 §5.7 examples', () => {
  for (const v of VECTORS) {
    test(`parses ${v.name}`, () => {
      const result = parseBytes(Buffer.concat(v.wire), { from: v.from });
      assert.equal(result.failed, false);
      assert.deepEqual(result.violations, []);
      const got = result.frames.map((f) => ({
        fin: f.fin,
        opcode: f.opcode,
        maskKey: f.maskKey,
        payloadLength: f.payloadLength,
        headerLength: f.headerLength,
        payload: f.payload,
        violations: f.violations,
        complete: f.complete,
      }));
      assert.deepEqual(got, expectedFrames(v));
      // No RSV bits in any example, and the raw header is the first headerLength wire bytes.
      for (const [i, f] of result.frames.entries()) {
        assert.equal(f.rsv1 || f.rsv2 || f.rsv3, false);
        assert.equal(f.raw, v.wire[i]!.subarray(0, f.headerLength).toString('hex'));
      }
    });

    test(`reports the sender's mistake when ${v.name} comes from the other side`, () => {
      const other = v.from === 'client' ? 'server' : 'client';
      const result = parseBytes(Buffer.concat(v.wire), { from: other });
      const expected = other === 'client' ? 'unmasked-client-frame' : 'masked-server-frame';
      assert.deepEqual(
        result.frames.map((f) => f.violations),
        v.frames.map(() => [expected]),
      );
    });

    test(`encodes ${v.name} to the same bytes`, () => {
      for (const [i, f] of v.frames.entries()) {
        const wire = v.wire[i]!;
        const spec = { fin: f.fin, opcode: f.opcode, maskKey: f.maskKey, payload: f.payload };
        const [header, body] = encodeFrame(spec);
        assert.equal(header.toString('hex'), wire.subarray(0, f.headerLength).toString('hex'));
        assert.ok(Buffer.from(body).equals(wire.subarray(f.headerLength)), 'payload bytes differ');
        assert.ok(encodeFrameBuffer(spec).equals(wire));
        const alone = encodeHeader({ fin: f.fin, opcode: f.opcode, maskKey: f.maskKey, payloadLength: f.payload.length });
        assert.ok(alone.equals(header));
      }
    });
  }

  test('the fragmented example carries one message: first frame opens it, continuation finishes it', () => {
    const result = parseBytes(hex('01 03 48 65 6c 80 02 6c 6f'), { from: 'server' });
    assert.deepEqual(
      result.frames.map((f) => f.message),
      [
        { opcode: Opcode.Text, compressed: false, first: true },
        { opcode: Opcode.Text, compressed: false, first: false },
      ],
    );
  });

  test('control frames in the examples carry no message context', () => {
    const ping = parseBytes(hex('89 05 48 65 6c 6c 6f'), { from: 'server' });
    const pong = parseBytes(hex('8a 85 37 fa 21 3d 7f 9f 4d 51 58'), { from: 'client' });
    assert.equal(ping.frames[0]!.message, null);
    assert.equal(pong.frames[0]!.message, null);
  });

  test('encodeFrame does not modify the payload it masks', () => {
    const payload = Buffer.from(HELLO);
    encodeFrame({ fin: true, opcode: Opcode.Text, maskKey: KEY_RFC, payload });
    assert.ok(payload.equals(HELLO));
  });
});
