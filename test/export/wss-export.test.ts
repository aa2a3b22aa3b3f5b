/**
 * A wss session on both legs (the --tls listener toward the client, a wss:// target): the capture
 * holds the decrypted bytes, so tshark decodes every frame with no keys, and the HAR's URL is
 * wss://. Certificates are made at test time with openssl.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Har } from 'har-format';
import { echo, openWs, closed } from '../helpers/proxy-harness.js';
import { hasOpenssl, makeTestPki } from '../helpers/test-pki.js';
import { startTlsProxy, startWssEcho } from '../helpers/tls-harness.js';
import { attachPcap } from '../../src/export/pcap-writer.js';
import { attachHar } from '../../src/export/har-writer.js';
import { assertValidHar } from './har-check.js';
import { HAVE_TSHARK, tsharkFields } from './tshark.js';

const skip = !hasOpenssl() ? 'openssl not installed' : !HAVE_TSHARK ? 'tshark not installed' : false;
const pki = skip === false ? makeTestPki() : null;
after(() => pki?.remove());

test('wss on both legs: the pcap carries the decrypted bytes tshark decodes, the HAR says wss://', { skip, timeout: 60_000 }, async () => {
  const server = await startWssEcho(pki!, ['DNS:localhost']);
  const h = await startTlsProxy({ host: 'localhost', port: server.port, basePath: '', tls: true }, { listen: true, targetCa: [pki!.caPath], resolve: new Map([['localhost', '127.0.0.1']]) });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsproxy-wss-export-'));
  const file = path.join(dir, 'wss.pcapng');
  const harFile = path.join(dir, 'wss.har');
  const pcap = attachPcap(h.proxy.bus, { out: fs.createWriteStream(file), endStream: true, proxyAddress: h.proxy.listening });
  const har = await attachHar(h.proxy.bus, { path: harFile, control: false, version: '0' });
  try {
    const ca = fs.readFileSync(path.join(h.caDir, 'ca.pem'));
    const ws = await openWs(`wss://localhost:${h.port}/secure`, { ca, family: 4 } as never);
    assert.equal((await echo(ws, 'secret text')).data.toString(), 'secret text');
    const done = closed(ws);
    ws.close(1000, 'done');
    await done;
    await h.waitClose(1);
    await pcap.close();
    await har.close();
    const rows = tsharkFields(file, 'websocket', ['frame.interface_id', 'websocket.opcode', 'websocket.mask', 'websocket.payload.text']);
    const texts = rows.filter((r) => r[1] === '1');
    assert.deepEqual(texts.map((r) => [r[0], r[2], r[3]]).sort(), [['0', '0', 'secret text'], ['0', '1', 'secret text'], ['1', '0', 'secret text'], ['1', '1', 'secret text']]);
    assert.equal(rows.filter((r) => r[1] === '8').length, 4, 'the close both ways on both legs');
    // No TLS records in it: the bytes are the decrypted ones.
    assert.deepEqual(tsharkFields(file, 'tls', ['frame.number']), []);
    const doc = JSON.parse(fs.readFileSync(harFile, 'utf8')) as Har;
    assertValidHar(doc);
    assert.equal(doc.log.entries[0]!.request.url, `wss://localhost:${h.port}/secure`);
  } finally {
    await pcap.close();
    await har.close();
    await h.close();
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
