/**
 * Playbook-style tests of one DirectionPipe with no sockets: bytes in, then assert exactly what
 * the other peer would receive and what the bus saw.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'eventemitter3';
import { DirectionPipe, type PipeHost } from '../../src/proxy/direction-pipe.js';
import { Sequencer } from '../../src/proxy/sequencer.js';
import type { FrameRecord, MessageRecord, ProxyEvents, Side } from '../../src/proxy/events.js';
import type { MessageInterceptor, Verdict } from '../../src/intercept/verdict.js';
import type { Violation } from '../../src/protocol/violations.js';
import { Opcode } from '../../src/protocol/constants.js';
import { FRAME_COST } from '../../src/proxy/pipe-state.js';
import { KEY_A, KEY_B, maskedFrame, parseChunks, patternBytes, unmaskedFrame, xorMask } from '../helpers/frames.js';

interface Harness {
  readonly pipe: DirectionPipe;
  readonly bus: EventEmitter<ProxyEvents>;
  readonly written: Uint8Array[];
  readonly frames: FrameRecord[];
  readonly messages: MessageRecord[];
  readonly violations: Violation[];
  readonly pressure: boolean[];
  out(): Buffer;
}

/** `strict`: a violation fails the connection the way the session does (stop, then a close frame). */
function harness(from: Side, interceptors: MessageInterceptor[] = [], limits = { maxPreview: 1024, maxMessage: 1 << 20 }, now: () => number = () => 0, strict = false): Harness {
  const bus = new EventEmitter<ProxyEvents>();
  const written: Uint8Array[] = [];
  const frames: FrameRecord[] = [];
  const messages: MessageRecord[] = [];
  const violations: Violation[] = [];
  const pressure: boolean[] = [];
  bus.on('frame', (f) => frames.push(f));
  bus.on('message', (m) => messages.push(m));
  let id = 1;
  const host: PipeHost = {
    session: 1,
    bus,
    limits,
    keys: () => KEY_B,
    signal: new AbortController().signal,
    records: new Sequencer(),
    now,
    nextId: () => id++,
    interceptors: () => interceptors,
    write: (segments) => written.push(...segments.map((s) => Buffer.from(s))),
    violation: (v) => {
      violations.push(v);
      if (strict) {
        pipe.stop();
        pipe.writeNow({ kind: 'close', data: Buffer.from([0x03, 0xea]) });
      }
    },
    closeFrame: () => undefined,
    pressure: (over) => pressure.push(over),
    chainError: (name, error) => {
      throw new Error(`${name}: ${String(error)}`);
    },
    idle: () => undefined,
  };
  const pipe: DirectionPipe = new DirectionPipe(from, host, null);
  return { pipe, bus, written, frames, messages, violations, pressure, out: () => Buffer.concat(written) };
}

/** A decider that answers from a function, optionally after a delay. */
function decider(decide: (data: string) => Verdict, wants: (kind: string) => boolean = (k) => k === 'text', delayMs = 0): MessageInterceptor {
  return {
    name: 'test',
    wants: (meta) => wants(meta.kind),
    decide: async (m) => {
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
      return decide(Buffer.from(m.data).toString());
    },
  };
}

const settle = (ms = 20): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits (bounded) until the pipe has written `n` whole frames; robust on a loaded machine. */
async function framesOut(bytes: () => Buffer, n: number, from: Side = 'server', limitMs = 5000): Promise<ReturnType<typeof parseChunks>['frames']> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const frames = parseChunks([bytes()], { from }).frames.filter((f) => f.complete);
    if (frames.length >= n || Date.now() > deadline) return frames;
    await settle(5);
  }
}

