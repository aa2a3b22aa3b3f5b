import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { encodeCloseText, formatHexForEdit, fromEditable, parseHex, toEditable } from '../../src/tui/payload-codec.js';

const text = (b: Uint8Array): string => Buffer.from(b).toString();

describe('payload codec', () => {
  it('edits JSON pretty-printed and sends it compact when it came compact', () => {
    const e = toEditable('text', Buffer.from('{"a":1,"b":[true,null]}'));
    assert.equal(e.mode, 'json');
    assert.equal(e.text, '{\n  "a": 1,\n  "b": [\n    true,\n    null\n  ]\n}');
    const out = fromEditable(e, e.text.replace('1', '2'), 'text');
    assert.ok(out.ok);
    if (out.ok) assert.equal(text(out.data), '{"a":2,"b":[true,null]}');
  });

  it('keeps JSON that came pretty-printed as the user wrote it', () => {
    const e = toEditable('text', Buffer.from('{\n "a": 1\n}'));
    assert.equal(e.compactJson, false);
    const out = fromEditable(e, '{\n "a": 3\n}', 'text');
    assert.ok(out.ok && text(out.data) === '{\n "a": 3\n}');
  });

  it('refuses JSON that no longer parses', () => {
    const e = toEditable('text', Buffer.from('[1,2]'));
    const out = fromEditable(e, '[1,2', 'text');
    assert.equal(out.ok, false);
    if (!out.ok) assert.match(out.error, /not valid JSON/);
  });

  it('edits plain text as text', () => {
    const e = toEditable('text', Buffer.from('hello {world'));
    assert.equal(e.mode, 'text');
    const out = fromEditable(e, 'bye', 'text');
    assert.ok(out.ok && text(out.data) === 'bye');
  });

  it('edits binary as hex, 16 bytes a line', () => {
    const bytes = Buffer.from(Array.from({ length: 20 }, (_, i) => i));
    const e = toEditable('binary', bytes);
    assert.equal(e.mode, 'hex');
    assert.equal(e.text, '00 01 02 03 04 05 06 07  08 09 0a 0b 0c 0d 0e 0f\n10 11 12 13');
    const out = fromEditable(e, e.text, 'binary');
    assert.ok(out.ok && Buffer.compare(out.data, bytes) === 0, 'round trip');
    assert.equal(formatHexForEdit(new Uint8Array(0)), '');
  });

  it('parses hex loosely and reports what is wrong', () => {
    const ok = parseHex('0xde 0xAD,be:ef\n00');
    assert.ok(ok.ok && Buffer.from(ok.data).toString('hex') === 'deadbeef00');
    const odd = parseHex('abc');
    assert.ok(!odd.ok && /odd number/.test(odd.error));
    const bad = parseHex('zz');
    assert.ok(!bad.ok && /not a hex digit: "z"/.test(bad.error));
  });

  it('edits a close frame as "code reason" and checks the code', () => {
    const e = toEditable('close', Buffer.from([0x03, 0xe8, 0x62, 0x79, 0x65]));
    assert.deepEqual([e.mode, e.text], ['close', '1000 bye']);
    const out = fromEditable(e, '4001 custom reason', 'close');
    assert.ok(out.ok);
    if (out.ok) assert.deepEqual([...out.data.subarray(0, 2)], [0x0f, 0xa1]);
    assert.ok(encodeCloseText('').ok, 'no status code');
    assert.equal(encodeCloseText('1005').ok, false, '1005 may not be sent');
    assert.equal(encodeCloseText('bye').ok, false);
  });

  it('bounds control payloads to 125 bytes', () => {
    const e = toEditable('ping', Buffer.from('hi'));
    assert.equal(e.mode, 'text');
    assert.equal(fromEditable(e, 'x'.repeat(125), 'ping').ok, true);
    const long = fromEditable(e, 'x'.repeat(126), 'ping');
    assert.ok(!long.ok && /at most 125/.test(long.error));
    assert.equal(toEditable('pong', Buffer.from([0, 1, 2])).mode, 'hex');
  });
});
