import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { runChain, type HeldMessage, type MessageInterceptor, type Verdict } from '../../src/intercept/verdict.js';

const held: HeldMessage = { id: 1, session: 1, from: 'server', kind: 'text', data: Buffer.from('hi'), frames: 1, compressed: false };

function decider(name: string, decide: (text: string) => Verdict | Promise<Verdict>, wants = true): MessageInterceptor {
  return { name, wants: () => wants, decide: (m) => decide(Buffer.from(m.data).toString()) };
}

const text = (s: string): Verdict => ({ action: 'replace', messages: [{ kind: 'text', data: Buffer.from(s) }] });

describe('runChain', () => {
  test('with no decider the message goes as it came', async () => {
    const r = await runChain([], held, new AbortController().signal, () => assert.fail());
    assert.equal(r.changedBy, null);
    assert.deepEqual(r.messages.map((m) => m.data.toString()), ['hi']);
  });

  test('deciders run in order, each seeing the result of the one before', async () => {
    const r = await runChain([decider('a', (t) => text(`${t}-a`)), decider('b', async (t) => text(`${t}-b`))], held, new AbortController().signal, () => assert.fail());
    assert.deepEqual(r.messages.map((m) => m.data.toString()), ['hi-a-b']);
    assert.equal(r.changedBy, 'b');
  });

  test('a split is decided message by message; a drop ends the chain', async () => {
    const split: Verdict = { action: 'replace', messages: [{ kind: 'text', data: Buffer.from('x') }, { kind: 'text', data: Buffer.from('y') }] };
    const r = await runChain([decider('split', () => split), decider('dropx', (t) => (t === 'x' ? { action: 'drop' } : { action: 'forward' }))], held, new AbortController().signal, () => assert.fail());
    assert.deepEqual(r.messages.map((m) => m.data.toString()), ['y']);
    const dropped = await runChain([decider('d', () => ({ action: 'drop' }))], held, new AbortController().signal, () => assert.fail());
    assert.equal(dropped.dropped, true);
    assert.equal(dropped.changedBy, 'd');
  });

  test('replacing with the same bytes is not a change', async () => {
    const r = await runChain([decider('same', (t) => text(t))], held, new AbortController().signal, () => assert.fail());
    assert.equal(r.changedBy, null);
  });

  test('a decider that throws is reported and the message goes on unchanged', async () => {
    const errors: string[] = [];
    const r = await runChain([decider('bad', () => Promise.reject(new Error('boom')))], held, new AbortController().signal, (name, e) => errors.push(`${name}: ${(e as Error).message}`));
    assert.deepEqual(errors, ['bad: boom']);
    assert.deepEqual(r.messages.map((m) => m.data.toString()), ['hi']);
  });

  test('an invalid replacement (oversized ping, unknown kind) is refused and reported', async () => {
    const errors: string[] = [];
    const bigPing: Verdict = { action: 'replace', messages: [{ kind: 'ping', data: Buffer.alloc(126) }] };
    const unknown = { action: 'replace', messages: [{ kind: 'shout', data: Buffer.from('x') }] } as unknown as Verdict;
    for (const v of [bigPing, unknown]) {
      const r = await runChain([decider('bad', () => v)], held, new AbortController().signal, (name, e) => errors.push(`${name}: ${(e as Error).message}`));
      assert.deepEqual(r.messages.map((m) => m.data.toString()), ['hi']);
      assert.equal(r.changedBy, null);
    }
    assert.equal(errors.length, 2);
    assert.match(errors[0]!, /125/);
    assert.match(errors[1]!, /unknown message kind/);
  });

  test('a decider that does not want the message is not asked', async () => {
    const r = await runChain([decider('no', () => assert.fail('asked'), false)], held, new AbortController().signal, () => assert.fail());
    assert.equal(r.changedBy, null);
  });

  test('an aborted session drops what was being decided', async () => {
    const abort = new AbortController();
    const r = await runChain([decider('slow', () => { abort.abort(); return { action: 'forward' }; })], held, abort.signal, () => assert.fail());
    assert.equal(r.dropped, true);
  });
});