describe('DirectionPipe, nothing deciding', () => {
  test('forwards server frames as the very bytes received', () => {
    const h = harness('server');
    const input = Buffer.concat([unmaskedFrame(Opcode.Text, 'hi'), unmaskedFrame(Opcode.Binary, patternBytes(300)), unmaskedFrame(Opcode.Ping, 'p')]);
    h.pipe.push(input);
    assert.deepEqual(h.out(), input);
    assert.equal(h.written.length, 1, 'one write per chunk');
    assert.deepEqual(h.frames.map((f) => f.kind), ['text', 'binary', 'ping']);
  });

  test('the records of a read\'s frames go out once each, in order, also when an observer writes in between', () => {
    const h = harness('client');
    // An observer's reaction to the third record writes a frame of the proxy's own: the records
    // still held must neither be lost nor emitted twice, and the next read starts a fresh list.
    let injected = false;
    h.bus.on('frame', (f) => {
      if (!injected && f.origin === 'peer' && f.length === 3) {
        injected = true;
        h.pipe.writeNow({ kind: 'ping', data: Buffer.from('x') });
      }
    });
    const texts = Array.from({ length: 40 }, (_, i) => 'p'.repeat(i + 1));
    h.pipe.push(Buffer.concat(texts.slice(0, 30).map((t) => maskedFrame(Opcode.Text, t, KEY_A))));
    h.pipe.push(Buffer.concat(texts.slice(30).map((t) => maskedFrame(Opcode.Text, t, KEY_A))));
    const peer = h.frames.filter((f) => f.origin === 'peer');
    assert.deepEqual(peer.map((f) => f.length), texts.map((t) => t.length), 'every frame once, in order');
    assert.deepEqual(new Set(peer.map((f) => f.id)).size, texts.length);
    const ping = h.frames.findIndex((f) => f.origin === 'injected');
    assert.equal(ping, 3, 'the injected frame is recorded where it was written');
    assert.deepEqual(h.messages.map((m) => Buffer.from(m.payload).toString()), texts);
  });

  test('re-masks client frames with a fresh key and keeps every other bit', () => {
    const h = harness('client');
    const payload = patternBytes(70000);
    h.pipe.push(Buffer.concat([maskedFrame(Opcode.Binary, payload, KEY_A, false), maskedFrame(Opcode.Continuation, 'tail', KEY_A)]));
    const parsed = parseChunks([h.out()], { from: 'client' });
    assert.equal(parsed.frames.length, 2);
    assert.equal(parsed.frames[0]!.maskKey, Buffer.from(KEY_B).toString('hex'));
    assert.equal(parsed.frames[0]!.fin, false);
    assert.deepEqual(parsed.frames[0]!.payload, payload);
    assert.deepEqual(parsed.frames[1]!.payload, Buffer.from('tail'));
    assert.equal(h.frames[0]!.maskKey !== null && Buffer.from(h.frames[0]!.maskKey).equals(Buffer.from(KEY_A)), true, 'record keeps the peer key');
  });

  test('masked frames leave in the chunk they came in, re-keyed in place, whatever the split', () => {
    // Lengths cover the 7-bit, 16-bit and word-sized paths, a fragmented message and a control frame.
    const frames: [number, Uint8Array | string, boolean][] = [
      [Opcode.Text, 'hello', true],
      [Opcode.Binary, patternBytes(0), true],
      [Opcode.Binary, patternBytes(125), true],
      [Opcode.Text, 'frag-', false],
      [Opcode.Ping, 'p', true],
      [Opcode.Continuation, 'ment', true],
      [Opcode.Binary, patternBytes(300), true],
      [Opcode.Binary, patternBytes(70000), true],
    ];
    const input = Buffer.concat(frames.map(([op, p, fin]) => maskedFrame(op, p, KEY_A, fin)));
    const want = Buffer.concat(frames.map(([op, p, fin]) => maskedFrame(op, p, KEY_B, fin)));
    const cuts = [...Array.from({ length: 400 }, (_, i) => i), input.length - 3, input.length];
    for (const cut of cuts) {
      const h = harness('client');
      // Copies: the pipe owns what it is given and re-masks it in place.
      h.pipe.push(Buffer.from(input.subarray(0, cut)));
      h.pipe.push(Buffer.from(input.subarray(cut)));
      assert.deepEqual(h.out(), want, `split at ${cut}`);
      assert.deepEqual(h.frames.map((f) => f.length), frames.map(([, p]) => p.length), `records, split at ${cut}`);
    }
    const whole = harness('client');
    whole.pipe.push(Buffer.from(input));
    assert.equal(whole.written.length, 1, 'one chunk in, one write out');
    assert.deepEqual(whole.frames.map((f) => f.maskKey === null ? null : Buffer.from(f.maskKey).toString('hex')), frames.map(() => '01020304'), 'records keep the peer key');
  });

  test('failing on a violation: the reported frame is not passed on if none of it has left', () => {
    const bad = unmaskedFrame(Opcode.Text, Buffer.from([0xff, 0xfe])); // invalid UTF-8 (§8.1)
    const h = harness('server', [], undefined, undefined, true);
    h.pipe.push(Buffer.concat([unmaskedFrame(Opcode.Text, 'before'), bad, unmaskedFrame(Opcode.Text, 'after')]));
    const got = parseChunks([h.out()], { from: 'server' }).frames;
    assert.deepEqual(got.map((f) => [f.opcode, Buffer.from(f.payload).toString('latin1')]), [[Opcode.Text, 'before'], [Opcode.Close, '\x03\xea']]);
    // A frame that began in an earlier read has partly left: the rest goes before the close, so the
    // peer can still frame what follows.
    const h2 = harness('server', [], undefined, undefined, true);
    h2.pipe.push(bad.subarray(0, 3));
    h2.pipe.push(bad.subarray(3));
    const got2 = parseChunks([h2.out()], { from: 'server' }).frames;
    assert.deepEqual(got2.map((f) => f.opcode), [Opcode.Text, Opcode.Close]);
    assert.equal(got2.every((f) => f.complete), true);
  });

  test('frames of one read share its arrival time: the clock is read once per chunk', () => {
    let clock = 100;
    let reads = 0;
    const h = harness('server', [], undefined, () => {
      reads++;
      return clock;
    });
    h.pipe.push(Buffer.concat([unmaskedFrame(Opcode.Text, 'a'), unmaskedFrame(Opcode.Text, 'b'), unmaskedFrame(Opcode.Ping, 'p')]));
    clock = 200;
    h.pipe.push(unmaskedFrame(Opcode.Text, 'c'));
    assert.deepEqual(h.frames.map((f) => f.time), [100, 100, 100, 200]);
    assert.deepEqual(h.messages.map((m) => m.time), [100, 100, 200]);
    assert.equal(reads, 2);
  });

  test('a payload split across many chunks is re-masked at the right key offset', () => {
    const h = harness('client');
    const payload = patternBytes(1000);
    const frame = maskedFrame(Opcode.Binary, payload, KEY_A);
    for (let i = 0; i < frame.length; i += 7) h.pipe.push(frame.subarray(i, i + 7));
    assert.deepEqual(parseChunks([h.out()], { from: 'client' }).frames[0]!.payload, payload);
  });

  test('caps the preview at maxPreview and marks it truncated', () => {
    const h = harness('server', [], { maxPreview: 16, maxMessage: 1 << 20 });
    h.pipe.push(unmaskedFrame(Opcode.Text, 'x'.repeat(100)));
    assert.equal(h.frames[0]!.payload.length, 16);
    assert.equal(h.frames[0]!.truncated, true);
    assert.equal(h.messages[0]!.length, 100);
  });

  test('reports invalid UTF-8 split across fragments only at the end', () => {
    const h = harness('server');
    const euro = Buffer.from('€');
    h.pipe.push(Buffer.concat([unmaskedFrame(Opcode.Text, euro.subarray(0, 1), false), unmaskedFrame(Opcode.Continuation, euro.subarray(1))]));
    assert.equal(h.violations.length, 0);
    h.pipe.push(unmaskedFrame(Opcode.Text, Buffer.from([0xc3, 0x28])));
    assert.deepEqual(h.violations.map((v) => v.code), ['invalid-utf8']);
  });
});

