/**
 * Every peer-controlled string (path, headers, subprotocol, extensions, close reason, payload, log
 * texts quoting them) reaches the headless printer's output and the JSONL log escaped.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { EventEmitter } from 'eventemitter3';
import { describeClose, formatCloseLine, formatFrameLine, formatHttpLine, formatLogLine, formatMessageLine, formatOpenLine, formatViolationLine, preview } from '../../src/output/format.js';
import { attachHeadless } from '../../src/output/headless.js';
import { closeJson, frameJson, httpJson, jsonLine, logJson, messageJson, openJson } from '../../src/output/jsonl.js';
import { parseHead, type HttpHead } from '../../src/protocol/handshake.js';
import type { CloseRecord, FrameRecord, HttpRecord, LogRecord, MessageRecord, ProxyEvents, SessionInfo } from '../../src/proxy/events.js';
import { assertTerminalSafe } from '../helpers/terminal-safe.js';

/** A bit of everything a terminal must not get raw. */
const EVIL = '\x1b]0;PWNED\x07\x1b[2J\x9b31m\x85\u202eevil\u2066\u200b\x7f"';

function head(text: string): HttpHead {
  const parsed = parseHead(Buffer.from(text, 'latin1'));
  assert.ok(parsed.ok, 'test head parses');
  return parsed.head;
}

const open: SessionInfo = {
  session: 1,
  time: Date.UTC(2026, 0, 1),
  client: `127.0.0.1:1234${EVIL}`,
  target: '127.0.0.1:80',
  path: `/x${EVIL}`,
  status: 101,
  request: head(`GET /x HTTP/1.1\r\nHost: a\r\nX-Evil: ${EVIL}\r\n\r\n`),
  response: head('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n'),
  protocol: `chat${EVIL}`,
  extensions: `x-ext${EVIL}`,
  deflate: null,
  acceptValid: true,
  sent: head(`GET /x${EVIL} HTTP/1.1\r\nHost: b\r\nX-Evil: ${EVIL}\r\n\r\n`),
  answeredBy: 'server',
  failure: null,
  body: new Uint8Array(0),
  url: `ws://a/x${EVIL}`,
  mode: 'reverse',
  tls: { client: null, server: null },
};

/** A refused upgrade: the reason phrase and the body's first bytes come from the target. */
const refused: SessionInfo = {
  ...open,
  session: 2,
  status: 403,
  response: head(`HTTP/1.1 403 Forbidden${EVIL}\r\nX-Evil: ${EVIL}\r\n\r\n`),
  protocol: null,
  extensions: null,
  acceptValid: null,
  failure: `handshake refused: 403 Forbidden${EVIL}`,
  body: Buffer.from(`denied${EVIL}`),
};

function frame(payload: string, overrides: Partial<FrameRecord> = {}): FrameRecord {
  const bytes = Buffer.from(payload);
  return {
    id: 1, session: 1, time: Date.UTC(2026, 0, 1), from: 'server', fin: true, rsv1: false, rsv2: false, rsv3: false, opcode: 1, kind: 'text',
    masked: false, maskKey: null, length: bytes.length, header: Uint8Array.of(0x81, bytes.length), headerLength: 2, payload: bytes, truncated: false, compressed: false,
    close: null, violations: [], origin: 'peer', ...overrides,
  };
}

const message: MessageRecord = { id: 9, session: 1, time: 0, from: 'client', kind: 'text', length: 20, payload: Buffer.from(`m${EVIL}`), truncated: false, frames: 1, compressed: false, fate: 'dropped', by: 'script' };
const close: CloseRecord = { session: 1, time: 0, code: 4000, reason: `bye${EVIL}`, by: 'server', clean: true };
const http: HttpRecord = { time: 0, client: '127.0.0.1:1', target: 't:80', method: `GE\x1bT`, url: `/app${EVIL}`, status: 502, duration: 1, requestBytes: 1, responseBytes: 1, answeredBy: 'proxy', error: `bad ${EVIL}` };
const log: LogRecord = { session: 1, time: 0, source: 'script', level: 'warn', text: `rejected path ${EVIL}` };

