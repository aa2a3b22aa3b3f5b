/**
 * The reconnect tracker keeps a storm's window bounded whatever clients send until the next
 * storm: pairs of client and path tracked one by one up to MAX_TRACKS (then one shared track),
 * the times of the first MAX_TIMES attempts per pair (later ones counted), paths cut at 512
 * characters.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_TIMES, MAX_TRACKS, ReconnectTracker } from '../../src/fault/reconnects.js';

test('a window of many clients, many attempts and long paths stays bounded, and every attempt is counted', () => {
  const t = new ReconnectTracker();
  t.storm(0);
  const clients = MAX_TRACKS + 500;
  for (let round = 1; round <= 3; round++) for (let c = 0; c < clients; c++) t.attempt(`10.0.${c >> 8}.${c & 0xff}:${40000 + round}`, '/ws?token=1', round * 100, false);
  // One client that hammers: every 10 ms, 1,000 times, refused.
  for (let i = 1; i <= 1000; i++) t.attempt('10.9.9.9:1', '/ws', 1000 + i * 10, true);
  t.attempt('10.8.8.8:1', `/${'x'.repeat(70_000)}`, 20_000, false);
  const report = t.report(30_000);
  assert.equal(report.length, MAX_TRACKS + 1, 'one track per pair up to MAX_TRACKS, then one for all others');
  const shared = report.find((r) => r.client === '*')!;
  assert.equal(shared.path, '*');
  assert.equal(shared.attempts, 500 * 3 + 1000 + 1, 'the pairs past the bound are counted in the shared track');
  assert.equal(shared.intervals.length, MAX_TIMES);
  assert.equal(shared.refused, 1000);
  const first = report.find((r) => r.client === '10.0.0.0')!;
  assert.equal(first.path, '/ws', 'tracked without its query');
  assert.deepEqual(first.intervals, [100, 100, 100]);
  assert.equal(first.attempts, 3);
  const total = report.reduce((n, r) => n + r.attempts, 0);
  assert.equal(total, clients * 3 + 1001);
});

test('one pair keeps the times of its first MAX_TIMES attempts and counts the rest; a long path is cut', () => {
  const t = new ReconnectTracker();
  t.storm(0);
  for (let i = 1; i <= 1000; i++) t.attempt('10.9.9.9:1', '/ws', i * 10, i % 2 === 0);
  t.attempt('10.8.8.8:1', `/${'x'.repeat(70_000)}`, 20_000, false);
  const [hammer, long] = t.report(30_000);
  assert.equal(hammer!.attempts, 1000);
  assert.equal(hammer!.refused, 500);
  assert.equal(hammer!.intervals.length, MAX_TIMES);
  assert.equal(hammer!.backoff, false);
  assert.equal(long!.path.length, 512);
});
