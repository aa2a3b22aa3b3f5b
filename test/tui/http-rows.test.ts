/**
 * Plain HTTP requests through a real proxy reach the TUI as rows, as they reach the headless
 * output as lines: the request, its status, and the proxy's own 502 marked.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { startProxy } from '../helpers/proxy-harness.js';
import { until } from '../helpers/raw-peer.js';
import { TuiStore, type Row } from '../../src/tui/store.js';
import { feedStore } from '../../src/tui/bus-feed.js';
import { rowSegs } from '../../src/tui/rows.js';

const logRows = (store: TuiStore): Extract<Row, { type: 'log' }>[] => store.view.slice(store.view.start, store.view.end).flatMap((r) => (r.type === 'log' ? [r] : []));
const shown = (row: Row): string => rowSegs(row).map((s) => s.text).join('');

test('a plain HTTP request is a row in the TUI, and a dead target a marked one', { timeout: 15_000 }, async () => {
  const server = http.createServer((_req, res) => res.end('hello'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const h = await startProxy((server.address() as AddressInfo).port);
  const store = new TuiStore({ history: 100, maxPreview: 1024 });
  const stop = feedStore(h.proxy.bus, store, Date.now, () => undefined);
  try {
    const res = await fetch(`http://127.0.0.1:${h.port}/page?x=1`);
    assert.equal(await res.text(), 'hello');
    const row = await until(() => logRows(store)[0], 3000, 'an http row');
    assert.equal(row.record.source, 'http');
    assert.equal(row.record.level, 'info');
    assert.match(shown(row), /\[http\] 127\.0\.0\.1:\d+ GET \/page\?x=1 → 200 \d+ ms ↑\d+ B ↓\d+ B$/);

    // The target goes away: the proxy answers 502 itself, and the row says so.
    await new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    const sock = net.connect(h.port, '127.0.0.1');
    sock.end('GET /gone HTTP/1.1\r\nHost: x\r\n\r\n');
    const failed = await until(() => logRows(store).find((r) => r.record.text.includes('/gone')), 5000, 'the 502 row');
    sock.destroy();
    assert.equal(failed.record.level, 'warn');
    assert.match(shown(failed), /GET \/gone → 502 from the proxy/);
  } finally {
    stop();
    await h.close();
    server.close();
  }
});
