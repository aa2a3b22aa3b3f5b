/**
 * The whole UI on in-memory terminal streams: records go in through a fake proxy's bus, keys go in
 * as terminal bytes, and assertions read what blessed drew (text and colours per cell).
 */
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Opcode } from '../../src/protocol/constants.js';
import { violation } from '../../src/protocol/violations.js';
import { COLOR, KEY, start, type Harness } from './helpers/screen.js';
import { handshake } from './helpers/fake-proxy.js';

let current: Harness | null = null;
function ui(options: Parameters<typeof start>[0] = {}): Harness {
  current = start(options);
  return current;
}
afterEach(() => {
  current?.close();
  current = null;
});

const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function row(h: Harness, needle: string): { line: string; y: number; x: number } {
  const found = h.find(needle);
  assert.ok(found !== null, `"${needle}" is not on screen:\n${h.dump()}`);
  return found;
}

describe('TUI screen', () => {
  it('draws each frame as a row: time, session, direction, kind, flags, length, preview', () => {
    const h = ui();
    h.proxy.open(1);
    h.proxy.frame({ payload: 'hello' });
    h.proxy.frame({ from: 'server', opcode: Opcode.Binary, payload: Buffer.from([0xde, 0xad, 0xbe, 0xef]) });
    const c2s = row(h, '"hello"');
    assert.match(c2s.line, /^\d\d:\d\d:\d\d\.\d{3} #1 +C→S text +FIN \.\.\. +5 "hello"/);
    const s2c = row(h, 'de ad be ef');
    assert.match(s2c.line, /#1 +S→C binary +FIN \.\.\. +4 de ad be ef/);
    // The two directions have their own colours.
    const a = row(h, 'C→S text');
    assert.equal(h.cell(a.x, a.y).fg, COLOR.cyan);
    const b = row(h, 'S→C binary');
    assert.equal(h.cell(b.x, b.y).fg, COLOR.magenta);
    // Sessions list and the open line.
    assert.match(row(h, '127.0.0.1:50001').line, /#1 +127\.0\.0\.1:50001 +\/chat +open +1 11B +1 6B/);
    assert.ok(h.find('● open 127.0.0.1:50001 → localhost:12345 /chat') !== null);
  });

  it('shows close codes, flags violations in red, marks injected, modified and compressed frames', () => {
    const h = ui({ cols: 100 });
    h.proxy.open(1);
    h.proxy.frame({ opcode: Opcode.Close, payload: Buffer.from([0x03, 0xe9, 0x62]), close: { code: 1001, reason: 'b' } });
    h.proxy.frame({ payload: 'bad', violations: [violation('invalid-utf8')] });
    h.proxy.frame({ from: 'server', payload: 'made up', origin: 'injected' });
    h.proxy.frame({ payload: 'changed', origin: 'modified' });
    h.proxy.frame({ payload: 'squeezed', rsv1: true, compressed: true });
    assert.match(row(h, 'close').line, /C→S close +FIN \.\.\. +3 1001 Going Away "b"/);
    const bad = row(h, '⚠ invalid-utf8');
    assert.equal(h.cell(bad.x, bad.y).fg, COLOR.red);
    assert.equal(h.cell(bad.line.indexOf('text'), bad.y).fg, COLOR.red, 'the kind turns red too');
    const inj = row(h, '[inj]');
    assert.equal(h.cell(inj.x, inj.y).fg, COLOR.yellow);
    assert.ok(row(h, '[mod] "changed"'));
    assert.match(row(h, '[z]').line, /FIN 1\.\. +8 \[z\] "squeezed"/);
  });

  it('follows the tail, stays put when the user scrolls up, and follows again with G', async () => {
    const h = ui();
    h.proxy.open(1);
    for (let i = 0; i < 40; i++) h.proxy.frame({ payload: `msg ${i}` });
    assert.ok(h.find('"msg 39"') !== null);
    await h.keys('k', 'k');
    for (let i = 40; i < 45; i++) h.proxy.frame({ payload: `msg ${i}` });
    assert.equal(h.find('"msg 44"'), null, 'new rows do not scroll the view');
    assert.ok(h.find('"msg 39"') !== null);
    // Rows below the view: the 5 that arrived (moving the selection up did not scroll it).
    assert.ok(h.find('paused, 5 below ↓') !== null, 'the title says so');
    assert.ok(h.find('paused, 5 below │') !== null, 'the status bar says so');
    await h.keys('G');
    assert.ok(h.find('"msg 44"') !== null);
    assert.equal(h.find('paused'), null);
    await h.keys('p');
    h.proxy.frame({ payload: 'msg 45' });
    assert.equal(h.find('"msg 45"'), null, 'p pauses too');
    await h.keys('p');
    assert.ok(h.find('"msg 45"') !== null);
  });

  it('moves with arrows, j/k, g/G, PgUp/PgDn, and highlights the selection', async () => {
    const h = ui();
    for (let i = 0; i < 60; i++) h.proxy.frame({ payload: `row ${i}` });
    await h.keys('g');
    const first = row(h, '"row 0"');
    assert.equal(h.cell(0, first.y).inverse, true);
    await h.keys(KEY.pageDown);
    assert.equal(h.find('"row 0"'), null);
    await h.keys(KEY.pageUp, KEY.down, 'j');
    const third = row(h, '"row 2"');
    assert.equal(h.cell(0, third.y).inverse, true);
    await h.keys(KEY.up);
    assert.equal(h.cell(0, row(h, '"row 1"').y).inverse, true);
  });

  it('filters with / as you type; Enter keeps it, Esc goes back', async () => {
    const h = ui();
    h.proxy.open(1);
    h.proxy.frame({ payload: 'from client' });
    h.proxy.frame({ from: 'server', payload: 'from server' });
    h.proxy.frame({ from: 'server', opcode: Opcode.Ping, payload: 'ping' });
    await h.keys('/', 'from:server');
    assert.match(h.text()[23]!, /^\/ from:server/);
    assert.equal(h.find('"from client"'), null, 'applied while typing');
    await h.keys(' kind:text', KEY.enter);
    assert.ok(h.find('"from server"') !== null);
    assert.equal(h.find('"ping"'), null);
    assert.ok(h.find('filter: from:server kind:text') !== null, 'active filter in the status bar');
    assert.ok(h.find('1 of 4 rows') !== null);
    // The filter is for the screen only: the rows are all still there.
    await h.keys('/', ' !server', KEY.escape);
    assert.ok(h.find('"from server"') !== null, 'Esc restores the filter as it was');
    await h.keys('/', KEY.backspace.repeat(40), KEY.enter);
    assert.ok(h.find('"from client"') !== null && h.find('"ping"') !== null);
  });

  it('shows filter errors in the prompt and keeps the last filter that parsed', async () => {
    const h = ui();
    h.proxy.frame({ payload: 'one' });
    h.proxy.frame({ payload: 'two' });
    await h.keys('/', 'one /unclosed');
    assert.match(h.text()[23]!, /unterminated regular expression/);
    assert.ok(h.find('"two"') === null, 'still filtered by "one"');
    const y = 23;
    const x = h.text()[y]!.indexOf('unterminated');
    assert.equal(h.cell(x, y).fg, COLOR.red);
    await h.keys(KEY.enter);
    assert.match(h.text()[23]!, /^\/ /, 'Enter does not accept a broken filter');
    await h.keys(KEY.escape);
  });

  it('holds messages while intercept is on until a forwards them', async () => {
    const h = ui();
    h.proxy.open(1);
    await h.keys('i');
    assert.ok(h.find('intercept ON') !== null);
    const first = h.proxy.deliver(1, 'client', 'text', 'first');
    const second = h.proxy.deliver(1, 'server', 'text', 'second');
    await wait(5);
    assert.ok(h.find('⏸ 2 held') !== null, 'count in the status bar');
    const held = row(h, '⏸ Held 2');
    assert.ok(held.y > 3);
    assert.match(row(h, '"first"').line, /⏸ +\d+ #1 +C→S text/);
    let settled = false;
    void first.then(() => (settled = true));
    await wait(5);
    assert.equal(settled, false, 'a held message waits');
    await h.keys('a');
    const r1 = await first;
    assert.equal(r1.changedBy, null);
    assert.equal(Buffer.from(r1.messages[0]!.data).toString(), 'first');
    assert.ok(h.find('⏸ 1 held') !== null);
    await h.keys('A');
    assert.equal((await second).changedBy, null);
    assert.equal(h.find('⏸'), null);
  });

  it('edits a held JSON message in the editor pane and forwards it compact', async () => {
    const h = ui();
    h.proxy.open(1);
    await h.keys('i');
    const result = h.proxy.deliver(1, 'client', 'text', '{"op":"buy","qty":1}');
    await wait(5);
    await h.keys('e');
    assert.ok(h.find('Edit held message') !== null);
    assert.ok(h.find('"op": "buy",') !== null, 'pretty-printed for editing');
    // Go to line 3 (the qty line), end of line, replace 1 by 5.
    await h.keys(KEY.down, KEY.down, KEY.end, KEY.backspace, '5');
    assert.ok(h.find('"qty": 5') !== null);
    await h.keys(KEY.ctrlS);
    const r = await result;
    assert.equal(r.changedBy, 'intercept');
    assert.equal(Buffer.from(r.messages[0]!.data).toString(), '{"op":"buy","qty":5}');
    assert.ok(h.find('[mod] "{\\"op\\":\\"buy\\",\\"qty\\":5}"') !== null, 'the modified frame is in the log');
    assert.ok(h.find('✎ modified by intercept') !== null);
  });

  it('refuses invalid JSON once, then sends it as text; Esc leaves the message held', async () => {
    const h = ui();
    h.proxy.open(1);
    await h.keys('i');
    const result = h.proxy.deliver(1, 'client', 'text', '[1]');
    await wait(5);
    await h.keys('e', KEY.escape);
    assert.ok(h.find('⏸ 1 held') !== null);
    await h.keys('e', KEY.down, KEY.down, KEY.end, ',', KEY.ctrlS);
    assert.ok(h.find('not valid JSON') !== null);
    await h.keys(KEY.ctrlS);
    assert.equal(Buffer.from((await result).messages[0]!.data).toString(), '[\n  1\n],');
  });

  it('edits binary messages as hex', async () => {
    const h = ui();
    h.proxy.open(1);
    await h.keys('i');
    const result = h.proxy.deliver(1, 'server', 'binary', Buffer.from([0x01, 0x02]));
    await wait(5);
    await h.keys('e');
    assert.ok(h.find('01 02') !== null);
    await h.keys(KEY.end, ' ff', KEY.ctrlS);
    assert.deepEqual([...(await result).messages[0]!.data], [0x01, 0x02, 0xff]);
  });

  it('drops a held message with d, and the log says so', async () => {
    const h = ui({ cols: 100 });
    h.proxy.open(1);
    await h.keys('i');
    const result = h.proxy.deliver(1, 'client', 'text', 'unwanted');
    await wait(5);
    await h.keys('d');
    const r = await result;
    assert.equal(r.dropped, true);
    const line = row(h, '✗ dropped by intercept');
    assert.equal(h.cell(line.x, line.y).fg, COLOR.red);
    // The status line and the log row name the message: its id and first bytes.
    assert.match(row(h, 'dropped message').line, /dropped message \d+ \(#1 C→S text, 8 B\) "unwanted"/);
    assert.match(line.line, /text message \d+, 8 B \(not delivered\) "unwanted"/);
  });

  it('turning intercept off forwards everything held', async () => {
    const h = ui();
    h.proxy.open(1);
    await h.keys('i');
    const result = h.proxy.deliver(1, 'client', 'text', 'x');
    await wait(5);
    await h.keys('i');
    assert.equal((await result).changedBy, null);
    assert.ok(h.find('forwarded 1 held') !== null);
  });

  it('sets an intercept filter with I that only holds what matches', async () => {
    const h = ui();
    h.proxy.open(1);
    // Ctrl-U clears the prompt (it is page-up in the lists).
    await h.keys('I', KEY.ctrlU, 'from:server', KEY.enter);
    assert.ok(h.find('intercept ON: from:server') !== null);
    assert.equal((await h.proxy.deliver(1, 'client', 'text', 'passes')).changedBy, null);
    const held = h.proxy.deliver(1, 'server', 'text', 'held');
    await wait(5);
    assert.ok(h.find('⏸ 1 held') !== null);
    await h.keys('a');
    await held;
  });

  it('sends a frame into the selected session with s (direction, kind, payload)', async () => {
    const h = ui();
    const s = h.proxy.open(1);
    h.proxy.frame({ payload: 'hi' });
    await h.keys('s');
    assert.ok(h.find('Send into session #1') !== null);
    assert.ok(h.find('[ to server ]') !== null, 'defaults to the direction of the selected frame');
    await h.keys(KEY.right);
    assert.ok(h.find('[ to client ]') !== null);
    await h.keys(KEY.tab, KEY.right, KEY.tab, 'cafe 01', KEY.ctrlS);
    assert.deepEqual(s.sent.length, 1);
    const sent = s.sent[0]!;
    assert.equal(sent.to, 'client');
    assert.equal(sent.kind, 'binary');
    assert.deepEqual([...(sent.data as Uint8Array)], [0xca, 0xfe, 0x01]);
    assert.ok(h.find('sent binary, 3 B to the client of session #1') !== null);
  });

  it('typing on the direction field types the payload', async () => {
    const h = ui();
    const s = h.proxy.open(1);
    h.proxy.frame({ payload: 'hi' });
    await h.keys('s', ...'inj hello', KEY.ctrlS);
    assert.deepEqual(s.sent[0], { to: 'server', kind: 'text', data: 'inj hello' });
  });

  it('sends close frames with a code and reason, and says what is wrong with a bad one', async () => {
    const h = ui();
    const s = h.proxy.open(1);
    h.proxy.frame({ payload: 'hi' });
    await h.keys('s', KEY.tab, KEY.left, KEY.tab);
    assert.ok(h.find('[ close ]') !== null);
    await h.keys(KEY.backspace.repeat(4), '1005', KEY.tab, 'bye', KEY.ctrlS);
    assert.ok(h.find('may not be sent') !== null);
    assert.equal(s.sent.length, 0);
    await h.keys(KEY.shiftTab, KEY.backspace.repeat(4), '4000', KEY.ctrlS);
    assert.deepEqual(s.sent[0], { to: 'server', kind: 'close', code: 4000, reason: 'bye' });
  });

  it('resends the selected message with r, in its session and direction', async () => {
    const h = ui();
    const s = h.proxy.open(1);
    h.proxy.frame({ from: 'server', payload: 'again' });
    h.proxy.frame({ opcode: Opcode.Ping, payload: 'p' });
    await h.keys('k', 'r');
    assert.deepEqual(s.sent[0], { to: 'client', kind: 'text', data: Buffer.from('again') });
    await h.keys('j', 'r');
    assert.deepEqual(s.sent[1], { to: 'server', kind: 'ping', data: Buffer.from('p') });
  });

  it('resends a fragmented message whole, and refuses a truncated one', async () => {
    const h = ui();
    const s = h.proxy.open(1);
    h.proxy.frame({ payload: 'frag', fin: false });
    h.proxy.frame({ payload: 'mented', opcode: Opcode.Continuation });
    h.proxy.message({ payload: Buffer.from('fragmented'), frames: 2 });
    h.proxy.frame({ payload: 'cut', truncated: true, length: 100000 });
    await h.keys('k', 'r');
    assert.deepEqual(s.sent[0], { to: 'server', kind: 'text', data: Buffer.from('fragmented') });
    await h.keys('j', 'r');
    assert.equal(s.sent.length, 1);
    assert.ok(h.find('not resent') !== null);
  });

  it('shows a frame decoded bit by bit, with its masking key and pretty JSON', async () => {
    const h = ui({ rows: 40 });
    h.proxy.open(1);
    h.proxy.frame({ payload: '{"a":[1,2]}' });
    await h.keys(KEY.enter);
    const text = h.dump();
    assert.match(text, /1\.\.\. \.\.\.\. = Fin: True/);
    assert.match(text, /\.\.\.\. 0001 = Opcode: Text \(1\)/);
    assert.match(text, /1\.\.\. \.\.\.\. = Mask: True/);
    assert.match(text, /Masking-Key: 37fa213d/);
    assert.match(text, /Payload \(11 B, JSON, pretty-printed\)/);
    assert.match(text, /"a": \[/);
    const key = row(h, '"a": [');
    assert.equal(h.cell(key.x + 1, key.y).fg, COLOR.cyan, 'JSON keys are coloured');
  });

  it('shows binary payloads as a hex dump with offsets and ASCII, and compressed frames as inflated', async () => {
    const h = ui({ rows: 40 });
    h.proxy.open(1);
    h.proxy.frame({ from: 'server', opcode: Opcode.Binary, payload: Buffer.from('\x00\x01ABCDEFGHIJKLMNOPQRS', 'latin1'), rsv1: true, compressed: true, length: 9 });
    await h.keys(KEY.enter);
    const text = h.dump();
    assert.match(text, /\[z\] compressed \(permessage-deflate\): shown inflated; 9 B on the wire/);
    assert.match(text, /00000000  00 01 41 42 43 44 45 46  47 48 49 4a 4b 4c 4d 4e  \|\.\.ABCDEFGHIJKLMN\|/);
    assert.match(text, /00000010  4f 50 51 52 53/);
    assert.match(text, /Masking-Key: none/);
    await h.keys('x');
    assert.match(h.dump(), /view: hex/);
  });

  it('shows the handshake of the selected session with the Sec-WebSocket-Accept check', async () => {
    const h = ui({ rows: 40 });
    h.proxy.open(1);
    const bad = handshake('dGhlIHNhbXBsZSBub25jZQ==', 'AAAAAAAAAAAAAAAAAAAAAAAAAAA=');
    h.proxy.open(2, { ...bad, acceptValid: false, protocol: 'chat', extensions: 'permessage-deflate' });
    await h.keys(KEY.shiftTab);
    await h.keys('g', KEY.enter);
    let text = h.dump();
    assert.match(text, /Session #1/);
    const ok = row(h, 'valid ✓');
    assert.equal(h.cell(ok.x, ok.y).fg, COLOR.green);
    assert.match(text, /GET \/chat HTTP\/1\.1/);
    await h.keys('G');
    assert.match(h.dump(), /HTTP\/1\.1 101 Switching Protocols/);
    await h.keys(KEY.enter, 'j', KEY.enter);
    text = h.dump();
    assert.match(text, /Session #2/);
    const bad2 = row(h, 'invalid ✗');
    assert.equal(h.cell(bad2.x, bad2.y).fg, COLOR.red);
    assert.match(text, /expected s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=/);
    assert.match(text, /Subprotocol: chat/);
  });

  it('lists every key in the help screen', async () => {
    const h = ui({ cols: 120, rows: 60 });
    await h.keys('?');
    let text = h.dump();
    await h.keys('G');
    text += h.dump();
    for (const needle of ['Ctrl-S', 'PgDn', 'Shift-Tab', 'Intercept on/off', 'Resend the selected message', 'Filter language']) assert.ok(text.includes(needle), needle);
    await h.keys(KEY.escape);
    assert.equal(h.find('Filter language'), null);
  });

  it('asks before quitting with open sessions, then closes the proxy and restores the terminal', async () => {
    const h = ui();
    h.proxy.open(1);
    await h.keys('q');
    assert.match(h.text()[23]!, /Quit\? 1 open session will be closed with 1001 Going Away\. \[y\/n\]/);
    await h.keys('n');
    assert.equal(h.proxy.closeCalls, 0);
    let out = '';
    h.term.output.on('data', (d: Buffer) => (out += d.toString('latin1')));
    await h.keys('q', 'y');
    await h.handle.closed;
    assert.equal(h.proxy.closeCalls, 1);
    assert.ok(out.includes('\x1b[?1049l'), 'left the alternate screen');
    assert.ok(out.includes('\x1b[?25h'), 'cursor shown again');
  });

  it('quits without asking when nothing is open', async () => {
    const h = ui();
    await h.keys('q');
    await h.handle.closed;
    assert.equal(h.proxy.closeCalls, 1);
  });

  it('batches renders while traffic flows', async () => {
    const h = ui({ maxRenderRate: 20 });
    h.proxy.open(1);
    await wait(60);
    const before = h.app.renders;
    for (let i = 0; i < 2000; i++) h.proxy.frame({ payload: `n${i}` });
    await wait(120);
    const renders = h.app.renders - before;
    assert.ok(renders >= 1 && renders <= 3, `${renders} renders for 2000 frames`);
    assert.ok(h.find('"n1999"') !== null);
  });

  it('keeps a bounded history', () => {
    const h = ui({ history: 50 });
    for (let i = 0; i < 200; i++) h.proxy.frame({ payload: `n${i}` });
    assert.equal(h.app.store.size, 50);
    assert.ok(h.find('50 rows') !== null);
  });

  it('redraws on resize, from 80x24 to wide and back', async () => {
    const h = ui();
    h.proxy.open(1);
    h.proxy.frame({ payload: 'hello' });
    h.term.resize(200, 60);
    await wait(60);
    let lines = h.text();
    assert.equal(lines.length, 60);
    assert.equal(lines[0]!.length, 200);
    assert.ok(h.find('Frame 1') !== null, 'the wide layout shows the detail beside the log');
    h.term.resize(80, 24);
    await wait(60);
    lines = h.text();
    assert.equal(lines.length, 24);
    assert.equal(h.find('Frame 1'), null);
    assert.ok(h.find('"hello"') !== null);
  });

  it('writes the visible log to a JSONL file with w', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsproxy-tui-'));
    const h = ui({ cwd: dir });
    h.proxy.open(1);
    h.proxy.frame({ payload: 'keep' });
    h.proxy.frame({ from: 'server', payload: 'skip' });
    await h.keys('/', 'keep', KEY.enter, 'w', KEY.backspace.repeat(40), 'out.jsonl', KEY.enter);
    // The file is written asynchronously: wait (bounded) for the status line that says it is done.
    for (let i = 0; i < 200 && h.find('wrote 1 rows') === null; i++) await wait(10);
    const lines = fs.readFileSync(path.join(dir, 'out.jsonl'), 'utf8').trim().split('\n');
    assert.equal(lines.length, 1);
    const record = JSON.parse(lines[0]!);
    assert.equal(record.type, 'frame');
    assert.equal(record.payload, 'keep');
    assert.ok(h.find('wrote 1 rows') !== null);
    fs.rmSync(dir, { recursive: true });
  });

  it('clears the log with c and keeps the sessions', async () => {
    const h = ui();
    h.proxy.open(1);
    h.proxy.frame({ payload: 'x' });
    await h.keys('c');
    assert.equal(h.find('"x"'), null);
    assert.ok(h.find('127.0.0.1:50001') !== null);
  });

  it('selects rows with the mouse and scrolls with the wheel', async () => {
    const h = ui();
    for (let i = 0; i < 40; i++) h.proxy.frame({ payload: `r${i}` });
    const target = row(h, '"r30"');
    // SGR mouse report: button 0 press at (column, row), 1-based.
    await h.keys(`\x1b[<0;5;${target.y + 1}M`, `\x1b[<0;5;${target.y + 1}m`);
    assert.equal(h.cell(0, row(h, '"r30"').y).inverse, true);
    await h.keys(`\x1b[<64;5;${target.y + 1}M`);
    assert.ok(h.find('paused') !== null, 'wheel up stops following');
  });

  it('marks a sessions list that scrolls, filters to a session with f, closes one with X', async () => {
    const h = ui();
    for (let i = 1; i <= 7; i++) h.proxy.open(i);
    for (let i = 1; i <= 7; i++) h.proxy.frame({ session: i, payload: `from ${i}` });
    const lines = h.text();
    assert.ok(lines[1]!.endsWith('▲'), 'older sessions are above');
    await h.keys(KEY.shiftTab, 'g');
    assert.ok(h.text()[4]!.endsWith('▼'), 'newer sessions are below (title + 4 rows at 80x24)');
    await h.keys('j', 'f');
    assert.ok(h.find('filter: session:2') !== null);
    assert.ok(h.find('"from 2"') !== null);
    assert.equal(h.find('"from 3"'), null);
    await h.keys('f');
    assert.ok(h.find('"from 3"') !== null, 'f again shows every session');
    await h.keys('X');
    assert.match(h.text()[23]!, /Close session #2 \(1000 Normal Closure to both peers\)\? \[y\/n\]/);
    await h.keys('y');
    assert.deepEqual(h.proxy.fake(2).closes, [{ code: 1000, reason: 'closed from wsproxy' }]);
  });

  it('survives tiny terminals', async () => {
    const h = ui({ cols: 30, rows: 8 });
    h.proxy.open(1);
    h.proxy.frame({ payload: 'x'.repeat(100) });
    await h.keys(KEY.enter, '?', KEY.escape, 's', KEY.escape);
    assert.equal(h.text().length, 8);
  });
});