describe('DirectionPipe, with a decider', () => {
  test('holds a wanted message and forwards it unchanged with its original fragmentation', async () => {
    const h = harness('client', [decider(() => ({ action: 'forward' }))]);
    h.pipe.push(Buffer.concat([maskedFrame(Opcode.Text, 'frag', KEY_A, false), maskedFrame(Opcode.Ping, 'p', KEY_A), maskedFrame(Opcode.Continuation, 'ment', KEY_A)]));
    const frames = await framesOut(h.out, 3, 'client');
    assert.deepEqual(frames.map((f) => [f.opcode, f.fin, f.payload.toString()]), [
      [Opcode.Text, false, 'frag'],
      [Opcode.Ping, true, 'p'],
      [Opcode.Continuation, true, 'ment'],
    ]);
    assert.equal(h.messages[0]!.fate, 'forwarded');
  });

  test('replaces a message with one frame and records it as modified', async () => {
    const h = harness('client', [decider((t) => ({ action: 'replace', messages: [{ kind: 'text', data: Buffer.from(t.toUpperCase()) }] }))]);
    h.pipe.push(Buffer.concat([maskedFrame(Opcode.Text, 'ab', KEY_A, false), maskedFrame(Opcode.Continuation, 'cd', KEY_A)]));
    const frames = await framesOut(h.out, 1, 'client');
    assert.deepEqual(frames.map((f) => [f.opcode, f.fin, f.payload.toString(), f.maskKey !== null]), [[Opcode.Text, true, 'ABCD', true]]);
    assert.equal(h.messages.at(-1)!.fate, 'modified');
    assert.equal(h.messages.at(-1)!.by, 'test');
    assert.ok(h.frames.some((f) => f.origin === 'modified'));
  });

  test('drops a message and records it as dropped', async () => {
    const h = harness('server', [decider((t) => (t === 'drop me' ? { action: 'drop' } : { action: 'forward' }))]);
    h.pipe.push(Buffer.concat([unmaskedFrame(Opcode.Text, 'drop me'), unmaskedFrame(Opcode.Text, 'keep')]));
    assert.deepEqual((await framesOut(h.out, 1)).map((f) => f.payload.toString()), ['keep']);
    assert.deepEqual(h.messages.map((m) => m.fate), ['dropped', 'forwarded']);
  });

  test('keeps arrival order when decisions take different times', async () => {
    let n = 0;
    const slowFirst: MessageInterceptor = {
      name: 'slow',
      wants: (m) => m.kind === 'text',
      decide: async () => {
        await settle(++n === 1 ? 50 : 1);
        return { action: 'forward' };
      },
    };
    const h = harness('server', [slowFirst]);
    h.pipe.push(Buffer.concat([unmaskedFrame(Opcode.Text, 'one'), unmaskedFrame(Opcode.Binary, 'two'), unmaskedFrame(Opcode.Text, 'three')]));
    assert.deepEqual((await framesOut(h.out, 3)).map((f) => f.payload.toString()), ['one', 'two', 'three']);
  });

  test('queues an injected message behind a held one, and after an open fragmented message', async () => {
    const h = harness('server', [decider(() => ({ action: 'forward' }), (k) => k === 'text', 30)]);
    h.pipe.push(unmaskedFrame(Opcode.Text, 'held'));
    h.pipe.inject({ kind: 'text', data: Buffer.from('injected') });
    h.pipe.push(unmaskedFrame(Opcode.Binary, 'open', false));
    h.pipe.inject({ kind: 'binary', data: Buffer.from('after') });
    h.pipe.push(unmaskedFrame(Opcode.Continuation, 'end'));
    assert.deepEqual((await framesOut(h.out, 5)).map((f) => f.payload.toString()), ['held', 'injected', 'open', 'end', 'after']);
    assert.ok(h.messages.some((m) => m.fate === 'injected'));
  });

  test('streams a held message that outgrows maxMessage, and tells the decider', async () => {
    const streamed: number[] = [];
    const d: MessageInterceptor = { ...decider(() => ({ action: 'drop' }), (k) => k === 'binary'), streamed: (_m, len) => streamed.push(len) };
    const h = harness('server', [d], { maxPreview: 64, maxMessage: 1000 });
    const big = patternBytes(5000);
    const frame = unmaskedFrame(Opcode.Binary, big);
    for (let i = 0; i < frame.length; i += 512) h.pipe.push(frame.subarray(i, i + 512));
    const frames = await framesOut(h.out, 1);
    assert.deepEqual(frames[0]!.payload, big, 'delivered whole, not dropped');
    assert.equal(streamed.length, 1);
    assert.equal(h.messages[0]!.fate, 'streamed');
  });

  test('a decider that throws lets the message through (fail open)', async () => {
    const errors: string[] = [];
    const bus = new EventEmitter<ProxyEvents>();
    const written: Uint8Array[] = [];
    const pipe = new DirectionPipe('server', {
      session: 1, bus, limits: { maxPreview: 64, maxMessage: 1 << 20 }, keys: () => KEY_B, signal: new AbortController().signal, records: new Sequencer(),
      now: () => 0, nextId: (() => { let i = 0; return () => ++i; })(),
      interceptors: () => [{ name: 'broken', wants: () => true, decide: () => { throw new Error('boom'); } }],
      write: (s) => written.push(...s), violation: () => undefined, closeFrame: () => undefined, pressure: () => undefined,
      chainError: (name, e) => errors.push(`${name}: ${(e as Error).message}`), idle: () => undefined,
    }, null);
    pipe.push(unmaskedFrame(Opcode.Text, 'still here'));
    assert.deepEqual((await framesOut(() => Buffer.concat(written), 1)).map((f) => f.payload.toString()), ['still here']);
    assert.deepEqual(errors, ['broken: boom']);
  });

  test('decides on control frames when asked, e.g. dropping pings', async () => {
    const h = harness('client', [decider(() => ({ action: 'drop' }), (k) => k === 'ping')]);
    h.pipe.push(Buffer.concat([maskedFrame(Opcode.Ping, 'p', KEY_A), maskedFrame(Opcode.Text, 't', KEY_A), maskedFrame(Opcode.Pong, 'q', KEY_A)]));
    assert.deepEqual((await framesOut(h.out, 2, 'client')).map((f) => f.opcode), [Opcode.Text, Opcode.Pong]);
  });
});

