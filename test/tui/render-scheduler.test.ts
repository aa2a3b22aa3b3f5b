import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RenderScheduler } from '../../src/tui/render-scheduler.js';

test('renders at most maxRate a second, and spends at most about a tenth of the time drawing', () => {
  let clock = 1000;
  const s = new RenderScheduler(() => clock, 20, () => undefined);
  s.run(() => (clock += 1));
  assert.equal(s.interval, 50, 'a quick draw: the rate bound (20/s) rules');
  s.run(() => (clock += 30));
  assert.equal(s.interval, 300, 'a 30 ms draw: ten times that between renders');
  s.run(() => (clock += 500));
  assert.equal(s.interval, 1000, 'never less than a render a second');
  s.run(() => (clock += 2));
  assert.equal(s.interval, 50, 'back to the rate bound once drawing is quick again');
});

test('many schedule() calls before the timer fires make one render', async () => {
  let renders = 0;
  const s = new RenderScheduler(Date.now, 1000, () => renders++);
  for (let i = 0; i < 1000; i++) s.schedule();
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(renders, 1);
  s.cancel();
});
