/** The fault rule grammar: what parses to what, and one-line errors that name the bad word. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACTION_WORDS, FaultRuleError, parseDuration, parseRate, parseRule, ruleFromJson } from '../../src/fault/rule.js';
import { FaultRandom } from '../../src/fault/prng.js';
import { loadFaults, parseSeed } from '../../src/fault/load.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

test('the examples of the issue parse', () => {
  const delay = parseRule('server: delay 200ms jitter 50ms');
  assert.deepEqual(delay.action, { type: 'delay', ms: 200, jitter: 50 });
  assert.equal(delay.direction, 'server');
  const drop = parseRule('client: drop 10% match /"type":"ack"/');
  assert.deepEqual(drop.action, { type: 'drop' });
  assert.equal(drop.probability, 0.1);
  assert.equal(drop.matchSource, '/"type":"ack"/');
  assert.equal(drop.match!.terms[0]!.type, 'regex');
  const close = parseRule('server: close 1012 "restart" after 30s');
  assert.deepEqual(close.action, { type: 'close', code: 1012, reason: 'restart', after: 30_000 });
  const storm = parseRule('storm: kill all every 60s refuse 5s');
  assert.deepEqual(storm.action, { type: 'kill', close: null, every: 60_000, refuse: 5000 });
});

test('every action parses and writes back to a text that parses the same', () => {
  const rules = [
    'delay 1s',
    'server: delay-pong 5s jitter 1s',
    'client: drop',
    'client: duplicate 2',
    'close 1001',
    'server: close 4000 "bye \\"now\\"" on match match kind:text',
    'server: abort after 2s',
    'client: abort',
    'server: halfclose after 100ms',
    'client: fragment 16 with ping',
    'server: coalesce',
    'client: throttle 64KB/s',
    'server: trickle 3s',
    'handshake 503 retry-after 5',
    'handshake 429 10 match path:/api',
    'handshake delay 2s',
    'storm: kill all 1012 "restart" every 1m refuse 5s',
    'drop 25% match session:2 kind:binary',
  ];
  for (const text of rules) {
    const rule = parseRule(text);
    const again = parseRule(rule.text);
    assert.deepEqual({ ...again, match: null }, { ...rule, match: null }, text);
  }
  assert.equal(parseRule('server: close 4000 "bye \\"now\\"" on match').action.type === 'close' && (parseRule('server: close 4000 "bye \\"now\\""').action as { reason: string }).reason, 'bye "now"');
  assert.equal(parseRule('handshake 429 10 match path:/api').path, '/api');
  // "match" inside a quoted reason is part of the reason; "on match" is not the filter keyword.
  const quoted = parseRule('server: close 1000 "no match here" on match match /x y/');
  assert.deepEqual(quoted.action, { type: 'close', code: 1000, reason: 'no match here', after: null });
  assert.equal(quoted.matchSource, '/x y/');
});

test('errors are one line naming the bad word; an unknown action lists the actions', () => {
  const cases: [string, RegExp][] = [
    ['server: dely 200ms', /unknown action "dely" \(actions: delay, delay-pong, drop, duplicate, close, abort, halfclose, fragment, coalesce, throttle, trickle, handshake, kill all\)/],
    ['server: delay 200', /"200" is not a duration/],
    ['server: delay', /missing delay/],
    ['sever: drop', /unknown direction "sever:"/],
    ['server: close 1006', /"1006" is not a close code that may be sent/],
    ['server: close 1000 "unterminated', /unterminated quote/],
    ['client: drop 0%', /"0%" is not a probability/],
    ['client: drop 150%', /"150%" is not a probability/],
    ['client: drop match', /"match" needs a filter/],
    ['client: drop match kind:nothing', /match: .*nothing/],
    ['client: fragment 0', /"0" is not a frame size/],
    ['client: fragment 8 with pong', /expected "with ping"/],
    ['client: throttle fast', /"fast" is not a rate/],
    ['handshake 200', /"200" is not a refusal status/],
    ['server: handshake 503', /a handshake rule has no direction/],
    ['client: kill all', /write "storm: kill all"/],
    ['storm: drop', /"storm:" takes "kill all"/],
    ['client: drop now', /unexpected "now" after drop/],
    ['client: throttle 1MB/s match kind:text', /applies to connections/],
    ['', /no action/],
  ];
  for (const [text, re] of cases) {
    assert.throws(() => parseRule(text, `--fault '${text}'`), (e: unknown) => {
      assert.ok(e instanceof FaultRuleError, text);
      assert.match(e.message, re, text);
      assert.ok(!e.message.includes('\n'), 'one line');
      assert.ok(e.message.startsWith(`--fault '${text}': `), 'names the rule');
      return true;
    });
  }
  assert.equal(ACTION_WORDS.length, 13);
});

test('durations and rates', () => {
  assert.equal(parseDuration('200ms'), 200);
  assert.equal(parseDuration('1.5s'), 1500);
  assert.equal(parseDuration('2m'), 120_000);
  assert.equal(parseDuration('200'), null);
  assert.equal(parseRate('64KB/s'), 65536);
  assert.equal(parseRate('1MB/s'), 1024 * 1024);
  assert.equal(parseRate('8Mbit/s'), 1_000_000);
  assert.equal(parseRate('65536'), 65536);
  assert.equal(parseRate('fast'), null);
});

test('JSON rules: strings, {rule}, and objects with the same words give the same rule', () => {
  const text = ruleFromJson('server: close 1012 "restart" after 30s', 'x').rule;
  const wrapped = ruleFromJson({ rule: 'server: close 1012 "restart" after 30s', enabled: false }, 'x');
  const object = ruleFromJson({ direction: 'server', action: 'close', args: [1012], reason: 'restart', after: '30s' }, 'x').rule;
  assert.deepEqual(wrapped.rule, text);
  assert.equal(wrapped.enabled, false);
  assert.deepEqual(object, text);
  const delay = ruleFromJson({ direction: 'client', action: 'delay', args: [200], jitter: 50, probability: 0.5, match: 'kind:text' }, 'x').rule;
  assert.equal(delay.text, 'client: delay 200ms jitter 50ms 50% match kind:text');
  assert.throws(() => ruleFromJson({ action: 'drop', colour: 'red' }, 'rule 1'), /rule 1: unknown field "colour"/);
  assert.throws(() => ruleFromJson({ action: 'dorp' }, 'rule 1'), /unknown action "dorp"/);
});

test('--faults file: an array or { seed, rules }, errors name the file and the rule', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsproxy-faults-'));
  try {
    const good = path.join(dir, 'good.json');
    fs.writeFileSync(good, JSON.stringify({ seed: 7, rules: ['client: drop 10%', { direction: 'server', action: 'delay', args: ['1s'] }] }));
    const loaded = loadFaults(['server: coalesce'], good);
    assert.equal(loaded.seed, 7);
    assert.deepEqual(loaded.rules.map((r) => [r.rule.text, r.source]), [
      ['server: coalesce', 'cli'],
      ['client: drop 10%', 'file'],
      ['server: delay 1s', 'file'],
    ]);
    const bad = path.join(dir, 'bad.json');
    fs.writeFileSync(bad, JSON.stringify(['client: drop', 'client: dely 1s']));
    assert.throws(() => loadFaults([], bad), new RegExp(`--faults ${bad}: rule 2: unknown action "dely"`));
    fs.writeFileSync(bad, '{ nope');
    assert.throws(() => loadFaults([], bad), /not JSON/);
    assert.throws(() => loadFaults([], path.join(dir, 'missing.json')), /no such file/);
    assert.throws(() => parseSeed('-1'), /--fault-seed/);
  } finally {
    fs.rmSync(dir, { recursive: true });
  }
});

test('the seeded draws depend on the seed and the stream, not on interleaving', () => {
  const a = new FaultRandom(42);
  const b = new FaultRandom(42);
  const seqA = Array.from({ length: 50 }, () => a.next(1, 1, 1));
  // b draws another stream in between: stream (1,1,1) is unchanged.
  const seqB = Array.from({ length: 50 }, () => (b.next(1, 1, 2), b.next(1, 1, 1)));
  assert.deepEqual(seqB, seqA);
  const c = new FaultRandom(43);
  assert.notDeepEqual(Array.from({ length: 50 }, () => c.next(1, 1, 1)), seqA);
  const mean = seqA.reduce((x, y) => x + y, 0) / seqA.length;
  assert.ok(mean > 0.3 && mean < 0.7);
});
