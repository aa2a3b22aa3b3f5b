/**
 * A DirectionPipe whose compressed frames are inflated after each chunk's write
 * (later-inflater.ts, later-records.ts), against the same pipe inflating as it reads (--strict's
 * way): the bytes relayed, the frame and message records, their order and their violations must be
 * the same; only when the records are made differs (after the chunk's write, in both).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'eventemitter3';
import { DirectionPipe } from '../../src/proxy/direction-pipe.js';
import type { ProxyEvents } from '../../src/proxy/events.js';
import { Opcode } from '../../src/protocol/constants.js';
import { buildFrame, KEY_A, parseChunks } from '../helpers/frames.js';
import { compressAll } from '../helpers/deflate.js';
import { testPipeHost } from '../helpers/pipe-host.js';

const DEFLATE = { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15 };

const texts = [Buffer.from('{"hello":"world"}'), Buffer.from('{"long":"' + 'x'.repeat(3000) + '"}'), Buffer.from([0x7b, 0x22, 0xc3, 0x22, 0x7d])];
const [a, b, c] = compressAll(texts);
const cut = Math.floor(b!.length / 2);
/** One chunk, as a client sends it: compressed A, a ping, compressed B in two frames, compressed C (not UTF-8), a bad deflate stream, plain text. */
const chunk = Buffer.concat([
  buildFrame({ opcode: Opcode.Text, rsv1: true, payload: a!, maskKey: KEY_A }),
  buildFrame({ opcode: Opcode.Ping, payload: 'are you there', maskKey: KEY_A }),
  buildFrame({ opcode: Opcode.Text, rsv1: true, fin: false, payload: b!.subarray(0, cut), maskKey: KEY_A }),
  buildFrame({ opcode: Opcode.Continuation, payload: b!.subarray(cut), maskKey: KEY_A }),
  buildFrame({ opcode: Opcode.Text, rsv1: true, payload: c!, maskKey: KEY_A }),
  buildFrame({ opcode: Opcode.Binary, rsv1: true, payload: Buffer.from([0xff, 0xff, 0xff, 0xff, 0x00, 0x11]), maskKey: KEY_A }),
  buildFrame({ opcode: Opcode.Text, payload: 'plain after', maskKey: KEY_A }),
]);

async function relay(later: boolean): Promise<{ events: string[]; payloads: Buffer[] }> {
  const bus = new EventEmitter<ProxyEvents>();
  const events: string[] = [];
  const written: Uint8Array[] = [];
  bus.on('frame', (f) => events.push(`frame ${f.opcode} ${f.length}${f.truncated ? '+' : ''} ${Buffer.from(f.payload).toString('latin1').slice(0, 40)} [${f.violations.map((v) => v.code).join()}]`));
  bus.on('message', (m) => events.push(`message ${m.kind} ${m.length} ${m.frames} ${Buffer.from(m.payload).toString('latin1').slice(0, 40)}`));
  const host = testPipeHost(bus, {
    limits: { maxPreview: 64, maxMessage: 1 << 20 },
    inflateLater: later,
    write: (segments) => {
      events.push('write');
      written.push(...segments.map((s) => Buffer.from(s)));
    },
  });
  const pipe = new DirectionPipe('client', host, DEFLATE);
  // In two reads, cut inside B's second frame.
  const at = chunk.length - 60;
  pipe.push(Buffer.from(chunk.subarray(0, at)));
  pipe.push(Buffer.from(chunk.subarray(at)));
  pipe.stop();
  await pipe.settled();
  const parsed = parseChunks(written);
  return { events, payloads: parsed.frames.map((f) => Buffer.from(f.payload)) };
}

test('inflated after the write: the same bytes and records, in the same order, as inflating while reading', async () => {
  const after = await relay(true);
  const asRead = await relay(false);
  const records = (events: string[]): string[] => events.filter((e) => e !== 'write');
  assert.deepEqual(records(after.events), records(asRead.events));
  assert.deepEqual(after.payloads, asRead.payloads);
  // Every record of a chunk comes after its write (inflating as it reads, a frame with a violation
  // is reported at once, before the write).
  assert.equal(after.events[0], 'write');
  const second = after.events.indexOf('write', 1);
  assert.ok(second > 0 && after.events.slice(1, second).every((e) => !e.includes('{"\u00c3"}') && !e.includes('invalid')), after.events.join('\n'));
  // The records themselves: inflated payloads (capped at 64 bytes), violations where due.
  const frames = records(after.events).filter((e) => e.startsWith('frame'));
  assert.equal(frames.length, 7);
  assert.equal(frames[0], `frame 1 ${a!.length} {"hello":"world"} []`);
  assert.equal(frames[1], 'frame 9 13 are you there []');
  assert.ok(frames[2]!.startsWith(`frame 1 ${cut}+ {"long":"xxx`), frames[2]);
  assert.ok(frames[4]!.endsWith('{"\u00c3"} [invalid-utf8]'), frames[4]);
  assert.ok(frames[5]!.endsWith('[invalid-deflate]'), frames[5]);
  assert.equal(frames[6], 'frame 1 11 plain after []');
  assert.ok(records(after.events).includes(`message text ${texts[1]!.length} 2 ${texts[1]!.toString('latin1').slice(0, 40)}`));
  // What went out is what came in: the compressed payloads, untouched (masks aside).
  const sent = parseChunks([chunk]).frames.map((f) => Buffer.from(f.payload));
  assert.deepEqual(after.payloads, sent);
});