describe('DirectionPipe, empty frames held', () => {
  // Each queued frame counts FRAME_COST toward the bounds besides its payload: a peer sending
  // empty frames must meet them as one sending bytes does (before, they counted nothing).
  test('a held message of endless empty fragments streams once its frames pass --max-message', async () => {
    const streamed: number[] = [];
    const logs: string[] = [];
    const d: MessageInterceptor = { ...decider(() => ({ action: 'drop' }), (k) => k === 'binary'), streamed: (_m, len) => streamed.push(len) };
    const h = harness('server', [d], { maxPreview: 64, maxMessage: 64 * 1024 });
    h.bus.on('log', (l) => logs.push(l.text));
    const empties = (64 * 1024) / FRAME_COST + 50;
    h.pipe.push(Buffer.concat([unmaskedFrame(Opcode.Binary, 'x', false), ...Array.from({ length: empties }, () => unmaskedFrame(Opcode.Continuation, '', false))]));
    const out = await framesOut(h.out, empties + 1);
    assert.equal(out.length, empties + 1, 'the fragments went out as they came, not held without end');
    assert.deepEqual(streamed, [1], 'the decider is told it streamed (1 payload byte)');
    assert.ok(logs.some((t) => /frames, over --max-message/.test(t)), logs.join('\n'));
    h.pipe.push(unmaskedFrame(Opcode.Continuation, 'end'));
    await framesOut(h.out, empties + 2);
    assert.equal(h.messages.at(-1)!.fate, 'streamed');
  });

  test('empty messages queued behind an undecided one pause the peer past twice --max-message', async () => {
    const never: MessageInterceptor = { name: 'never', wants: (m) => m.kind === 'text', decide: () => new Promise<Verdict>(() => undefined) };
    const h = harness('server', [never], { maxPreview: 64, maxMessage: 64 * 1024 });
    h.pipe.push(unmaskedFrame(Opcode.Text, 'waits'));
    const behind = (2 * 64 * 1024) / FRAME_COST + 10;
    h.pipe.push(Buffer.concat(Array.from({ length: behind }, () => unmaskedFrame(Opcode.Binary, ''))));
    await settle();
    assert.deepEqual(h.pressure, [true], 'the source is paused');
    assert.equal(h.written.length, 0, 'nothing passes the undecided message');
  });
});

