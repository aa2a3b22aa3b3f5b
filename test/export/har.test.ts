/**
 * --har against real peers: the file validates against the HAR 1.2 schema and Chrome's importer
 * checks, its messages are what the peers sent, it is rewritten atomically at each close and at
 * exit, and `wsproxy har` makes the same entries from a JSONL log.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Har } from 'har-format';
import { openWs, startProxy, closed } from '../helpers/proxy-harness.js';
import { maskedFrame } from '../helpers/frames.js';
import { rawHandshake, until } from '../helpers/raw-peer.js';
import { attachHar } from '../../src/export/har-writer.js';
import { attachJsonl } from '../../src/output/jsonl.js';
import { readLog } from '../../src/export/log-reader.js';
import { harEntryFromLog } from '../../src/export/har-from-log.js';
import { harDocument } from '../../src/export/har.js';
import { assertChromeImportable, assertValidHar } from './har-check.js';
import { messages, playSession, startSlowPongEcho } from './peers.js';

const readHar = (file: string): Har => JSON.parse(readFileSync(file, 'utf8')) as Har;
const tmp = (): string => mkdtempSync(path.join(os.tmpdir(), 'wsproxy-har-'));

for (const deflate of [false, true]) {
  test(`a session's HAR validates and carries the messages both peers sent (deflate ${deflate})`, async () => {
    const server = await startSlowPongEcho({ pongDelayMs: 5, deflate });
    const h = await startProxy(server.port);
    const dir = tmp();
    const file = path.join(dir, 'out.har');
    const logFile = path.join(dir, 'log.jsonl');
    const har = await attachHar(h.proxy.bus, { path: file, control: true, version: '0.0.0-test' });
    const log = await attachJsonl(h.proxy.bus, logFile);
    try {
      const { sent } = await playSession(`${h.url}/room?x=1&y=two`, { deflate });
      await h.waitClose(1);
      await har.close();
      const doc = readHar(file);
      assertValidHar(doc);
      assertChromeImportable(doc);
      assert.equal(doc.log.entries.length, 1);
      const e = doc.log.entries[0]!;
      assert.equal(e.request.method, 'GET');
      const host = e.request.headers.find((x) => x.name.toLowerCase() === 'host')!.value;
      assert.equal(e.request.url, `ws://${host}/room?x=1&y=two`);
      assert.deepEqual(e.request.queryString, [{ name: 'x', value: '1' }, { name: 'y', value: 'two' }]);
      assert.equal(e.response.status, 101);
      assert.equal(e.response.statusText, 'Switching Protocols');
      // Headers in the order they were received.
      assert.deepEqual(e.request.headers.map((x) => [x.name, x.value]), h.opens[0]!.request.headers.map(([n, v]) => [n, v]));
      assert.deepEqual(e.response.headers.map((x) => [x.name, x.value]), h.opens[0]!.response.headers.map(([n, v]) => [n, v]));
      assert.equal(e.request.headersSize, h.opens[0]!.request.raw.length);
      assert.equal(e.response.headersSize, h.opens[0]!.response.raw.length);

      const items = e._webSocketMessages!;
      const data = items.filter((m) => m.opcode === 1 || m.opcode === 2);
      const expected = sent.flatMap((m) => {
        const item = typeof m === 'string' ? { opcode: 1, data: m } : { opcode: 2, data: m.toString('base64') };
        return [{ type: 'send', ...item }, { type: 'receive', ...item }];
      });
      assert.deepEqual(data.map((m) => ({ type: m.type, opcode: m.opcode, data: m.data })), expected);
      // Times are the bus records' own clock readings, in seconds.
      const records = h.messages.filter((m) => m.session === 1);
      assert.deepEqual(data.map((m) => m.time), records.map((m) => m.time / 1000));
      const first = data[0] as Record<string, unknown>;
      assert.equal(first['_compressed'], deflate);
      assert.equal(first['_frames'], 1);
      assert.equal(first['_wireBytes'], h.frames.find((f) => f.session === 1 && f.kind === 'text')!.header.length + h.frames.find((f) => f.session === 1 && f.kind === 'text')!.length);

      // --har-control: pings, pongs and the close frames, payload in base64.
      const control = items.filter((m) => m.opcode >= 8);
      assert.deepEqual(control.filter((m) => m.opcode === 9).map((m) => Buffer.from(m.data, 'base64').toString()), ['p1', 'p2', 'unanswered']);
      assert.deepEqual(control.filter((m) => m.opcode === 10).map((m) => m.type), ['receive', 'receive']);
      const closeItem = control.find((m) => m.opcode === 8 && m.type === 'send')!;
      const body = Buffer.from(closeItem.data, 'base64');
      assert.equal(body.readUInt16BE(0), 4001);
      assert.equal(body.subarray(2).toString(), 'done here');
      const meta = e['_wsproxy'] as { close: { code: number; by: string }; stats: { client: { messages: number } } };
      assert.deepEqual([meta.close.code, meta.close.by], [4001, 'client']);
      assert.equal(meta.stats.client.messages, 3);

      // The same entry from the JSONL log (wsproxy har).
      await log.close();
      const [recorded] = await readLog(logFile);
      const fromLog = harDocument([harEntryFromLog(recorded!, { control: true })], '0.0.0-test');
      assertValidHar(fromLog);
      assert.deepEqual(fromLog.log.entries[0]!._webSocketMessages, items);
      assert.deepEqual(fromLog.log.entries[0]!.request, e.request);
      assert.deepEqual(fromLog.log.entries[0]!.response, e.response);
      // Without --har-control only data messages.
      const plain = harEntryFromLog(recorded!, { control: false });
      assert.deepEqual(plain._webSocketMessages, data);
    } finally {
      await har.close();
      await log.close().catch(() => undefined);
      await h.close();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('the HAR is rewritten atomically when a session closes, and at exit with the sessions still open', async () => {
  const server = await startSlowPongEcho();
  const h = await startProxy(server.port);
  const dir = tmp();
  const file = path.join(dir, 'out.har');
  const har = await attachHar(h.proxy.bus, { path: file, control: false, version: '0' });
  try {
    assert.equal(readHar(file).log.entries.length, 0, 'an empty HAR at start');
    const a = await openWs(h.url + '/a');
    const b = await openWs(h.url + '/b');
    const got = messages(b, 1);
    b.send('still open');
    await got;
    const done = closed(a);
    a.close(1000);
    await done;
    await h.waitClose(1);
    const closedOf = (doc: Har, suffix: string): unknown => (doc.log.entries.find((e) => e.request.url.endsWith(suffix))?.['_wsproxy'] as { close: unknown } | undefined)?.close;
    await until(() => readHar(file).log.entries.length === 2 && closedOf(readHar(file), '/a') != null, 3000, 'the HAR written at the close of /a');
    // Written at that close: /a with its close, /b as far as it got.
    const atClose = readHar(file);
    assert.equal(closedOf(atClose, '/b'), null);
    assert.deepEqual(atClose.log.entries.find((e) => e.request.url.endsWith('/b'))!._webSocketMessages!.map((m) => m.data), ['still open', 'still open']);
    // No temporary file is left behind.
    assert.deepEqual(readdirSync(dir), ['out.har']);
    const more = messages(b, 1);
    b.send('after the write');
    await more;
    await har.close();
    const doc = readHar(file);
    assertValidHar(doc);
    assert.equal(doc.log.entries.length, 2);
    const open = doc.log.entries.find((e) => e.request.url.endsWith('/b'))!;
    assert.deepEqual(open._webSocketMessages!.map((m) => [m.type, m.data]), [['send', 'still open'], ['receive', 'still open'], ['send', 'after the write'], ['receive', 'after the write']]);
    assert.equal(closedOf(doc, '/b'), null);
    b.terminate();
  } finally {
    await har.close();
    await h.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('text that is not UTF-8 is base64 with a marker; a long payload is cut at --max-preview and marked', async () => {
  const server = await startSlowPongEcho();
  const h = await startProxy(server.port, { limits: { maxPreview: 100, maxMessage: 1 << 20 } });
  const dir = tmp();
  const file = path.join(dir, 'out.har');
  const har = await attachHar(h.proxy.bus, { path: file, control: false, version: '0' });
  try {
    const { client } = await rawHandshake(h.port);
    client.write(maskedFrame(1, Buffer.from([0x68, 0xff, 0xfe])));
    client.write(maskedFrame(1, 'x'.repeat(300)));
    await until(() => h.messages.filter((m) => m.from === 'server').length === 2 || h.closes.length > 0, 3000, 'echoes');
    await har.close();
    const doc = readHar(file);
    assertValidHar(doc);
    assertChromeImportable(doc);
    const sent = doc.log.entries[0]!._webSocketMessages!.filter((m) => m.type === 'send') as Record<string, unknown>[];
    assert.equal(sent[0]!['data'], Buffer.from([0x68, 0xff, 0xfe]).toString('base64'));
    assert.equal(sent[0]!['_encoding'], 'base64');
    assert.equal(sent[0]!['_invalidUtf8'], true);
    assert.equal(sent[1]!['data'], 'x'.repeat(100));
    assert.equal(sent[1]!['_truncated'], true);
    assert.equal(sent[1]!['_length'], 300);
    client.destroy();
  } finally {
    await har.close();
    await h.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a refused handshake is an entry with the real status line and headers, and no messages', async () => {
  const { createServer } = await import('node:http');
  const target = createServer();
  target.on('upgrade', (_req, socket) => socket.end('HTTP/1.1 403 Forbidden\r\nX-Why: no-token\r\nContent-Length: 6\r\n\r\nnope!\n'));
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  const h = await startProxy((target.address() as { port: number }).port);
  const dir = tmp();
  const file = path.join(dir, 'out.har');
  const har = await attachHar(h.proxy.bus, { path: file, control: false, version: '0' });
  try {
    await assert.rejects(openWs(`${h.url}/private`));
    await h.waitClose(1);
    await har.close();
    const doc = readHar(file);
    assertValidHar(doc);
    assertChromeImportable(doc);
    const e = doc.log.entries[0]!;
    assert.equal(e.response.status, 403);
    assert.equal(e.response.statusText, 'Forbidden');
    assert.deepEqual(e.response.headers.map((x) => [x.name, x.value]), [['X-Why', 'no-token'], ['Content-Length', '6']]);
    assert.deepEqual(e._webSocketMessages, []);
  } finally {
    await har.close();
    await h.close();
    await new Promise<void>((resolve) => target.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  }
});
