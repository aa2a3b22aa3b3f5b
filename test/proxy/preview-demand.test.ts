/**
 * Previews on demand: a frame's preview is as long as the most any attached observer reads (at
 * most --max-preview). Observers that declare nothing get all of --max-preview, as before; the
 * headless printer declares a line's worth, so alone it costs no 64 KiB copy per frame, and its
 * lines are the same either way.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { EventEmitter } from 'eventemitter3';
import { DirectionPipe } from '../../src/proxy/direction-pipe.js';
import { subscribe, type FrameRecord, type MessageRecord, type ProxyEvents, type Side } from '../../src/proxy/events.js';
import { attachHeadless } from '../../src/output/headless.js';
import { Opcode } from '../../src/protocol/constants.js';
import { KEY_A, buildFrame, patternBytes } from '../helpers/frames.js';
import { testPipeHost } from '../helpers/pipe-host.js';

const MAX_PREVIEW = 64 * 1024;

function pipe(from: Side, bus: EventEmitter<ProxyEvents>): DirectionPipe {
  return new DirectionPipe(from, testPipeHost(bus, { limits: { maxPreview: MAX_PREVIEW, maxMessage: 1 << 20 } }), null);
}

const big = patternBytes(MAX_PREVIEW, 7);

test('declared observers get what they read; an undeclared one gets --max-preview; control frames keep their payload', () => {
  const bus = new EventEmitter<ProxyEvents>();
  const frames: FrameRecord[] = [];
  const messages: MessageRecord[] = [];
  const stop = subscribe(bus, { frame: (f) => frames.push(f), message: (m) => messages.push(m) }, { previewBytes: 100 });
  const p = pipe('client', bus);
  p.push(buildFrame({ opcode: Opcode.Binary, payload: big, maskKey: KEY_A }));
  p.push(buildFrame({ opcode: Opcode.Ping, payload: Buffer.alloc(125, 0x70), maskKey: KEY_A }));
  assert.equal(frames[0]!.payload.length, 100);
  assert.equal(frames[0]!.truncated, true);
  assert.ok(Buffer.from(frames[0]!.payload).equals(big.subarray(0, 100)), 'unmasked');
  assert.equal(frames[0]!.length, big.length);
  assert.equal(messages[0]!.payload.length, 100);
  assert.equal(frames[1]!.payload.length, 125, 'a control payload is kept whole (the close code, ping RTTs)');

  // Another observer that says nothing about what it reads: the whole --max-preview again.
  const seen: FrameRecord[] = [];
  const other = (f: FrameRecord): number => seen.push(f);
  bus.on('frame', other);
  p.push(buildFrame({ opcode: Opcode.Binary, payload: big, maskKey: KEY_A }));
  assert.equal(seen[0]!.payload.length, MAX_PREVIEW);
  assert.equal(seen[0]!.truncated, false);
  bus.off('frame', other);
  stop();
  // No observer at all: nothing to keep.
  const quiet = new EventEmitter<ProxyEvents>();
  const count: FrameRecord[] = [];
  subscribe(quiet, { frame: (f) => count.push(f) }, { previewBytes: 0 });
  pipe('server', quiet).push(buildFrame({ opcode: Opcode.Binary, payload: big }));
  assert.equal(count[0]!.payload.length, 0);
  assert.equal(count[0]!.truncated, true);
});

test('the headless printer prints the same lines whether it is alone (short previews) or not', async () => {
  const text = Buffer.from(`{"a":"${'x'.repeat(2000)}"}`);
  const lines = async (alone: boolean): Promise<string> => {
    const bus = new EventEmitter<ProxyEvents>();
    let out = '';
    const printer = attachHeadless(bus, new Writable({ write: (c: Buffer, _e, cb) => ((out += c.toString()), cb()) }), { color: false });
    const frames: FrameRecord[] = [];
    if (!alone) bus.on('frame', (f) => frames.push(f));
    const p = pipe('client', bus);
    p.push(buildFrame({ opcode: Opcode.Text, payload: text, maskKey: KEY_A }));
    p.push(buildFrame({ opcode: Opcode.Binary, payload: big, maskKey: KEY_A }));
    p.push(Buffer.concat([buildFrame({ opcode: Opcode.Text, fin: false, payload: text, maskKey: KEY_A }), buildFrame({ opcode: Opcode.Continuation, payload: text, maskKey: KEY_A })]));
    await printer.close();
    if (!alone) assert.equal(frames[0]!.payload.length, text.length);
    return out;
  };
  const alone = await lines(true);
  assert.match(alone, /"\{\\"a\\":\\"xxx/);
  assert.equal(alone, await lines(false));
});

test('a one-frame message nobody reads as a message gets no record, its numbers still counted; others still get theirs', () => {
  const bus = new EventEmitter<ProxyEvents>();
  const printed: MessageRecord[] = [];
  // As the headless printer subscribes: only messages decided on or reassembled say anything to it.
  subscribe(bus, { frame: () => undefined, message: (m) => printed.push(m) }, { previewBytes: 320, eventfulMessages: true });
  const counted: { length: number; compressed: boolean }[] = [];
  const host = testPipeHost(bus, {
    limits: { maxPreview: MAX_PREVIEW, maxMessage: 1 << 20 },
    stats: { frame: () => undefined, countMessage: (_from, _time, length, compressed) => counted.push({ length, compressed }) },
  });
  const p = new DirectionPipe('client', host, null);
  p.push(buildFrame({ opcode: Opcode.Text, payload: Buffer.from('one frame'), maskKey: KEY_A }));
  assert.equal(printed.length, 0, 'no record for the printer to skip');
  assert.deepEqual(counted, [{ length: 9, compressed: false }], 'the statistics still count it');
  // Reassembled from two fragments: the printer shows it, so it gets its record.
  p.push(buildFrame({ opcode: Opcode.Text, fin: false, payload: Buffer.from('two '), maskKey: KEY_A }));
  p.push(buildFrame({ opcode: Opcode.Continuation, payload: Buffer.from('frames'), maskKey: KEY_A }));
  assert.equal(printed.length, 1);
  assert.equal(Buffer.from(printed[0]!.payload).toString(), 'two frames');
  assert.equal(printed[0]!.frames, 2);
  assert.equal(counted.length, 2);
  // Another observer that reads every message: one-frame messages get records again.
  const all: MessageRecord[] = [];
  bus.on('message', (m) => all.push(m));
  p.push(buildFrame({ opcode: Opcode.Binary, payload: Buffer.from([1, 2, 3]), maskKey: KEY_A }));
  assert.equal(all.length, 1);
  assert.deepEqual([...all[0]!.payload], [1, 2, 3]);
  assert.equal(printed.length, 2, 'the printer gets it too, and skips it itself');
  assert.equal(counted.length, 3);
});

test("a message's record shares its last frame's payload when that is all of it: the same bytes, as a Buffer", () => {
  const bus = new EventEmitter<ProxyEvents>();
  const frames: FrameRecord[] = [];
  const messages: MessageRecord[] = [];
  subscribe(bus, { frame: (f) => frames.push(f), message: (m) => messages.push(m) }, { previewBytes: 100 });
  const p = pipe('client', bus);
  const text = (n: number, c: string): Buffer => Buffer.from(c.repeat(n));
  p.push(
    Buffer.concat([
      // Text and binary whose previews stay in the relay's slab, then text past the preview (100 bytes).
      buildFrame({ opcode: Opcode.Text, payload: text(20, 'a'), maskKey: KEY_A }),
      buildFrame({ opcode: Opcode.Binary, payload: patternBytes(90, 3), maskKey: KEY_A }),
      buildFrame({ opcode: Opcode.Text, payload: text(150, 'b'), maskKey: KEY_A }),
      // Fragmented: joined from its frames; an empty first fragment leaves the last frame's alone.
      buildFrame({ opcode: Opcode.Text, fin: false, payload: text(30, 'c'), maskKey: KEY_A }),
      buildFrame({ opcode: Opcode.Continuation, payload: text(30, 'd'), maskKey: KEY_A }),
      buildFrame({ opcode: Opcode.Text, fin: false, payload: Buffer.alloc(0), maskKey: KEY_A }),
      buildFrame({ opcode: Opcode.Continuation, payload: text(40, 'e'), maskKey: KEY_A }),
    ]),
  );
  assert.equal(messages.length, 5);
  const want = [text(20, 'a'), patternBytes(90, 3), text(100, 'b'), Buffer.concat([text(30, 'c'), text(30, 'd')]), text(40, 'e')];
  const lengths = [20, 90, 150, 60, 40];
  const counts = [1, 1, 1, 2, 2];
  messages.forEach((m, i) => {
    assert.ok(Buffer.isBuffer(m.payload), `message ${i}: a Buffer`);
    assert.ok(m.payload.equals(want[i]!), `message ${i}: its bytes`);
    assert.equal(m.length, lengths[i]);
    assert.equal(m.truncated, lengths[i]! > want[i]!.length);
    assert.equal(m.frames, counts[i]);
    assert.equal(m.fate, 'forwarded');
    assert.equal(m.by, null);
    // What a spread or JSON gives: every field, the payload included.
    const plain = JSON.parse(JSON.stringify(m)) as { payload: { data: number[] }; frames: number };
    assert.deepEqual(plain.payload.data, [...want[i]!]);
    assert.equal(plain.frames, counts[i]);
  });
  // One frame, one message: the same payload, not a copy.
  assert.equal(messages[0]!.payload, frames[0]!.payload);
  assert.equal(messages[2]!.payload, frames[2]!.payload);
  assert.equal(messages[4]!.payload, frames[6]!.payload);
});