describe('DirectionPipe, regressions', () => {
  test('the last fragment is written once when a data inject waited for it', async () => {
    const h = harness('server');
    h.pipe.push(unmaskedFrame(Opcode.Binary, 'first', false));
    h.pipe.inject({ kind: 'text', data: Buffer.from('injected') });
    h.pipe.push(unmaskedFrame(Opcode.Continuation, 'last'));
    const frames = await framesOut(h.out, 3);
    await settle();
    assert.deepEqual(parseChunks([h.out()]).frames.map((f) => [f.opcode, f.fin, f.payload.toString()]), [
      [Opcode.Binary, false, 'first'],
      [Opcode.Continuation, true, 'last'],
      [Opcode.Text, true, 'injected'],
    ]);
    assert.equal(frames.length, 3);
  });

  test('a close body is decoded whole even with a tiny preview', () => {
    const h = harness('server', [], { maxPreview: 1, maxMessage: 1 << 20 });
    h.pipe.push(unmaskedFrame(Opcode.Close, Buffer.concat([Buffer.from([0x03, 0xe8]), Buffer.from('bye')])));
    assert.deepEqual(h.frames[0]!.close, { code: 1000, reason: 'bye' });
    assert.equal(h.violations.length, 0);
  });

  test('ends drained when the peer stops inside a frame with an inject waiting', async () => {
    const h = harness('server');
    const frame = unmaskedFrame(Opcode.Binary, patternBytes(100));
    h.pipe.push(frame.subarray(0, 50));
    h.pipe.inject({ kind: 'ping', data: Buffer.from('p') });
    h.pipe.end();
    await settle();
    assert.equal(h.pipe.drained, true);
    assert.ok(h.violations.some((v) => v.code === 'truncated-frame'));
  });

  test('ends drained when the peer stops inside a message with a data inject waiting', async () => {
    const h = harness('server');
    h.pipe.push(unmaskedFrame(Opcode.Text, 'open', false));
    h.pipe.inject({ kind: 'text', data: Buffer.from('never') });
    h.pipe.end();
    await settle();
    assert.equal(h.pipe.drained, true);
    assert.ok(!h.out().includes(Buffer.from('never')));
  });
});