describe('headless lines escape what a peer sent', () => {
  const style = { color: false };

  test('the open line: path, client, subprotocol and extensions; a refused upgrade with its reason and body', () => {
    assertTerminalSafe(formatOpenLine(refused, style), 'refused open line');
    const line = formatOpenLine(open, style);
    assertTerminalSafe(line, 'open line');
    assert.ok(line.includes('\\x1b]0;PWNED\\x07'), line);
    assert.ok(line.includes('\\u{202e}evil\\u{2066}\\u{200b}'), line);
  });

  test('frame lines: text, ping and close previews; quotes inside a preview are escaped', () => {
    for (const f of [frame(`hi${EVIL}`), frame(EVIL, { kind: 'ping', opcode: 9 }), frame(`a${EVIL}`.repeat(30)), frame('', { kind: 'close', opcode: 8, close: { code: 1000, reason: EVIL } })]) {
      const line = formatFrameLine(f, style);
      assertTerminalSafe(line, 'frame line');
    }
    // A payload cannot end the quoted field and fake another one.
    assert.match(formatFrameLine(frame('x" [injected] "y'), style), / "x\\" \[injected\] \\"y"$/);
    assert.equal(preview(Buffer.from('say "hi"'), 'text', false), '"say \\"hi\\""');
    assert.equal(describeClose(4000, 'a" (clean)'), '4000 Private Use "a\\" (clean)"');
  });

  test('message, close, violation and log lines', () => {
    assertTerminalSafe(formatMessageLine(message, style), 'message line');
    assertTerminalSafe(formatCloseLine(close, style), 'close line');
    assertTerminalSafe(formatLogLine(log, style), 'log line');
    assertTerminalSafe(formatHttpLine(http, style), 'http line');
    const violation = { session: 1, time: 0, from: 'client' as const, frame: null, violation: { code: 'invalid-utf8' as const, closeCode: 1007 as const, fatal: false, rfc: 'RFC 6455 §8.1', message: `bad ${EVIL}` } };
    assertTerminalSafe(formatViolationLine(violation, style), 'violation line');
  });

  test('a cut preview never splits an escape or a surrogate pair', () => {
    for (let n = 1; n < 20; n++) {
      const p = preview(Buffer.from(`${'a'.repeat(n)}\x1b🎌\u202e"\\`.repeat(3)), 'text', false, 12);
      assert.doesNotMatch(p, /\\(?:x[0-9a-f]?|u\{[0-9a-f]*)?"…$/, p);
      assert.ok(!/[\ud800-\udbff](?![\udc00-\udfff])/.test(p), `lone surrogate in ${p}`);
    }
  });

  test('the printer writes every kind of line escaped', async () => {
    const bus = new EventEmitter<ProxyEvents>();
    const out = new PassThrough();
    let text = '';
    out.on('data', (c: Buffer) => (text += c.toString('utf8')));
    const printer = attachHeadless(bus, out, { color: false });
    bus.emit('session-open', open);
    bus.emit('session-open', refused);
    bus.emit('frame', frame(`p${EVIL}`));
    bus.emit('message', message);
    bus.emit('log', log);
    bus.emit('error', new Error(`boom ${EVIL}`), { session: 1 });
    bus.emit('session-close', close);
    await printer.close();
    assert.ok(text.split('\n').length >= 8, text);
    assertTerminalSafe(text, 'printer output');
    assert.ok(!text.includes('\x1b'), 'no escape character at all without colour');
  });
});

describe('the JSONL log escapes C1, bidi and invisible characters', () => {
  test('every record type, and the values read back unchanged', () => {
    for (const value of [openJson(open), openJson(refused), frameJson(frame(`p${EVIL}`)), messageJson(message), closeJson(close), logJson(log), httpJson(http)]) {
      const line = jsonLine(value);
      assertTerminalSafe(line, 'JSONL line');
      // The same JSON value as plain JSON.stringify gives (headers are prototype-less objects).
      assert.deepEqual(JSON.parse(line), JSON.parse(JSON.stringify(value)));
    }
    assert.match(jsonLine(logJson(log)), /\\u009b31m\\u0085\\u202eevil\\u2066\\u200b\\u007f/);
  });
});
