import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TRIMMED_PAYLOAD, TuiStore, type Row } from '../../src/tui/store.js';
import { parseFilter } from '../../src/tui/filter.js';
import { violation } from '../../src/protocol/violations.js';
import { Opcode } from '../../src/protocol/constants.js';
import { FakeProxy } from './helpers/fake-proxy.js';

function wired(history = 100, maxPreview = 1024): { store: TuiStore; proxy: FakeProxy } {
  const store = new TuiStore({ history, maxPreview });
  const proxy = new FakeProxy();
  proxy.bus.on('session-open', (i) => store.addSession(i));
  proxy.bus.on('frame', (f) => store.addFrame(f));
  proxy.bus.on('message', (m) => store.addMessage(m));
  proxy.bus.on('violation', (v) => store.addViolation(v));
  proxy.bus.on('session-close', (c) => store.closeSession(c));
  proxy.bus.on('log', (l) => store.addLog(l));
  return { store, proxy };
}

function setFilter(store: TuiStore, text: string): void {
  const r = parseFilter(text);
  assert.ok(r.ok);
  store.setFilter(r.filter);
}

const view = (store: TuiStore): Row[] => store.view.slice(store.view.start, store.view.end);
const payloads = (rows: Row[]): string[] => rows.flatMap((r) => (r.type === 'frame' ? [Buffer.from(r.record.payload).toString()] : []));

