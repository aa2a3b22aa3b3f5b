/**
 * TLS peers for the tests: a `ws` echo server behind `https.createServer` with a certificate from
 * a test PKI made at test time, and the proxy harness with the TLS flags turned into what the
 * proxy needs (prepareTls), its local CA in a throwaway directory.
 */
import https from 'node:https';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocketServer, type PerMessageDeflateOptions, type RawData, type WebSocket } from 'ws';
import type { TlsOptions } from '../../src/cli/options.js';
import type { Target } from '../../src/proxy/upstream.js';
import { prepareTls, type PreparedTls } from '../../src/tls/setup.js';
import { startProxy, type HarnessOptions, type ProxyHarness } from './proxy-harness.js';
import type { TestPki } from './test-pki.js';

export interface WssTarget {
  readonly port: number;
  readonly sockets: WebSocket[];
  /** Plain HTTPS requests the server answered (method and url). */
  readonly requests: string[];
  close(): Promise<void>;
}

/**
 * A wss:// echo server on 127.0.0.1:0 whose certificate (from `pki`) names `sans`; plain requests
 * get `page` as HTML when given, else "hello over https".
 */
export async function startWssEcho(pki: TestPki, sans: readonly string[], perMessageDeflate: boolean | PerMessageDeflateOptions = false, cert = pki.server(sans), page: string | null = null): Promise<WssTarget> {
  const requests: string[] = [];
  const server = https.createServer({ cert: cert.cert, key: cert.key }, (req, res) => {
    requests.push(`${req.method} ${req.url}`);
    res.writeHead(200, { 'content-type': page === null ? 'text/plain' : 'text/html; charset=utf-8' });
    res.end(page ?? 'hello over https');
  });
  server.on('tlsClientError', () => undefined);
  const wss = new WebSocketServer({ server, perMessageDeflate });
  const sockets: WebSocket[] = [];
  wss.on('connection', (ws) => {
    sockets.push(ws);
    ws.on('message', (data: RawData, isBinary) => ws.send(data as Buffer, { binary: isBinary }));
    ws.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    sockets,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const ws of wss.clients) ws.terminate();
        wss.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface TlsProxyHarness extends ProxyHarness {
  readonly tls: PreparedTls;
  readonly caDir: string;
}

export function tlsOptions(over: Partial<TlsOptions> = {}): TlsOptions {
  return { listen: false, cert: null, key: null, caDir: '', targetCa: [], insecure: false, ignoreHosts: [], resolve: new Map(), keylogFile: null, ...over };
}

/** The proxy in front of `target` (null: forward mode) with these TLS flags; the CA lives in a temporary directory unless caDir is given. */
export async function startTlsProxy(target: Target | null, over: Partial<TlsOptions> = {}, extra: HarnessOptions = {}): Promise<TlsProxyHarness> {
  const ownDir = over.caDir === undefined ? mkdtempSync(join(tmpdir(), 'wsproxy-test-ca-')) : null;
  const caDir = over.caDir ?? ownDir!;
  const tls = await prepareTls(tlsOptions({ ...over, caDir }), target);
  const h = await startProxy(0, {
    target,
    dial: tls.dial,
    ...(tls.listenTls === undefined ? {} : { listenTls: tls.listenTls }),
    ...(tls.forward === undefined ? {} : { forward: tls.forward }),
    ...extra,
  });
  return {
    ...h,
    tls,
    caDir,
    close: async () => {
      await h.close();
      await tls.close();
      if (ownDir !== null) rmSync(ownDir, { recursive: true, force: true });
    },
  };
}