describe('DirectionPipe, frames read where they lie', () => {
  test('a masked text frame longer than the preview is still checked as UTF-8 all through', () => {
    // The observers read 16 bytes: the rest is unmasked only for the check, in a scratch buffer.
    const h = harness('client', [], { maxPreview: 16, maxMessage: 1 << 20 });
    const bad = Buffer.concat([Buffer.from('a'.repeat(40_000)), Buffer.from([0xc3, 0x28]), Buffer.from('tail')]);
    h.pipe.push(maskedFrame(Opcode.Text, bad, KEY_A));
    assert.deepEqual(h.violations.map((v) => v.code), ['invalid-utf8']);
    const good = Buffer.from('€'.repeat(20_000));
    h.pipe.push(maskedFrame(Opcode.Text, good, KEY_A));
    assert.equal(h.violations.length, 1);
    assert.equal(h.frames[1]!.payload.toString(), good.subarray(0, 16).toString());
  });

  test('a chunk of frames passing through with a held control frame in the middle keeps every byte in order', () => {
    const h = harness('client', [decider(() => ({ action: 'forward' }), (k) => k === 'ping')]);
    const chunk = Buffer.concat([maskedFrame(Opcode.Text, 'one'), maskedFrame(Opcode.Ping, 'p'), maskedFrame(Opcode.Text, 'two')]);
    h.pipe.push(chunk);
    return settle().then(() => {
      const frames = parseChunks([h.out()], { from: 'client' }).frames;
      assert.deepEqual(frames.map((f) => Buffer.from(f.payload).toString()), ['one', 'p', 'two']);
      assert.deepEqual(h.frames.map((f) => f.payload.toString()), ['one', 'p', 'two']);
    });
  });

  test('records read the header bytes and the key as they came, on demand', () => {
    const h = harness('client');
    // A 16-bit length where 7 bits would do (a violation, relayed as it came).
    const raw = Buffer.from([0x81, 0xfe, 0x00, 0x03, 0x01, 0x02, 0x03, 0x04]);
    h.pipe.push(Buffer.concat([raw, xorMask(Buffer.from('abc'), KEY_A)]));
    const f = h.frames[0]!;
    assert.deepEqual(Buffer.from(f.header), raw);
    assert.equal(f.headerLength, 8);
    assert.deepEqual(Buffer.from(f.maskKey!), Buffer.from(KEY_A));
    // Re-keyed on the wire with the proxy's own key, the same length encoding kept.
    assert.deepEqual(h.out().subarray(0, 4), raw.subarray(0, 4));
    assert.deepEqual(h.out().subarray(4, 8), Buffer.from(KEY_B));
  });
});
