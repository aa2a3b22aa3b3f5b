/**
 * What the TUI's rows and detail pane say: RSV1 named by what the session negotiated, emoji and
 * wide text shown and measured, "1 frame", counters that say they count wire bytes, peer text
 * escaped, a held message row that names the message.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Opcode } from '../../src/protocol/constants.js';
import { frameDetail, payloadLines, rowDetail, sessionDetail } from '../../src/tui/detail.js';
import { plain, renderLine, seg, strWidth } from '../../src/tui/line.js';
import { heldSegs, rowSegs, sessionHeaderSegs } from '../../src/tui/rows.js';
import { TuiStore } from '../../src/tui/store.js';
import { FakeProxy } from './helpers/fake-proxy.js';
import { TERMINAL_UNSAFE } from '../helpers/terminal-safe.js';

const text = (lines: readonly (readonly { text: string }[])[]): string[] => lines.map((l) => l.map((s) => s.text).join(''));

function setUp(deflate: boolean) {
  const proxy = new FakeProxy();
  const store = new TuiStore({ history: 100, maxPreview: 4096 });
  proxy.bus.on('session-open', (s) => store.addSession(s));
  proxy.bus.on('frame', (f) => store.addFrame(f));
  proxy.open(1, deflate ? { extensions: 'permessage-deflate', deflate: { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15 } } : {});
  return { proxy, store };
}

describe('detail pane and rows', () => {
  it('RSV1 reads Per-Message Compressed only on a session that negotiated permessage-deflate', () => {
    for (const deflate of [false, true]) {
      const { proxy, store } = setUp(deflate);
      const f = proxy.frame({ payload: 'x', rsv1: true, compressed: deflate });
      const lines = text(rowDetail(store.frame(f.id)!, store.session(1), 'auto', 100));
      const rsv1 = lines.find((l) => l.includes('(RSV1)'));
      assert.equal(rsv1?.trim(), deflate ? '.1.. .... = Per-Message Compressed (RSV1): True' : '.1.. .... = Reserved (RSV1): True');
    }
  });

  it('"1 frame", and the session counters say they count wire bytes', () => {
    const { proxy, store } = setUp(false);
    proxy.frame({ payload: 'hello' });
    const lines = text(sessionDetail(store.session(1)!, 200));
    const traffic = lines.find((l) => l.startsWith('Traffic'))!;
    assert.match(traffic, /wire bytes/);
    assert.match(traffic, /C→S 1 frame, 11 B · S→C 0 frames, 0 B/);
    assert.match(plain(sessionHeaderSegs(120)), /C→S wire +S→C wire/);
  });

  it('emoji and CJK are shown as they are, two columns each, also in the JSON view', () => {
    const { proxy, store } = setUp(false);
    const f = proxy.frame({ payload: JSON.stringify({ flag: '🎌', name: '日本', bidi: 'a\u202eb', c1: '\u009b' }) });
    const row = plain(rowSegs(store.frame(f.id)!));
    assert.ok(row.includes('🎌') && row.includes('日本'), row);
    assert.ok(!row.includes('\\u{1f38c}'), row);
    assert.equal(TERMINAL_UNSAFE.exec(row), null);
    const json = text(frameDetail(store.frame(f.id)!, 'auto', 80));
    assert.ok(json.includes('  "flag": "🎌",'), json.join('\n'));
    assert.ok(json.includes('  "bidi": "a\\u202eb",'), 'bidi as a JSON escape');
    assert.ok(json.includes('  "c1": "\\u009b"'), 'C1 as a JSON escape');
    for (const l of json) assert.equal(TERMINAL_UNSAFE.exec(l), null, l);
    assert.equal(strWidth('a🎌日b'), 6);
    assert.equal(strWidth('e\u0301'), 1, 'a combining mark takes no column');
    // A line is laid out to the exact width with wide characters of the BMP in it (CJK)...
    assert.equal(renderLine([seg('ab日本 tail')], 7), 'ab日本…');
    assert.equal(renderLine([seg('ab日本')], 7), 'ab日本 ');
    // ...and narrower with astral ones (emoji), so that blessed's cut, a column per UTF-16 unit,
    // leaves its "…" (wide-rows.test.ts reads it back from the screen).
    assert.equal(renderLine([seg('🎌🎌🎌 tail')], 7), '🎌… ');
  });

  it('text view: a long line is not cut inside an escape', () => {
    const payload = Buffer.from(`${'a'.repeat(17)}zw\u200bsp${'b'.repeat(30)}\x1b${'c'.repeat(40)}`);
    for (let width = 12; width <= 40; width++) {
      const lines = text(payloadLines(payload, 'text', false, payload.length, 'text', width)).slice(1);
      for (const l of lines) {
        assert.doesNotMatch(l, /\\(?:x[0-9a-f]?|u(?:\{[0-9a-f]*)?)$/, `cut inside an escape at width ${width}: ${JSON.stringify(lines)}`);
        assert.ok(l.length <= width, `${JSON.stringify(l)} wider than ${width}`);
      }
      assert.equal(lines.join(''), `${'a'.repeat(17)}zw\\u{200b}sp${'b'.repeat(30)}\\x1b${'c'.repeat(40)}`);
    }
  });

  it('text view: controls, C1 and bidi escaped, line structure kept', () => {
    const lines = text(payloadLines(Buffer.from('one\x1b]0;t\x07\ntwo\u202e\u0085 🎉'), 'text', false, 30, 'text', 80));
    assert.deepEqual(lines.slice(1), ['one\\x1b]0;t\\x07', 'two\\u{202e}\\x85 🎉']);
  });

  it('a held message row names the message: id, session, direction, first bytes', () => {
    const row = plain(
      heldSegs({ seq: 1, since: 0, message: { id: 42, session: 3, from: 'client', kind: 'text', data: Buffer.from('buy "now"\x1b[2J'), frames: 1, compressed: false } }, 0),
    );
    assert.match(row, /42 #3 +C→S text +\d+ +0s "buy \\"now\\"\\x1b\[2J"/);
    // Ids pass five digits soon (they count frames too): shown whole, never cut.
    const big = plain(heldSegs({ seq: 2, since: 0, message: { id: 4450123, session: 4, from: 'client', kind: 'text', data: Buffer.from('x'), frames: 1, compressed: false } }, 0));
    assert.match(big, /^⏸ 4450123 #4 /);
  });

  it('open, close, log and violation rows escape what a peer sent', () => {
    const proxy = new FakeProxy();
    const store = new TuiStore({ history: 100, maxPreview: 4096 });
    proxy.bus.on('session-open', (s) => store.addSession(s));
    proxy.bus.on('frame', (f) => store.addFrame(f));
    proxy.open(1, { path: '/p\x1b]0;x\x07\u202e', protocol: 'chat\u009b', extensions: 'x\u2066' });
    proxy.frame({ opcode: Opcode.Close, payload: Buffer.from([0x03, 0xe8, 0x1b]), close: { code: 1000, reason: '\x1b"\u202e' } });
    store.addLog({ session: 1, time: 0, source: 'proxy', level: 'warn', text: 'quoted "\x1b\u0085"' });
    for (const r of [...store.view]) {
      const line = plain(rowSegs(r));
      assert.equal(TERMINAL_UNSAFE.exec(line), null, line);
    }
    const detail = text(sessionDetail(store.session(1)!, 200));
    for (const l of detail) assert.equal(TERMINAL_UNSAFE.exec(l), null, l);
  });
});

describe('TLS in the session detail and the open row', () => {
  it('names the URL, the mode and both legs, and marks an unverified target', () => {
    const proxy = new FakeProxy();
    const store = new TuiStore({ history: 100, maxPreview: 4096 });
    proxy.bus.on('session-open', (s) => store.addSession(s));
    proxy.open(1, {
      url: 'wss://app.test:8443/ws',
      mode: 'forward',
      tls: {
        client: { version: 'TLSv1.3', cipher: 'TLS_AES_128_GCM_SHA256', sni: 'app.test', alpn: 'http/1.1' },
        server: {
          version: 'TLSv1.2',
          cipher: 'ECDHE-ECDSA-AES128-GCM-SHA256',
          sni: 'app.test',
          alpn: null,
          verified: false,
          insecure: true,
          verifyError: 'CERT_HAS_EXPIRED',
          certificate: { subject: 'CN=app.test', issuer: 'CN=Test CA', validTo: 'Jan  1 00:00:00 2020 GMT', fingerprint256: 'AB:CD' },
        },
      },
    });
    const lines = text(sessionDetail(store.session(1)!, 200));
    assert.ok(lines.includes('URL: wss://app.test:8443/ws  (forward proxy)'), lines.join('\n'));
    assert.ok(lines.includes('TLS client↔proxy: TLSv1.3 TLS_AES_128_GCM_SHA256 · SNI app.test · ALPN http/1.1'));
    assert.ok(lines.includes('TLS proxy↔target: TLSv1.2 ECDHE-ECDSA-AES128-GCM-SHA256 · SNI app.test · ALPN (none)'));
    assert.ok(lines.includes('  certificate: NOT verified (--insecure): CERT_HAS_EXPIRED'));
    assert.ok(lines.includes('  issuer: CN=Test CA'));
    const plainSession = new FakeProxy();
    const store2 = new TuiStore({ history: 100, maxPreview: 4096 });
    plainSession.bus.on('session-open', (s) => store2.addSession(s));
    plainSession.open(1);
    const plainLines = text(sessionDetail(store2.session(1)!, 200));
    assert.ok(plainLines.includes('TLS client↔proxy: plaintext'));
    assert.ok(plainLines.includes('TLS proxy↔target: plaintext'));
  });
});

describe('the hex view in a narrow pane', () => {
  it('gives 8 bytes a line where 16 would wrap, and 16 where they fit', () => {
    const data = Buffer.from(Array.from({ length: 40 }, (_, i) => i * 7));
    const narrow = text(payloadLines(data, 'binary', false, 40, 'hex', 66)).slice(1);
    assert.equal(narrow.length, 5);
    for (const l of narrow) assert.ok(l.length <= 66, l);
    assert.match(narrow[1]!, /^00000008  38 3f 46 4d 54 5b 62 69 +\|8\?FMT\[bi\|$/);
    const wide = text(payloadLines(data, 'binary', false, 40, 'hex', 100)).slice(1);
    assert.equal(wide.length, 3);
    assert.equal(wide[0]!.length, 78);
  });
});
