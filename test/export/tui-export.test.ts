/**
 * The TUI's side of the exports, fed by a real session through the proxy: `H` writes the sessions
 * of the visible log as HAR, and the session detail shows the live stats.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Har } from 'har-format';
import { startProxy } from '../helpers/proxy-harness.js';
import { TuiStore } from '../../src/tui/store.js';
import { feedStore } from '../../src/tui/bus-feed.js';
import { harRows, writeHar } from '../../src/tui/export.js';
import { sessionDetail } from '../../src/tui/detail.js';
import { parseFilter } from '../../src/tui/filter.js';
import { resolveAction } from '../../src/tui/keymap.js';
import { assertChromeImportable, assertValidHar } from './har-check.js';
import { playSession, startSlowPongEcho } from './peers.js';

test('H writes the visible sessions as HAR; the session detail shows the stats', { timeout: 30_000 }, async () => {
  const server = await startSlowPongEcho({ pongDelayMs: 20 });
  const h = await startProxy(server.port);
  const store = new TuiStore({ history: 1000, maxPreview: 4096 });
  const stop = feedStore(h.proxy.bus, store, Date.now, () => undefined);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsproxy-tui-har-'));
  try {
    const one = await playSession(`${h.url}/one`);
    await h.waitClose(1);
    await playSession(`${h.url}/two`);
    await h.waitClose(2);
    assert.equal(resolveAction(['global'], 'H'), 'write-har');

    // Only session 2 has rows shown, and only what its client sent: session 2 is written, whole.
    const filter = parseFilter('session:2 from:client');
    assert.ok(filter.ok);
    store.setFilter(filter.filter);
    const file = path.join(dir, 'shown.har');
    const n = await writeHar(file, harRows(store), (id) => store.session(id)?.info ?? null, Date.now());
    assert.equal(n, 1);
    const doc = JSON.parse(fs.readFileSync(file, 'utf8')) as Har;
    assertValidHar(doc);
    assertChromeImportable(doc);
    assert.equal(doc.log.entries.length, 1);
    assert.match(doc.log.entries[0]!.request.url, /\/two$/);
    const sent = doc.log.entries[0]!._webSocketMessages!.filter((m) => m.type === 'send');
    assert.deepEqual(sent.map((m) => m.data), one.sent.map((m) => (typeof m === 'string' ? m : m.toString('base64'))));
    // The server's echoes too, though the filter hid them.
    const received = doc.log.entries[0]!._webSocketMessages!.filter((m) => m.type === 'receive');
    assert.deepEqual(received.map((m) => m.data), sent.map((m) => m.data));

    const detail = sessionDetail(store.session(2)!, 120).map((line) => line.map((s) => s.text).join(''));
    const at = detail.indexOf('Stats');
    assert.ok(at > 0, detail.join('\n'));
    const stats = detail.slice(at).join('\n');
    assert.match(stats, /messages +3 +3/);
    assert.match(stats, /ping RTT +2 · min \d/);
    assert.match(stats, /closed by client, 4001/);
  } finally {
    stop();
    await h.close();
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
