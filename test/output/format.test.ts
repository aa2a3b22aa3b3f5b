import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { arrow, describeClose, flags, formatFrameLine, formatTime, hexdump, preview, prettyJson } from '../../src/output/format.js';
import { LineWriter } from '../../src/output/line-writer.js';
import { encodePayload, frameJson, headersObject, messageJson } from '../../src/output/jsonl.js';
import type { FrameRecord, MessageRecord } from '../../src/proxy/events.js';
import { parseHead } from '../../src/protocol/handshake.js';

function frame(overrides: Partial<FrameRecord> = {}): FrameRecord {
  return {
    id: 7, session: 2, time: Date.UTC(2026, 0, 2, 3, 4, 5, 6), from: 'client', fin: true, rsv1: false, rsv2: false, rsv3: false,
    opcode: 1, kind: 'text', masked: true, maskKey: Uint8Array.of(1, 2, 3, 4), length: 5, header: Uint8Array.of(0x81, 0x85, 1, 2, 3, 4), headerLength: 6,
    payload: Buffer.from('hello'), truncated: false, compressed: false, close: null, violations: [], origin: 'peer', ...overrides,
  };
}

describe('format', () => {
  test('previews printable text quoted, escapes control characters, and marks truncation', () => {
    assert.equal(preview(Buffer.from('hello'), 'text', false), '"hello"');
    assert.equal(preview(Buffer.from('a\nb\\c'), 'text', false), '"a\\nb\\\\c"');
    assert.equal(preview(Buffer.from('héllo'), 'text', false), '"héllo"');
    assert.equal(preview(Buffer.from('x'.repeat(100)), 'text', false, 10), `"${'x'.repeat(10)}"…`);
    assert.equal(preview(Buffer.from('short'), 'text', true), '"short"…');
  });

  test('previews binary as hex', () => {
    assert.equal(preview(Uint8Array.of(0xde, 0xad, 0xbe, 0xef), 'binary', false), 'de ad be ef');
  });

  test('formats time with milliseconds, also across seconds', () => {
    const t = new Date(2026, 0, 2, 3, 4, 5, 6).getTime();
    assert.equal(formatTime(t), '03:04:05.006');
    assert.equal(formatTime(t + 1000), '03:04:06.006');
    assert.equal(formatTime(t + 994), '03:04:06.000');
  });

  test('flags and direction read like the header', () => {
    assert.equal(flags({ fin: true, rsv1: true, rsv2: false, rsv3: false }), 'FIN 1..');
    assert.equal(flags({ fin: false, rsv1: false, rsv2: true, rsv3: true }), '... .11');
    assert.equal(arrow('client'), 'C→S');
    assert.equal(arrow('server'), 'S→C');
  });

  test('a frame line has session, direction, kind, flags, length and preview, and no colour when asked', () => {
    const line = formatFrameLine(frame(), { color: false });
    assert.match(line, /#2 C→S text +FIN \.\.\. +5 "hello"$/);
    assert.doesNotMatch(line, /\x1b\[/);
    assert.match(formatFrameLine(frame(), { color: true }), /\x1b\[36mC→S/);
  });

  test('a frame line shows violations, injections and close codes', () => {
    const v = { code: 'reserved-opcode' as const, closeCode: 1002 as const, fatal: false, rfc: 'RFC 6455 §5.2', message: 'x' };
    assert.match(formatFrameLine(frame({ violations: [v] }), { color: false }), /⚠ reserved-opcode/);
    assert.match(formatFrameLine(frame({ origin: 'injected' }), { color: false }), /\[injected\]/);
    assert.match(formatFrameLine(frame({ kind: 'close', opcode: 8, close: { code: 1000, reason: 'bye' } }), { color: false }), /1000 Normal Closure "bye"/);
    assert.equal(describeClose(null, ''), 'no status');
  });

  test('hexdump has offsets, hex and an ASCII column', () => {
    assert.deepEqual(hexdump(Buffer.from('Hello, world!\x00\x01')), ['00000000  48 65 6c 6c 6f 2c 20 77  6f 72 6c 64 21 00 01     |Hello, world!..|']);
  });

  test('pretty JSON only for objects and arrays', () => {
    assert.equal(prettyJson('{"a":1}'), '{\n  "a": 1\n}');
    assert.equal(prettyJson('42'), null);
    assert.equal(prettyJson('{nope'), null);
  });
});

describe('jsonl', () => {
  test('a frame line carries the documented fields', () => {
    const json = frameJson(frame()) as Record<string, unknown>;
    for (const key of ['type', 'session', 'time', 'from', 'fin', 'rsv1', 'rsv2', 'rsv3', 'opcode', 'kind', 'masked', 'maskKey', 'length', 'payload', 'encoding', 'truncated', 'compressed', 'violations']) {
      assert.ok(key in json, key);
    }
    assert.equal(json['time'], '2026-01-02T03:04:05.006Z');
    assert.equal(json['maskKey'], '01020304');
    assert.equal(json['payload'], 'hello');
    assert.equal(json['encoding'], 'utf8');
  });

  test('binary and invalid UTF-8 payloads are base64', () => {
    assert.deepEqual(encodePayload(Uint8Array.of(0xff, 0xfe), true), { payload: '//4=', encoding: 'base64' });
    assert.deepEqual(encodePayload(Buffer.from('hi'), false), { payload: 'aGk=', encoding: 'base64' });
  });

  test('a message line mirrors its fate in booleans', () => {
    const m: MessageRecord = { id: 1, session: 1, time: 0, from: 'server', kind: 'text', length: 2, payload: Buffer.from('hi'), truncated: false, frames: 1, compressed: false, fate: 'dropped', by: 'script' };
    const json = messageJson(m) as Record<string, unknown>;
    assert.equal(json['dropped'], true);
    assert.equal(json['modified'], false);
    assert.equal(json['by'], 'script');
  });

  test('headers repeated in a head become arrays', () => {
    const parsed = parseHead(Buffer.from('HTTP/1.1 101 OK\r\nSet-Cookie: a\r\nSet-Cookie: b\r\nUpgrade: websocket\r\n\r\n'));
    assert.ok(parsed.ok);
    assert.deepEqual({ ...headersObject(parsed.head) }, { 'Set-Cookie': ['a', 'b'], Upgrade: 'websocket' });
  });

  test('header names an object has built in (__proto__, toString) are headers like any other', () => {
    const parsed = parseHead(Buffer.from('GET / HTTP/1.1\r\n__proto__: p\r\nconstructor: c\r\ntoString: t\r\ntoString: u\r\nX: ok\r\n\r\n'));
    assert.ok(parsed.ok);
    assert.equal(JSON.stringify(headersObject(parsed.head)), '{"__proto__":"p","constructor":"c","toString":["t","u"],"X":"ok"}');
  });
});

describe('line writer', () => {
  test('batches lines into one write', async () => {
    const out = new PassThrough();
    const chunks: string[] = [];
    out.on('data', (c: Buffer) => chunks.push(c.toString()));
    const w = new LineWriter(out, { maxBuffered: 1 << 20, droppedNote: (n) => `dropped ${n}` });
    w.write('a');
    w.write('b');
    await w.end(false);
    assert.deepEqual(chunks, ['a\nb\n']);
  });

  test('drops lines a slow reader cannot take, and says how many', async () => {
    const out = new PassThrough({ highWaterMark: 1 });
    const w = new LineWriter(out, { maxBuffered: 4, droppedNote: (n) => `dropped ${n}` });
    w.write('0123456789');
    w.flush();
    w.write('lost 1');
    w.write('lost 2');
    let text = '';
    out.on('data', (c: Buffer) => (text += c.toString()));
    await new Promise((r) => setTimeout(r, 20));
    w.write('after');
    await w.end(false);
    await new Promise((r) => setTimeout(r, 20));
    assert.match(text, /0123456789\n/);
    assert.match(text, /dropped 2\nafter\n/);
    assert.doesNotMatch(text, /lost/);
  });
});
