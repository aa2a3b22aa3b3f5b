/**
 * The TUI's half of a safe terminal, under tmux: a raw client and a raw target send a request
 * path, subprotocol, extensions, payloads and a close reason carrying an OSC title sequence, CSI
 * sequences, C1 controls and bidi overrides. The screen shows them as escapes, the pane title is
 * not changed, and emoji and CJK text are shown as they are, two columns wide, without pushing
 * the rest of their line out of place.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildFrame, KEY_A, unmaskedFrame } from '../helpers/frames.js';
import { destroyAllRaw, headerValue, rawHandshake, RawServer, switchingHead, type RawConnection } from '../helpers/raw-peer.js';
import { TERMINAL_UNSAFE } from '../helpers/terminal-safe.js';
import { tmuxSkipReason, tmuxTui } from '../helpers/tmux.js';

const { start, display, capture, keys, type, until, kill } = tmuxTui({ socket: `wsproxy-hostile-${process.pid}`, cols: 160, rows: 45, keepTrailingSpaces: true });

const TITLE = '\x1b]0;PWNED\x07';
const HEAD_EVIL = `${TITLE}\x1b[2J\x9b31m`;
const TEXT_EVIL = `${TITLE}\x1b[2J\x1b[H\u009b31m\u0085\u202eevil\u2066x\u2069\u200b`;

/** Columns a character takes in the terminal: emoji and CJK two, everything else here one. */
const width = (c: string): number => (/\p{Emoji_Presentation}|[\u3000-\u9fff]/u.test(c) ? 2 : 1);

/** The character that starts at screen column `col` of a captured line, and the text from there. */
function at(line: string, col: number): { char: string; rest: string } {
  let x = 0;
  const chars = [...line];
  for (let i = 0; i < chars.length; i++) {
    if (x === col) return { char: chars[i]!, rest: chars.slice(i).join('') };
    x += width(chars[i]!);
    if (x > col) return { char: '', rest: chars.slice(i + 1).join('') };
  }
  return { char: ' ', rest: '' };
}

