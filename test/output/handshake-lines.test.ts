/**
 * The printer and the JSONL log say what became of each upgrade attempt (issue items 2, 3, 4, 8):
 * the real cause of a refusal with the first bytes of its body, a wrong Accept on a 101 only, the
 * head the target received next to the client's, and one dim line / record per plain request.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseHead, type HttpHead } from '../../src/protocol/handshake.js';
import type { HttpRecord, SessionInfo } from '../../src/proxy/events.js';
import { formatHttpLine, formatOpenLine } from '../../src/output/format.js';
import { httpJson, openJson } from '../../src/output/jsonl.js';
import { diffHeads } from '../../src/output/head-diff.js';
import { printerHandlers } from '../../src/output/headless.js';

function head(text: string): HttpHead {
  const parsed = parseHead(Buffer.from(`${text.replace(/\n/g, '\r\n')}\r\n\r\n`, 'latin1'));
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.head;
}

const CLIENT = head('GET /chat HTTP/1.1\nHost: app.example:9000\nUpgrade: websocket\nConnection: Upgrade\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\nSec-WebSocket-Extensions: permessage-deflate');
const SENT = head('GET /base/chat HTTP/1.1\nHost: 127.0.0.1:12345\nUpgrade: websocket\nConnection: Upgrade\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==');

function info(extra: Partial<SessionInfo>): SessionInfo {
  return {
    session: 3,
    time: Date.UTC(2026, 0, 1, 12, 0, 0),
    client: '127.0.0.1:50000',
    target: '127.0.0.1:12345',
    path: '/chat',
    status: 101,
    request: CLIENT,
    response: head('HTTP/1.1 101 Switching Protocols\nUpgrade: websocket\nConnection: Upgrade\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo='),
    protocol: null,
    extensions: null,
    deflate: null,
    acceptValid: true,
    sent: SENT,
    answeredBy: 'server',
    failure: null,
    body: new Uint8Array(0),
    url: 'ws://app.example:9000/chat',
    mode: 'reverse',
    tls: { client: null, server: null },
    ...extra,
  };
}

const plain = { color: false };

describe('the headless open line', () => {
  test('a refusal says "handshake refused: 403 Forbidden" with the body, and nothing about Accept', () => {
    const line = formatOpenLine(info({ status: 403, failure: 'handshake refused: 403 Forbidden', acceptValid: null, body: Buffer.from('go away: token expired'), response: head('HTTP/1.1 403 Forbidden\nContent-Length: 22') }), plain);
    assert.match(line, /#3 refused 127\.0\.0\.1:50000 → 127\.0\.0\.1:12345 \/chat 403 handshake refused: 403 Forbidden "go away: token expired"$/);
    assert.doesNotMatch(line, /Accept/);
  });

  test("the proxy's own 502/504 says so, with the reason", () => {
    const line = formatOpenLine(info({ status: 502, failure: 'target 127.0.0.1:12345: ECONNREFUSED', answeredBy: 'proxy', acceptValid: null, body: Buffer.from('502 Bad Gateway: …\n') }), plain);
    assert.match(line, /#3 failed .*\/chat 502 target 127\.0\.0\.1:12345: ECONNREFUSED \(answered by the proxy\)$/);
  });

  test('an upgrade that failed closes without a handshake verdict or traffic figures', () => {
    const lines: string[] = [];
    const h = printerHandlers({ frame: () => undefined, line: (t) => lines.push(t) }, plain, 80);
    const close = { session: 3, time: 0, code: null, reason: 'target 127.0.0.1:12345: ECONNREFUSED', by: 'proxy' as const, clean: false, stats: null };
    h['session-open']!(info({ status: 502, failure: close.reason, answeredBy: 'proxy', acceptValid: null }));
    h['session-close']!(close);
    h['session-open']!(info({ session: 4 }));
    h['session-close']!({ ...close, session: 4, code: 1006 });
    assert.match(lines[1]!, /#3 closed by proxy: no status "target 127\.0\.0\.1:12345: ECONNREFUSED"$/);
    assert.match(lines[3]!, /#4 closed by proxy: 1006 .* \(unclean\)$/);
  });

  test('a wrong Accept on a 101 is marked on the open line', () => {
    assert.match(formatOpenLine(info({ acceptValid: false }), plain), /101 ⚠ Sec-WebSocket-Accept invalid$/);
    assert.doesNotMatch(formatOpenLine(info({}), plain), /Accept/);
  });

  test("a refusal body's controls are escaped", () => {
    const line = formatOpenLine(info({ status: 401, failure: 'handshake refused: 401 Unauthorized', acceptValid: null, body: Buffer.from('\x1b]0;pwned\x07') }), plain);
    assert.doesNotMatch(line, /\x1b|\x07/);
  });
});

describe('the JSONL open record', () => {
  test('request line and headers as the target received them; the client\'s where they differ, and which lines changed', () => {
    const json = openJson(info({})) as Record<string, unknown>;
    assert.equal(json['requestLine'], 'GET /base/chat HTTP/1.1');
    assert.deepEqual((json['requestHeaders'] as Record<string, string>)['Host'], '127.0.0.1:12345');
    assert.equal(json['clientRequestLine'], 'GET /chat HTTP/1.1');
    assert.equal((json['clientRequestHeaders'] as Record<string, string>)['Host'], 'app.example:9000');
    assert.deepEqual(json['rewritten'], ['GET /base/chat HTTP/1.1', 'Host: 127.0.0.1:12345']);
    assert.equal(json['answeredBy'], 'server');
    assert.equal(json['failure'], null);
  });

  test('identical heads: the client fields are null', () => {
    const json = openJson(info({ sent: CLIENT })) as Record<string, unknown>;
    assert.equal(json['clientRequestLine'], null);
    assert.equal(json['clientRequestHeaders'], null);
    assert.deepEqual(json['rewritten'], []);
  });

  test('a refusal carries its status, cause and first body bytes', () => {
    const json = openJson(info({ status: 403, failure: 'handshake refused: 403 Forbidden', acceptValid: null, body: Buffer.from('nope') })) as Record<string, unknown>;
    assert.equal(json['status'], 403);
    assert.equal(json['acceptValid'], null);
    assert.equal(json['failure'], 'handshake refused: 403 Forbidden');
    assert.equal(json['body'], 'nope');
    assert.equal(json['bodyEncoding'], 'utf8');
  });
});

describe('head diff', () => {
  test('marks the lines each side has that the other does not', () => {
    const diff = diffHeads(CLIENT, SENT);
    assert.equal(diff.same, false);
    assert.deepEqual(diff.client.filter((l) => l.changed).map((l) => l.text), ['GET /chat HTTP/1.1', 'Host: app.example:9000', 'Sec-WebSocket-Extensions: permessage-deflate']);
    assert.deepEqual(diff.sent.filter((l) => l.changed).map((l) => l.text), ['GET /base/chat HTTP/1.1', 'Host: 127.0.0.1:12345']);
    assert.equal(diffHeads(CLIENT, CLIENT).same, true);
  });
});

describe('plain HTTP records', () => {
  const record: HttpRecord = { time: Date.UTC(2026, 0, 1), client: '127.0.0.1:5', target: '127.0.0.1:80', method: 'GET', url: '/app.js', status: 200, duration: 12, requestBytes: 312, responseBytes: 4200, answeredBy: 'server', error: null };

  test('one dim headless line with method, URL, status, duration and bytes each way', () => {
    assert.match(formatHttpLine(record, plain), /^\d\d:\d\d:\d\d\.\d{3} http 127\.0\.0\.1:5 GET \/app\.js → 200 12 ms ↑312 B ↓4\.1 KiB$/);
    const colored = formatHttpLine(record, { color: true });
    assert.ok(colored.startsWith('\x1b[2m') && colored.endsWith('\x1b[0m'), 'dim');
    assert.match(formatHttpLine({ ...record, status: 504, answeredBy: 'proxy', error: 'target 127.0.0.1:80 did not answer within 10000 ms' }, plain), /→ 504 from the proxy .*\(target 127\.0\.0\.1:80 did not answer within 10000 ms\)$/);
  });

  test('one JSONL record', () => {
    assert.deepEqual(httpJson(record), { type: 'http', time: '2026-01-01T00:00:00.000Z', client: '127.0.0.1:5', target: '127.0.0.1:80', method: 'GET', url: '/app.js', status: 200, duration: 12, requestBytes: 312, responseBytes: 4200, answeredBy: 'server', error: null });
  });
});
