/**
 * What a conforming client would refuse in a 101 (RFC 6455 §4.1): no Upgrade or Connection, an
 * extension or a subprotocol it did not offer. A good answer has nothing to say.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseHead, type HttpHead } from '../../src/protocol/handshake.js';
import { handshakeProblems } from '../../src/protocol/handshake-checks.js';

const head = (text: string): HttpHead => {
  const parsed = parseHead(Buffer.from(`${text.replace(/\n/g, '\r\n')}\r\n\r\n`));
  assert.ok(parsed.ok);
  return parsed.head;
};

const request = (extra = ''): HttpHead => head(`GET /chat HTTP/1.1\nHost: x\nUpgrade: websocket\nConnection: Upgrade\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\nSec-WebSocket-Version: 13${extra}`);
const response = (extra = '', base = 'Upgrade: websocket\nConnection: Upgrade'): HttpHead => head(`HTTP/1.1 101 Switching Protocols\n${base}\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=${extra}`);

test('a 101 that answers what was offered: nothing to say', () => {
  assert.deepEqual(handshakeProblems(request('\nSec-WebSocket-Protocol: chat.v1, chat.v2\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits'), response('\nSec-WebSocket-Protocol: chat.v2\nSec-WebSocket-Extensions: permessage-deflate')), []);
  // Case-insensitive tokens, Connection with several values.
  assert.deepEqual(handshakeProblems(request(), response('', 'upgrade: WebSocket\nConnection: keep-alive, upgrade')), []);
});

test('an extension or a subprotocol the client did not offer', () => {
  assert.deepEqual(handshakeProblems(request(), response('\nSec-WebSocket-Extensions: permessage-deflate\nSec-WebSocket-Protocol: admin-protocol')), [
    'the server accepted the extension permessage-deflate, which the client did not offer (RFC 6455 §4.1)',
    'the server chose the subprotocol admin-protocol, which the client did not offer (RFC 6455 §4.1)',
  ]);
});

test('a 101 without Upgrade or Connection', () => {
  assert.deepEqual(handshakeProblems(request(), response('', 'X-Nothing: here')), ['the 101 has no "Upgrade: websocket" (RFC 6455 §4.1)', 'the 101 has no "Connection: Upgrade" (RFC 6455 §4.1)']);
});
