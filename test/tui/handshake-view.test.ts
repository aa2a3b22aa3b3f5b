/**
 * The TUI puts every upgrade attempt on screen (issue items 2, 3, 4): a failed one is a row in the
 * sessions pane with its status, the handshake view names the real cause, checks the Accept of a
 * 101 only, and shows the head the target received next to the client's, changed lines marked.
 */
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createProxy, type RunningProxy } from '../../src/proxy/server.js';
import { parseHead, type HttpHead } from '../../src/protocol/handshake.js';
import { deadPort, destroyAllRaw, rawConnect, requestHead } from '../helpers/raw-peer.js';
import { COLOR, KEY, start, type Harness } from './helpers/screen.js';

let current: Harness | null = null;
let proxy: RunningProxy | null = null;
afterEach(async () => {
  destroyAllRaw();
  await proxy?.close();
  proxy = null;
  current?.close();
  current = null;
});

function head(text: string): HttpHead {
  const parsed = parseHead(Buffer.from(`${text.replace(/\n/g, '\r\n')}\r\n\r\n`, 'latin1'));
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.head;
}

async function until(check: () => boolean, ms: number, what: string, h: Harness): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${h.dump()}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('TUI: every upgrade attempt is on screen', () => {
  it('an upgrade to a dead target is a row in the sessions pane, with its status and cause', async () => {
    const h = (current = start({ cols: 260, rows: 40 }));
    // The real proxy talks to the UI through the same bus the UI listens on.
    proxy = await createProxy({
      listen: { host: '127.0.0.1', port: 0 },
      target: { host: '127.0.0.1', port: await deadPort(), basePath: '' },
      keepHost: false,
      deflate: true,
      strict: false,
      limits: { maxPreview: 65536, maxMessage: 1 << 24 },
      bus: h.proxy.bus,
    });
    const client = await rawConnect(proxy.port);
    await client.write(requestHead({ path: '/dead-end' }).head);
    await until(() => h.find('failed 502') !== null, 3000, 'the failed session row', h);
    assert.equal(h.find('no sessions yet'), null);
    const row = h.find('/dead-end')!;
    assert.match(row.line, /#1 +127\.0\.0\.1:\d+ +\/dead-end +failed 502/);
    assert.match(h.dump(), /● failed .*\/dead-end 502 target 127\.0\.0\.1:\d+: ECONNREFUSED \(answered by the proxy\)/);
    // No WebSocket opened: its close row gives no clean/unclean verdict.
    await until(() => h.find('○ closed') !== null, 3000, 'the close row', h);
    assert.match(h.find('○ closed')!.line, /○ closed no status "target 127\.0\.0\.1:\d+: ECONNREFUSED" by proxy(?!,)/);
  });

  it('a refusal reads "handshake refused: 403 Forbidden" with its body, and no Accept verdict', async () => {
    const h = (current = start({ cols: 260, rows: 40 }));
    h.proxy.open(1, {
      status: 403,
      response: head('HTTP/1.1 403 Forbidden\nContent-Length: 13'),
      acceptValid: null,
      answeredBy: 'server',
      failure: 'handshake refused: 403 Forbidden',
      body: Buffer.from('token expired'),
    });
    assert.ok(h.find('refused 403') !== null, h.dump());
    assert.ok(h.find('403 handshake refused: 403 Forbidden "token expired"') !== null, h.dump());
    assert.match(h.find('403 handshake refused')!.line, /● refused .* 403 handshake refused/);
    assert.equal(h.find('Accept invalid'), null, 'a 403 is not blamed on Sec-WebSocket-Accept');
    await h.keys(KEY.shiftTab, 'g', KEY.enter);
    const text = h.dump();
    assert.match(text, /Outcome: handshake refused: 403 Forbidden/);
    assert.match(text, /Body: token expired/);
    assert.doesNotMatch(text, /Sec-WebSocket-Accept: (in)?valid/);
  });

  it('the handshake view shows the head the target received and, where it differs, what the client sent', async () => {
    const h = (current = start({ cols: 160, rows: 50 }));
    const client = head('GET /chat HTTP/1.1\nHost: app.example:9000\nUpgrade: websocket\nConnection: Upgrade\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\nSec-WebSocket-Extensions: permessage-deflate');
    const sent = head('GET /base/chat HTTP/1.1\nHost: 127.0.0.1:12345\nUpgrade: websocket\nConnection: Upgrade\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==');
    h.proxy.open(1, { request: client, sent });
    await h.keys(KEY.shiftTab, 'g', KEY.enter);
    const text = h.dump();
    assert.match(text, /Request, as the target received it/);
    assert.match(text, /≠ GET \/base\/chat HTTP\/1\.1/);
    assert.match(text, /≠ Host: 127\.0\.0\.1:12345/);
    assert.match(text, /Request, as the client sent it/);
    assert.match(text, /≠ Host: app\.example:9000/);
    assert.match(text, /≠ Sec-WebSocket-Extensions: permessage-deflate/);
    assert.match(text, / {2}Upgrade: websocket/, 'unchanged lines are not marked');
    const mark = h.find('≠ Host: 127.0.0.1:12345')!;
    assert.equal(h.cell(mark.x, mark.y).fg, COLOR.yellow);
  });
});