describe('TUI under tmux with hostile peers', { timeout: 90_000 }, () => {
  const skip = tmuxSkipReason();
  let target: RawServer | null = null;

  before(async () => {
    if (skip !== null) return;
    target = await RawServer.start({
      respond: (request) =>
        switchingHead(headerValue(request, 'sec-websocket-key') ?? '', [
          ['Sec-WebSocket-Protocol', headerValue(request, 'sec-websocket-protocol') ?? ''],
          ['Sec-WebSocket-Extensions', `x-evil; p=${HEAD_EVIL}`],
        ]),
    });
    start(`--listen 127.0.0.1:0 --target 127.0.0.1:${target.port}`);
  });

  after(async () => {
    destroyAllRaw();
    kill();
    await target?.close();
  });

  it('shows peer text escaped, keeps the pane title, and lays out emoji in two columns', async (t) => {
    if (skip !== null) {
      t.skip(skip);
      return;
    }
    const port = Number(await until('the TUI status bar', () => /wsproxy │ 127\.0\.0\.1:(\d+) →/.exec(capture())?.[1]));
    const titleBefore = display('#{pane_title}');

    const { client } = await rawHandshake(port, { path: `/room${HEAD_EVIL}`, headers: [['Sec-WebSocket-Protocol', `chat${HEAD_EVIL}`]] });
    const server: RawConnection = await until('the relayed request at the target', () => target!.connections.find((c) => c.head !== null), 3000);
    await client.write(buildFrame({ opcode: 1, payload: `c${TEXT_EVIL}`, maskKey: KEY_A }));
    await client.write(buildFrame({ opcode: 1, payload: 'emoji 🎌 and 日本語 then ascii', maskKey: KEY_A }));
    await client.write(buildFrame({ opcode: 1, payload: JSON.stringify({ flag: '🎌', bidi: 'a\u202eb', title: TITLE }), maskKey: KEY_A }));
    await server.waitFrames(3);
    await server.write(unmaskedFrame(1, `s${TEXT_EVIL}`));
    await server.write(unmaskedFrame(8, Buffer.concat([Buffer.of(0x0f, 0xa0), Buffer.from(`bye${TITLE}\u202e`)])));
    await client.waitFrames(2);

    const screen = await until('the escaped frames and close on screen', () => {
      const s = capture();
      return s.includes('"s\\x1b]0;PWNED\\x07') && s.includes('"bye\\x1b]0;PWNED\\x07') ? s : null;
    });
    // Nothing raw: no control, C1, bidi or invisible character anywhere on the screen.
    for (const line of screen.split('\n')) assert.equal(TERMINAL_UNSAFE.exec(line), null, `raw character in ${JSON.stringify(line)}`);
    assert.ok(screen.includes('"c\\x1b]0;PWNED\\x07\\x1b[2J\\x1b[H\\x9b31m'), `the client payload, escaped:\n${screen}`);
    assert.match(screen, /\/room\\x1b\]0;PWNED\\x07\\x1b\[2J/, 'the request path, escaped');
    assert.match(screen, /chat\\x1b\]0;PWNED\\x07/, 'the subprotocol, escaped');
    // The screen was not cleared by the payload's CSI: the status bar is still there.
    assert.match(screen, /wsproxy │ 127\.0\.0\.1:\d+ →/);
    const titleAfter = display('#{pane_title}');
    assert.doesNotMatch(titleAfter, /PWNED/);
    assert.equal(titleAfter, titleBefore, 'the pane title is what it was');

    // Emoji and CJK are shown, not escaped, and every line is exactly as wide as the pane.
    assert.ok(screen.includes('"emoji 🎌 and 日本語 then ascii"'), 'emoji and CJK shown as text');
    assert.ok(!screen.includes('\\u{1f38c}'), 'no escaped emoji');
    // The detail pane starts at the column its title does; on every frame-log row (emoji ones too)
    // the log ends just before it (a space or scroll mark) and the detail text starts right there.
    const lines = screen.split('\n');
    const titleRow = lines.findIndex((l) => l.startsWith('Time ') && l.includes('Frame '));
    const detailAt = [...lines[titleRow]!.slice(0, lines[titleRow]!.indexOf('Frame '))].reduce((n, c) => n + width(c), 0);
    const rows = lines.slice(titleRow + 1).filter((l) => /^\d\d:\d\d:\d\d\.\d{3} #1 /.test(l));
    assert.ok(rows.some((l) => l.includes('🎌 and 日本語')) && rows.some((l) => l.includes('"{\\"flag\\":\\"🎌')), 'the emoji rows are in the log');
    for (const row of rows) {
      assert.match(at(row, detailAt - 1).char, /^[ ▲▼]$/, `the log ends before column ${detailAt}: ${JSON.stringify(row)}`);
      assert.match(at(row, detailAt).rest, /^(?:\S|  \S|\s*$)/, `the detail starts at column ${detailAt}: ${JSON.stringify(row)}`);
    }

    // The JSON view of the detail pane shows the emoji too, and the bidi override as a JSON escape.
    keys('/');
    type('flag');
    keys('Enter');
    keys('Enter');
    const detail = await until('the JSON view', () => (capture().includes('JSON, pretty-printed') ? capture() : null));
    assert.match(detail, /"flag": "🎌",/);
    assert.match(detail, /"bidi": "a\\u202eb",/);
    assert.match(detail, /"title": "\\u001b\]0;PWNED\\u0007"/);
    for (const line of detail.split('\n').filter((l) => l !== '')) {
      assert.equal(TERMINAL_UNSAFE.exec(line), null, `raw character in ${JSON.stringify(line)}`);
    }
    assert.equal(display('#{pane_title}'), titleBefore);
  });
});
