/**
 * HAR `_wireBytes`: each message counts its own frames' header and payload bytes as received,
 * whatever order the records come in (a held message's record follows the frames behind it),
 * not the proxy's rewriting of a changed message, and an injected message its own frames only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HarSessionBuilder, type HarFrameFacts, type HarMessageFacts } from '../../src/export/har.js';

const head = { session: 1, time: 0, client: '127.0.0.1:1', target: '127.0.0.1:2', path: '/', status: 101, requestLine: 'GET / HTTP/1.1', statusLine: 'HTTP/1.1 101 Switching Protocols', requestHeaders: [], responseHeaders: [], protocol: null, extensions: null };

function frame(id: number, length: number, origin = 'peer', opcode = 1, fin = true): HarFrameFacts & { fin: boolean } {
  return { id, time: id, from: 'server', opcode, length, headerLength: 2, payload: Buffer.alloc(length), truncated: false, violations: [], origin, fin };
}

function message(id: number, length: number, frames: number, fate = 'forwarded'): HarMessageFacts {
  return { id, time: id, from: 'server', kind: 'text', length, payload: Buffer.alloc(length), truncated: false, frames, compressed: false, fate, by: fate === 'forwarded' || fate === 'injected' ? null : 'script' };
}

test('each message counts its own frames, in any record order', () => {
  const b = new HarSessionBuilder(head, { control: false });
  // Two messages in one read, both held by a decider: both frames first, then both messages.
  b.frame(frame(1, 18));
  b.frame(frame(3, 17));
  b.message(message(2, 18, 1));
  b.message(message(4, 17, 1));
  // A changed one: the proxy's [mod] frame is not its wire bytes; a ping in between is no data frame.
  b.frame(frame(5, 10));
  b.frame(frame(7, 1, 'peer', 9));
  b.frame(frame(8, 12, 'modified'));
  b.message(message(6, 10, 1, 'modified'));
  // Fragmented: three frames.
  b.frame(frame(9, 4, 'peer', 1, false));
  b.frame(frame(11, 4, 'peer', 0, false));
  b.frame(frame(12, 4, 'peer', 0));
  b.message(message(10, 12, 3));
  // A fault's duplicate (injected, no message of its own), then an injected message.
  b.frame(frame(13, 5, 'injected'));
  b.frame(frame(14, 6, 'injected'));
  b.message(message(14, 6, 1, 'injected'));
  const got = b.items.map((i) => [i._id, (i as unknown as Record<string, unknown>)['_wireBytes']]);
  assert.deepEqual(got, [
    [2, 20],
    [4, 19],
    [6, 12],
    [10, 18],
    [14, 8],
  ]);
});
