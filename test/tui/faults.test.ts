/** `F` in the TUI: list, add, toggle and remove fault rules; fault records mark frames and count in the status bar. */
import { afterEach, it } from 'node:test';
import assert from 'node:assert/strict';
import { faultEngineFor } from '../../src/fault/engine.js';
import { KEY, start, type Harness } from './helpers/screen.js';

let current: Harness | null = null;
afterEach(() => {
  current?.close();
  current = null;
});

it('F lists the rules; a rule typed is added, N toggles it, -N removes it, a bad one is refused with its reason', async () => {
  const h = (current = start({ cols: 120 }));
  const engine = faultEngineFor(h.proxy);
  engine.add('server: delay 200ms', 'cli');
  await h.keys('F');
  assert.ok(h.find('Fault rules') !== null, h.dump());
  assert.match(h.find('server: delay 200ms')!.line, /1 \[on\] +0 hit\(s\) +server: delay 200ms/);
  await h.keys('client: dely 1s');
  assert.ok(h.find('unknown action "dely"') !== null, h.dump());
  await h.keys(KEY.ctrlU, 'client: drop 10%', KEY.enter);
  assert.ok(h.find('fault rule 2 added: client: drop 10%') !== null, h.dump());
  assert.deepEqual(engine.rules().map((r) => [r.id, r.rule.text, r.enabled, r.source]), [
    [1, 'server: delay 200ms', true, 'cli'],
    [2, 'client: drop 10%', true, 'tui'],
  ]);
  await h.keys('F', '1', KEY.enter);
  assert.equal(engine.rules()[0]!.enabled, false);
  assert.ok(h.find('fault rule 1 off') !== null);
  await h.keys('F', '-2', KEY.enter);
  assert.deepEqual(engine.rules().map((r) => r.id), [1]);
  await h.keys('F', KEY.escape);
  assert.ok(h.find('Fault rules') === null, 'Esc closes the list');
});

it('a fault record marks its frame, gets a row, counts in the status bar, and is:fault filters', async () => {
  const h = (current = start({ cols: 140 }));
  faultEngineFor(h.proxy).add('client: drop match /secret/', 'cli');
  h.proxy.open(1);
  const frame = h.proxy.frame({ payload: 'secret' });
  h.proxy.frame({ payload: 'public' });
  h.proxy.bus.emit('fault', { session: 1, time: frame.time + 1, ruleId: 1, rule: 'client: drop match /secret/', action: 'drop', from: 'client', frame: frame.id, message: frame.id + 100, detail: 'dropped' });
  await h.keys('\x0c');
  assert.match(h.find('"secret"')!.line, /\[fault:drop\]/);
  assert.ok(h.find(`rule 1 drop frame ${frame.id}: dropped`) !== null, h.dump());
  assert.ok(h.find('faults: 1 rule(s), 1 applied') !== null, h.dump());
  await h.keys('/', 'is:fault', KEY.enter);
  assert.ok(h.find('"public"') === null);
  assert.ok(h.find('"secret"') !== null);
});
