/**
 * Headless Chromium for the tests that drive a real browser: the system's /usr/bin/chromium
 * (never a downloaded one), the same flags everywhere, and a skip reason when it is missing.
 */
import { existsSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** No sandbox or GPU in a container; no QUIC, so WebSockets ride TCP; nothing fetched on its own. */
export const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** For a test's `skip` option: false when Chromium is installed, else why the test is skipped. */
export const NO_CHROMIUM: string | false = existsSync(CHROMIUM) ? false : `SKIPPED: chromium not installed at ${CHROMIUM}`;

/** Launches headless Chromium with CHROMIUM_FLAGS and then `extraArgs` (proxy, trust, ...). */
export function launchChromium(extraArgs: readonly string[] = []): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, timeout: 30_000, args: [...CHROMIUM_FLAGS, ...extraArgs] });
}

/**
 * Page-side JavaScript, served inside a page's <script>: `await openWs(url, binaryType?)` opens a
 * WebSocket and gives `{ ws, next }`, next() resolving to each message received, in order.
 */
export const PAGE_OPEN_WS = `
async function openWs(url, binaryType) {
  const ws = new WebSocket(url);
  if (binaryType) ws.binaryType = binaryType;
  const inbox = [];
  let wake = null;
  ws.onmessage = (e) => { inbox.push(e.data); if (wake) wake(); };
  await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = () => reject(new Error('websocket error')); });
  const next = () => new Promise((resolve) => {
    if (inbox.length > 0) resolve(inbox.shift());
    else wake = () => { wake = null; resolve(inbox.shift()); };
  });
  return { ws, next };
}`;

/** The test page over plain HTTP on a loopback port of its own, as a site would serve it. */
export async function servePage(html: string): Promise<{ readonly port: number; close(): Promise<void> }> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
