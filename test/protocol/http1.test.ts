/** HTTP/1.1 framing: where a body ends, so the next head on a connection is read as a head. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseHead, type HttpHead } from '../../src/protocol/handshake.js';
import { BodyReader, canStartStatusLine, keepsAlive, requestFraming, responseFraming, type BodyFraming } from '../../src/protocol/http1.js';

function head(text: string): HttpHead {
  const parsed = parseHead(Buffer.from(`${text.replace(/\n/g, '\r\n')}\r\n\r\n`, 'latin1'));
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.head;
}

/** Feeds `bytes` split at `cuts`; returns how many bytes the body took and whether it ended. */
function feed(framing: BodyFraming, bytes: Buffer, cuts: number[]): { used: number; done: boolean; error?: string } {
  const reader = new BodyReader(framing);
  let used = 0;
  let start = 0;
  for (const end of [...cuts.filter((c) => c > 0 && c < bytes.length).sort((a, b) => a - b), bytes.length]) {
    const step = reader.push(bytes.subarray(start, end));
    if ('error' in step) return { used, done: false, error: step.error };
    used += step.used;
    if (step.done) return { used, done: true };
    start = end;
  }
  return { used, done: reader.done };
}

describe('request framing (RFC 9112 §6.3)', () => {
  test('no Content-Length and no Transfer-Encoding: no body', () => {
    assert.deepEqual(requestFraming(head('GET / HTTP/1.1\nHost: a')), { ok: true, framing: { kind: 'none' } });
  });
  test('Content-Length, and a list of one repeated value', () => {
    assert.deepEqual(requestFraming(head('POST / HTTP/1.1\nContent-Length: 5')), { ok: true, framing: { kind: 'length', length: 5 } });
    assert.deepEqual(requestFraming(head('POST / HTTP/1.1\nContent-Length: 5, 5')), { ok: true, framing: { kind: 'length', length: 5 } });
  });
  test('chunked last wins; both headers, differing lengths, or TE without chunked last are refused', () => {
    assert.deepEqual(requestFraming(head('POST / HTTP/1.1\nTransfer-Encoding: gzip, chunked')), { ok: true, framing: { kind: 'chunked' } });
    assert.equal(requestFraming(head('POST / HTTP/1.1\nTransfer-Encoding: chunked\nContent-Length: 3')).ok, false);
    assert.equal(requestFraming(head('POST / HTTP/1.1\nContent-Length: 3\nContent-Length: 4')).ok, false);
    assert.equal(requestFraming(head('POST / HTTP/1.1\nContent-Length: -1')).ok, false);
    assert.equal(requestFraming(head('POST / HTTP/1.1\nTransfer-Encoding: chunked, gzip')).ok, false);
  });
});

describe('response framing', () => {
  test('HEAD, 1xx, 204 and 304 have no body; no length means until close', () => {
    assert.deepEqual(responseFraming('HEAD', head('HTTP/1.1 200 OK\nContent-Length: 10')), { ok: true, framing: { kind: 'none' } });
    assert.deepEqual(responseFraming('GET', head('HTTP/1.1 204 No Content')), { ok: true, framing: { kind: 'none' } });
    assert.deepEqual(responseFraming('GET', head('HTTP/1.1 304 Not Modified\nContent-Length: 10')), { ok: true, framing: { kind: 'none' } });
    assert.deepEqual(responseFraming('GET', head('HTTP/1.1 426 Upgrade Required\nContent-Length: 7')), { ok: true, framing: { kind: 'length', length: 7 } });
    assert.deepEqual(responseFraming('GET', head('HTTP/1.1 200 OK')), { ok: true, framing: { kind: 'close' } });
  });
  test('keep-alive: HTTP/1.1 unless Connection: close; HTTP/1.0 only with keep-alive', () => {
    assert.equal(keepsAlive(head('HTTP/1.1 200 OK'), 'HTTP/1.1'), true);
    assert.equal(keepsAlive(head('HTTP/1.1 200 OK\nConnection: Close'), 'HTTP/1.1'), false);
    assert.equal(keepsAlive(head('HTTP/1.0 200 OK'), 'HTTP/1.0'), false);
    assert.equal(keepsAlive(head('HTTP/1.0 200 OK\nConnection: keep-alive'), 'HTTP/1.0'), true);
  });
  test('a status line can start only with "HTTP/"', () => {
    assert.equal(canStartStatusLine(Buffer.from('HT')), true);
    assert.equal(canStartStatusLine(Buffer.from('HTTP/1.1 200')), true);
    assert.equal(canStartStatusLine(Buffer.from('SSH-2.0')), false);
    assert.equal(canStartStatusLine(Buffer.from('\x16\x03\x01')), false);
  });
});

describe('BodyReader', () => {
  const chunked = Buffer.from('5;ext=1\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Trailer: t\r\n\r\n', 'latin1');
  const next = Buffer.from('GET /next HTTP/1.1\r\n\r\n');

  test('a chunked body ends exactly at its last CRLF, split anywhere', () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: chunked.length + next.length }), { maxLength: 6 }), (cuts) => {
        const got = feed({ kind: 'chunked' }, Buffer.concat([chunked, next]), cuts);
        assert.deepEqual(got, { used: chunked.length, done: true });
      }),
    );
  });
  test('a Content-Length body takes its length and no more', () => {
    assert.deepEqual(feed({ kind: 'length', length: 7 }, Buffer.from('0123456789'), [3]), { used: 7, done: true });
  });
  test('a close-delimited body takes everything until end()', () => {
    const reader = new BodyReader({ kind: 'close' });
    assert.deepEqual(reader.push(Buffer.from('abc')), { used: 3, done: false });
    assert.equal(reader.end(), true);
    assert.equal(new BodyReader({ kind: 'length', length: 3 }).end(), false, 'a length body cut short is not done');
  });
  test('malformed chunk framing is an error, not a guess', () => {
    assert.match(feed({ kind: 'chunked' }, Buffer.from('zz\r\n'), []).error ?? '', /invalid chunk size/);
    assert.match(feed({ kind: 'chunked' }, Buffer.from('3\r\nabcX'), []).error ?? '', /CRLF/);
    assert.match(feed({ kind: 'chunked' }, Buffer.from('fffffffffffffff\r\n'), []).error ?? '', /too large/);
  });
});
