/**
 * The peer's close answer after the proxy's own close (close-answer.ts): found in the rest of the
 * stream whatever the chunking, unmasked, and heard once.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Opcode } from '../../src/protocol/constants.js';
import { FrameParser } from '../../src/protocol/frame-parser.js';
import type { ClosePayload } from '../../src/protocol/close-codes.js';
import { CloseAnswer, answerText } from '../../src/proxy/close-answer.js';
import { KEY_B, maskedFrame, splitAt, unmaskedFrame } from '../helpers/frames.js';

function closeBody(code: number, reason: string): Buffer {
  const b = Buffer.alloc(2 + Buffer.byteLength(reason));
  b.writeUInt16BE(code, 0);
  b.write(reason, 2);
  return b;
}

function heard(from: 'client' | 'server', chunks: readonly Uint8Array[]): ClosePayload[] {
  const got: ClosePayload[] = [];
  const parser = new FrameParser({ from, rsv1Allowed: false });
  const sink = new CloseAnswer((c) => got.push(c));
  for (const chunk of chunks) parser.feed(chunk, sink);
  return got;
}

describe('the close answer', () => {
  test('a masked close behind a data frame, cut at every byte', () => {
    const stream = Buffer.concat([maskedFrame(Opcode.Text, 'still talking', KEY_B), maskedFrame(Opcode.Close, closeBody(1000, 'bye ✓'), KEY_B)]);
    for (let cut = 1; cut < stream.length; cut++) {
      assert.deepEqual(heard('client', splitAt(stream, [cut])), [{ code: 1000, reason: 'bye ✓', problem: null }], `cut at ${cut}`);
    }
  });

  test('an unmasked close with no body, and a second close is not heard again', () => {
    const stream = Buffer.concat([unmaskedFrame(Opcode.Close, Buffer.alloc(0)), unmaskedFrame(Opcode.Close, closeBody(1001, 'again'))]);
    assert.deepEqual(heard('server', [stream]), [{ code: null, reason: '', problem: null }]);
  });

  test('no close in the stream: nothing heard', () => {
    assert.deepEqual(heard('server', [unmaskedFrame(Opcode.Ping, 'p'), unmaskedFrame(Opcode.Binary, Buffer.alloc(300))]), []);
  });

  test("the log's line quotes the peer's reason escaped", () => {
    assert.equal(answerText('server', { code: 4001, reason: 'a\u001b[2J"b', problem: null }), 'the server answered the proxy\'s close: 4001 Private Use "a\\u001b[2J\\"b"');
    assert.equal(answerText('client', { code: null, reason: '', problem: null }), "the client answered the proxy's close: no status");
  });
});