describe('TuiStore', () => {
  it('keeps frame payloads within a byte budget by cutting the oldest large ones', () => {
    const store = new TuiStore({ history: 1000, maxPreview: 64 * 1024, maxPayloadBytes: 200 * 1024 });
    const proxy = new FakeProxy();
    proxy.bus.on('frame', (f) => store.addFrame(f));
    for (let i = 0; i < 10; i++) proxy.frame({ payload: Buffer.alloc(64 * 1024, 0x30 + i) });
    proxy.frame({ payload: 'small' });
    assert.ok(store.payloadBytes <= 200 * 1024, `${store.payloadBytes} bytes kept`);
    const frames = view(store).flatMap((r) => (r.type === 'frame' ? [r.record] : []));
    assert.equal(frames.length, 11, 'every row stays');
    // The newest three fit (3 x 64 KiB); the seven before keep their first bytes, marked cut.
    assert.deepEqual(frames.map((f) => f.payload.length), [...Array(7).fill(TRIMMED_PAYLOAD), ...Array(3).fill(64 * 1024), 5]);
    assert.deepEqual(frames.map((f) => f.truncated), [...Array(7).fill(true), ...Array(4).fill(false)]);
    assert.equal(frames[0]!.payload[0], 0x30, 'a cut payload keeps its head');
    assert.equal(frames[0]!.length, 64 * 1024, 'and its length on the wire');
    store.clear();
    assert.equal(store.payloadBytes, 0);
  });

  it('forgets the bytes of large frames that leave the ring', () => {
    const store = new TuiStore({ history: 3, maxPreview: 64 * 1024, maxPayloadBytes: 1 << 30 });
    const proxy = new FakeProxy();
    proxy.bus.on('frame', (f) => store.addFrame(f));
    for (let i = 0; i < 10; i++) proxy.frame({ payload: Buffer.alloc(4096, 1) });
    assert.equal(store.payloadBytes, 3 * 4096);
  });

  it('keeps at most `history` rows, dropping the oldest, and keeps positions stable', () => {
    const { store, proxy } = wired(5);
    for (let i = 0; i < 12; i++) proxy.frame({ payload: `m${i}` });
    assert.equal(store.size, 5);
    assert.equal(store.evicted, 7);
    assert.equal(store.framesSeen, 12);
    assert.deepEqual(payloads(view(store)), ['m7', 'm8', 'm9', 'm10', 'm11']);
    assert.equal(store.view.start, 7, 'positions count from the first row ever');
    assert.equal(store.view.end, 12);
    assert.equal(store.frame(1), undefined, 'evicted frames are forgotten');
  });

  it('filters what is shown, not what is kept, and applies the filter to new rows', () => {
    const { store, proxy } = wired();
    proxy.open(1);
    proxy.frame({ payload: 'alpha' });
    proxy.frame({ from: 'server', payload: 'beta' });
    proxy.frame({ payload: 'gamma', opcode: Opcode.Binary });
    setFilter(store, 'from:client');
    assert.deepEqual(payloads(view(store)), ['alpha', 'gamma']);
    proxy.frame({ payload: 'delta' });
    proxy.frame({ from: 'server', payload: 'epsilon' });
    assert.deepEqual(payloads(view(store)), ['alpha', 'gamma', 'delta']);
    assert.equal(store.size, 6, 'the open row and all frames are kept');
    setFilter(store, '');
    assert.equal(store.view.length, 6);
  });

  it('evicts filtered-out rows without disturbing the view', () => {
    const { store, proxy } = wired(3);
    setFilter(store, 'keep');
    proxy.frame({ payload: 'keep 1' });
    proxy.frame({ payload: 'drop' });
    proxy.frame({ payload: 'drop' });
    proxy.frame({ payload: 'keep 2' });
    assert.deepEqual(payloads(view(store)), ['keep 2']);
    proxy.frame({ payload: 'drop' });
    proxy.frame({ payload: 'drop' });
    assert.deepEqual(payloads(view(store)), ['keep 2']);
    proxy.frame({ payload: 'drop' });
    assert.deepEqual(payloads(view(store)), []);
  });

  it('counts frames and bytes per session and direction, and tracks the close', () => {
    const { store, proxy } = wired();
    proxy.open(1);
    proxy.frame({ payload: 'abc' }); // 2 + 4 (mask) + 3
    proxy.frame({ from: 'server', payload: 'hello' }); // 2 + 5
    const s = store.session(1)!;
    assert.deepEqual(s.frames, { client: 1, server: 1 });
    assert.deepEqual(s.bytes, { client: 9, server: 7 });
    assert.equal(s.state, 'open');
    proxy.frame({ opcode: Opcode.Close, payload: Buffer.from([0x03, 0xe8]), close: { code: 1000, reason: '' } });
    assert.equal(store.session(1)!.state, 'closing');
    assert.equal(store.session(1)!.closeCode, 1000);
    proxy.emitClose({ session: 1, code: 1000, reason: '', by: 'client', clean: true });
    assert.equal(store.session(1)!.state, 'closed');
    assert.equal(store.openSessions(), 0);
    assert.deepEqual(
      view(store).map((r) => r.type),
      ['open', 'frame', 'frame', 'frame', 'close'],
    );
  });

  it('lists a connection whose handshake failed from its close alone', () => {
    const { store, proxy } = wired();
    proxy.emitClose({ session: 4, code: null, reason: 'handshake refused', by: 'server', clean: false });
    const s = store.session(4)!;
    assert.equal(s.info, null);
    assert.equal(s.state, 'closed');
  });

  it('keeps payloads only up to the preview cap and never pins a larger buffer', () => {
    const { store, proxy } = wired(10, 8);
    const big = Buffer.alloc(4096, 0x61);
    proxy.frame({ payload: big.subarray(0, 20) });
    const row = view(store)[0]!;
    assert.equal(row.type, 'frame');
    if (row.type !== 'frame') return;
    assert.equal(row.record.payload.length, 8);
    assert.equal(row.record.truncated, true);
    assert.notEqual(row.record.payload.buffer, big.buffer, 'copied out of the 4 KiB buffer');
    proxy.frame({ payload: 'tiny' });
    const small = view(store)[1]!;
    assert.ok(small.type === 'frame' && small.record.truncated === false);
    // Under the cap, but a view of a socket-sized chunk: copied, or 5 bytes would pin 64 KiB.
    const chunk = Buffer.alloc(64 * 1024, 0x62);
    proxy.frame({ payload: chunk.subarray(100, 105) });
    const viewed = view(store)[2]!;
    assert.ok(viewed.type === 'frame');
    if (viewed.type !== 'frame') return;
    assert.deepEqual(Buffer.from(viewed.record.payload), Buffer.from('bbbbb'));
    assert.notEqual(viewed.record.payload.buffer, chunk.buffer, 'copied out of the 64 KiB chunk');
  });

  it('shows modified and dropped messages as rows, forwarded ones not', () => {
    const { store, proxy } = wired();
    proxy.message({ payload: Buffer.from('a'), fate: 'forwarded' });
    proxy.message({ payload: Buffer.from('b'), fate: 'modified', by: 'intercept' });
    proxy.message({ payload: Buffer.from('c'), fate: 'dropped', by: 'intercept' });
    proxy.message({ payload: Buffer.from('d'), fate: 'injected' });
    const rows = view(store);
    assert.deepEqual(
      rows.map((r) => (r.type === 'message' ? r.record.fate : r.type)),
      ['modified', 'dropped'],
    );
    setFilter(store, 'is:dropped');
    assert.equal(store.view.length, 1);
  });

  it('ties the frames of a message to its record, in order, even with a later message already queued', () => {
    const { store, proxy } = wired();
    const a1 = proxy.frame({ payload: 'he', fin: false });
    const a2 = proxy.frame({ payload: 'llo', opcode: Opcode.Continuation });
    const b1 = proxy.frame({ payload: 'next', opcode: Opcode.Binary, fin: false });
    proxy.frame({ payload: '!', opcode: Opcode.Continuation });
    assert.equal(store.frame(a2.id)!.messageKind, 'text', 'a continuation knows its message kind');
    proxy.message({ payload: Buffer.from('hello'), frames: 2 });
    assert.equal(Buffer.from(store.frame(a1.id)!.message!.payload).toString(), 'hello');
    assert.equal(Buffer.from(store.frame(a2.id)!.message!.payload).toString(), 'hello');
    assert.equal(store.frame(b1.id)!.message, null, 'the next message is not this one');
    proxy.message({ payload: Buffer.from('next!'), kind: 'binary', frames: 2 });
    assert.equal(Buffer.from(store.frame(b1.id)!.message!.payload).toString(), 'next!');
  });

  it('shows a violation on its frame, and on its own row when it concerns no frame', () => {
    const { store, proxy } = wired();
    const f = proxy.frame({ payload: 'x', violations: [violation('invalid-utf8')] });
    proxy.bus.emit('violation', { session: 1, time: 1, from: 'client', violation: violation('invalid-utf8'), frame: f.id });
    assert.equal(store.view.length, 1);
    proxy.bus.emit('violation', { session: 1, time: 2, from: 'client', violation: violation('truncated-frame'), frame: null });
    assert.equal(store.view.length, 2);
    assert.equal(view(store)[1]!.type, 'violation');
  });

  it('clears the log but not the sessions', () => {
    const { store, proxy } = wired();
    proxy.open(1);
    proxy.frame({ payload: 'x' });
    store.clear();
    assert.equal(store.size, 0);
    assert.equal(store.view.length, 0);
    assert.equal(store.sessions().length, 1);
    proxy.frame({ payload: 'y' });
    assert.equal(store.view.length, 1);
  });

  it('keeps a bounded number of closed sessions', () => {
    const store = new TuiStore({ history: 10, maxPreview: 10, maxClosedSessions: 2 });
    const proxy = new FakeProxy();
    proxy.bus.on('session-open', (i) => store.addSession(i));
    proxy.bus.on('session-close', (c) => store.closeSession(c));
    for (let i = 1; i <= 5; i++) proxy.open(i);
    for (let i = 1; i <= 4; i++) proxy.emitClose({ session: i, code: 1000, reason: '', by: 'client', clean: true });
    assert.deepEqual(
      store.sessions().map((s) => s.id),
      [3, 4, 5],
    );
  });

  it('measures frames and bytes per second over a sliding window', () => {
    const { store, proxy } = wired();
    for (let i = 0; i < 20; i++) proxy.frame({ payload: 'abcd', time: 10_000 + i * 50 }); // 1 s of traffic
    const now = store.rates(11_000);
    assert.equal(now.frames, 10, '20 frames in a 2 s window');
    assert.equal(now.bytes, 100);
    assert.equal(store.rates(20_000).frames, 0, 'old traffic decays');
  });

  it('finds positions by sequence after a rebuild', () => {
    const { store, proxy } = wired();
    proxy.frame({ payload: 'a' });
    proxy.frame({ payload: 'b', from: 'server' });
    proxy.frame({ payload: 'c' });
    const c = view(store)[2]!;
    setFilter(store, 'from:client');
    // A small frame's row is made when read: the same row, not the same object.
    assert.equal(store.view.at(store.positionOfSeq(c.seq))?.seq, c.seq);
    assert.deepEqual(store.view.at(store.positionOfSeq(c.seq)), c);
  });
});
