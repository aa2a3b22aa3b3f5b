import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InterceptQueue } from '../../src/tui/intercept-queue.js';
import { parseFilter } from '../../src/tui/filter.js';
import { runChain, type HeldMessage, type MessageInterceptor, type Verdict } from '../../src/intercept/verdict.js';
import type { Side } from '../../src/proxy/events.js';

let nextId = 1;
function held(session: number, from: Side, text: string, kind: HeldMessage['kind'] = 'text'): HeldMessage {
  return { id: nextId++, session, from, kind, data: Buffer.from(text), frames: 1, compressed: false };
}

function filter(text: string) {
  const r = parseFilter(text);
  if (!r.ok) throw new Error(r.error);
  return r.filter;
}

/**
 * The relay's contract in miniature: per session and direction, messages go through the chain
 * one at a time, in order; later ones wait behind a held one. Returns what was written, in order.
 */
function relay(interceptors: readonly MessageInterceptor[], signal = new AbortController().signal) {
  const written: string[] = [];
  const lanes = new Map<string, Promise<void>>();
  const push = (m: HeldMessage): Promise<void> => {
    const key = `${m.session}:${m.from}`;
    const prev = lanes.get(key) ?? Promise.resolve();
    const next = prev.then(async () => {
      const r = await runChain(interceptors, m, signal, () => {});
      for (const out of r.messages) written.push(`${m.session}${m.from === 'client' ? '>' : '<'}${Buffer.from(out.data).toString()}`);
      if (r.dropped) written.push(`${m.session}${m.from === 'client' ? '>' : '<'}dropped:${Buffer.from(m.data).toString()}`);
    });
    lanes.set(key, next);
    return next;
  };
  return { written, push };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('InterceptQueue', () => {
  it('wants nothing while off, and data messages by default when on', () => {
    const q = new InterceptQueue();
    assert.equal(q.wants({ session: 1, from: 'client', kind: 'text' }), false);
    q.setEnabled(true);
    assert.equal(q.wants({ session: 1, from: 'client', kind: 'text' }), true);
    assert.equal(q.wants({ session: 1, from: 'server', kind: 'binary' }), true);
    assert.equal(q.wants({ session: 1, from: 'server', kind: 'ping' }), false);
    assert.equal(q.filter.source, 'kind:text,binary');
  });

  it('holds matching messages in arrival order across sessions and directions', async () => {
    const q = new InterceptQueue();
    q.setEnabled(true);
    const r = relay([q]);
    void r.push(held(1, 'client', 'a'));
    void r.push(held(2, 'server', 'b'));
    void r.push(held(1, 'server', 'c'));
    await tick();
    assert.deepEqual(
      q.held.map((e) => Buffer.from(e.message.data).toString()),
      ['a', 'b', 'c'],
    );
    assert.deepEqual(r.written, []);
  });

  it('keeps later messages of the same direction queued behind a held one, in order', async () => {
    const q = new InterceptQueue();
    q.setEnabled(true);
    const r = relay([q]);
    const done = [r.push(held(1, 'client', 'first')), r.push(held(1, 'client', 'second')), r.push(held(1, 'client', 'third'))];
    const other = r.push(held(1, 'server', 'reply'));
    await tick();
    // Only the head of each direction reaches the intercept.
    assert.deepEqual(
      q.held.map((e) => Buffer.from(e.message.data).toString()),
      ['first', 'reply'],
    );
    q.forward(q.held[1]!.seq);
    await other;
    assert.deepEqual(r.written, ['1<reply'], 'the other direction is not blocked');
    q.forward(q.held[0]!.seq);
    await tick();
    assert.deepEqual(q.held.map((e) => Buffer.from(e.message.data).toString()), ['second']);
    q.drop(q.held[0]!.seq);
    await tick();
    q.replace(q.held[0]!.seq, Buffer.from('THIRD'));
    await Promise.all(done);
    assert.deepEqual(r.written, ['1<reply', '1>first', '1>dropped:second', '1>THIRD']);
  });

  it('answers forward, drop and replace with the matching verdicts', async () => {
    const q = new InterceptQueue();
    q.setEnabled(true);
    const signal = new AbortController().signal;
    const verdicts: Verdict[] = [];
    for (const act of ['forward', 'drop', 'replace'] as const) {
      const p = Promise.resolve(q.decide(held(1, 'client', 'x'), signal));
      const seq = q.held[0]!.seq;
      if (act === 'forward') q.forward(seq);
      else if (act === 'drop') q.drop(seq);
      else q.replace(seq, Buffer.from('y'));
      verdicts.push(await p);
    }
    assert.deepEqual(verdicts[0], { action: 'forward' });
    assert.deepEqual(verdicts[1], { action: 'drop' });
    assert.equal(verdicts[2]!.action, 'replace');
    if (verdicts[2]!.action === 'replace') {
      assert.equal(verdicts[2]!.messages.length, 1);
      assert.equal(verdicts[2]!.messages[0]!.kind, 'text', 'an edit keeps the kind');
      assert.equal(Buffer.from(verdicts[2]!.messages[0]!.data).toString(), 'y');
    }
    assert.equal(q.forward(999), false, 'settling something not held says so');
  });

  it('forwards at once what the payload part of the filter does not match', async () => {
    const q = new InterceptQueue({ filter: filter('kind:text secret') });
    q.setEnabled(true);
    const signal = new AbortController().signal;
    assert.deepEqual(await q.decide(held(1, 'client', 'nothing here'), signal), { action: 'forward' });
    const p = q.decide(held(1, 'client', 'the SECRET word'), signal);
    assert.equal(q.size, 1);
    q.forward(q.held[0]!.seq);
    assert.deepEqual(await p, { action: 'forward' });
  });

  it('forwards everything held when turned off', async () => {
    const q = new InterceptQueue();
    q.setEnabled(true);
    const r = relay([q]);
    const all = [r.push(held(1, 'client', 'a')), r.push(held(2, 'client', 'b'))];
    await tick();
    assert.equal(q.size, 2);
    q.setEnabled(false);
    await Promise.all(all);
    assert.equal(q.size, 0);
    assert.deepEqual(r.written.sort(), ['1>a', '2>b']);
  });

  it('forgets a held message when its session ends', async () => {
    let changes = 0;
    const q = new InterceptQueue({ onChange: () => changes++ });
    q.setEnabled(true);
    const ac = new AbortController();
    const p = q.decide(held(3, 'server', 'bye'), ac.signal);
    assert.equal(q.size, 1);
    ac.abort();
    await p;
    assert.equal(q.size, 0);
    assert.ok(changes >= 3, 'enable, hold and abort each report a change');
  });

  it('lists messages waiting behind a held one; an early verdict is the answer when the relay asks', async () => {
    const q = new InterceptQueue();
    q.setEnabled(true);
    const ac = new AbortController();
    const head = held(1, 'client', 'head');
    const [a, b, c] = [held(1, 'client', 'a'), held(1, 'client', 'b'), held(1, 'client', 'c')];
    // The relay may tell of waiting messages before the head reaches this decider: listed by arrival.
    q.waiting(b, ac.signal);
    q.waiting(a, ac.signal);
    const first = q.decide(head, ac.signal);
    q.waiting(c, ac.signal);
    q.waiting(c, ac.signal);
    assert.deepEqual(q.held.map((e) => Buffer.from(e.message.data).toString()), ['head', 'a', 'b', 'c']);
    q.drop(q.held[1]!.seq);
    q.replace(q.held[1]!.seq, Buffer.from('B'));
    assert.deepEqual(q.held.map((e) => Buffer.from(e.message.data).toString()), ['head', 'c']);
    q.forward(q.held[0]!.seq);
    assert.deepEqual(await first, { action: 'forward' });
    assert.deepEqual(await q.decide(a, ac.signal), { action: 'drop' });
    const vb = await q.decide(b, ac.signal);
    assert.ok(vb.action === 'replace' && Buffer.from(vb.messages[0]!.data).toString() === 'B');
    // Still undecided when its turn comes: it stays listed, now held for real.
    const vc = q.decide(c, ac.signal);
    assert.equal(q.size, 1);
    q.forwardAll();
    assert.deepEqual(await vc, { action: 'forward' });
  });

  it('forgets waiting messages and early verdicts when the session ends', () => {
    const q = new InterceptQueue();
    q.setEnabled(true);
    const ac = new AbortController();
    const [a, b] = [held(5, 'server', 'a'), held(5, 'server', 'b')];
    q.waiting(a, ac.signal);
    q.waiting(b, ac.signal);
    q.drop(q.held[0]!.seq);
    assert.equal(q.size, 1);
    ac.abort();
    assert.equal(q.size, 0);
    // A later session's message with no early verdict is held as usual.
    const other = new AbortController();
    void q.decide(a, other.signal);
    assert.equal(q.size, 1, 'the dropped verdict went with its session');
    other.abort();
  });

  it('runs after earlier deciders, so it sees what a script already changed', async () => {
    const upper: MessageInterceptor = {
      name: 'script',
      wants: () => true,
      decide: (m) => ({ action: 'replace', messages: [{ kind: m.kind, data: Buffer.from(Buffer.from(m.data).toString().toUpperCase()) }] }),
    };
    const q = new InterceptQueue();
    q.setEnabled(true);
    const r = relay([upper, q]);
    const p = r.push(held(1, 'client', 'quiet'));
    await tick();
    assert.equal(Buffer.from(q.held[0]!.message.data).toString(), 'QUIET');
    q.forward(q.held[0]!.seq);
    await p;
    assert.deepEqual(r.written, ['1>QUIET']);
  });
});
