import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { applyRules, parseReplaceRule, replaceInterceptor, ReplaceRuleError } from '../../src/script/replace-rules.js';
import { INTERCEPTOR_ORDER } from '../../src/proxy/control.js';
import { FakeProxy, text } from './fake-proxy.js';

describe('parseReplaceRule', () => {
  test('plain, prefixed and flagged rules', () => {
    const a = parseReplaceRule('/foo/bar/');
    assert.equal(a.from, null);
    assert.equal(a.regex.source, 'foo');
    assert.equal(a.regex.flags, '');
    assert.equal(a.replacement, 'bar');
    const b = parseReplaceRule('server:/"price":\\d+/"price":0/gi');
    assert.equal(b.from, 'server');
    assert.equal(b.regex.source, '"price":\\d+');
    assert.equal(b.regex.flags, 'gi');
    assert.equal(parseReplaceRule('client:/x/y/').from, 'client');
  });

  test('slashes: escaped anywhere, bare inside a character class; escapes in the replacement', () => {
    const r = parseReplaceRule('/a\\/b[/]c/x\\/y\\n\\t\\\\z/');
    assert.equal(r.regex.test('a/b/c'), true);
    assert.equal(r.replacement, 'x/y\n\t\\z');
    assert.equal(parseReplaceRule('/x//').replacement, '', 'an empty replacement deletes');
  });

  test('bad rules throw one-line messages naming the rule', () => {
    const cases: [string, RegExp][] = [
      ['foo/bar/', /expected '\/regex\/replacement\/'/],
      ['other:/a/b/', /expected '\/regex\/replacement\/'/],
      ['/foo', /missing the '\/' between regex and replacement/],
      ['/foo/bar', /missing the closing '\/' after the replacement/],
      ['//bar/', /the regex is empty/],
      ['/a/b/q', /unknown flags "q"/],
      ['/(/b/', /invalid regular expression: .*Unterminated group/],
      ['/a\\', /ends in a backslash/],
    ];
    for (const [spec, expected] of cases) {
      assert.throws(
        () => parseReplaceRule(spec),
        (error: unknown) => error instanceof ReplaceRuleError && !error.message.includes('\n') && error.message.startsWith(`--replace '${spec}': `) && expected.test(error.message),
        spec,
      );
    }
  });
});

describe('applying rules', () => {
  test('JavaScript replace semantics: first match without g, all with g, captures, case', () => {
    const rules = ['/a/A/', 'server:/(\\d+)/<$1>/g', 'client:/HELLO/bye/i'].map(parseReplaceRule);
    assert.equal(applyRules(rules, 'server', 'aaa 1 22'), 'Aaa <1> <22>');
    assert.equal(applyRules(rules, 'client', 'aaa hello 1'), 'Aaa bye 1');
  });

  test('a global regex is reusable (lastIndex is reset)', () => {
    const rules = [parseReplaceRule('/x/y/gy')];
    assert.equal(applyRules(rules, 'client', 'xx'), 'yy');
    assert.equal(applyRules(rules, 'client', 'xx'), 'yy');
  });
});

describe('replaceInterceptor', () => {
  test('decides on text messages of the directions it has rules for, as "replace"', async () => {
    const proxy = new FakeProxy();
    const interceptor = replaceInterceptor(['server:/secret/******/g']);
    assert.equal(interceptor.name, 'replace');
    assert.equal(interceptor.wants({ session: 1, from: 'server', kind: 'text' }), true);
    assert.equal(interceptor.wants({ session: 1, from: 'client', kind: 'text' }), false);
    assert.equal(interceptor.wants({ session: 1, from: 'server', kind: 'binary' }), false);
    assert.equal(interceptor.wants({ session: 1, from: 'server', kind: 'ping' }), false);
    proxy.use(interceptor, INTERCEPTOR_ORDER.replace);
    proxy.open(1);
    const changed = await proxy.decide(1, 'server', 'text', 'a secret and a secret');
    assert.deepEqual(text(changed), ['a ****** and a ******']);
    assert.equal(changed.changedBy, 'replace');
    const same = await proxy.decide(1, 'server', 'text', 'nothing here');
    assert.equal(same.changedBy, null);
  });

  test('throws on the first bad rule', () => {
    assert.throws(() => replaceInterceptor(['/ok/ok/', '/bad']), ReplaceRuleError);
  });
});
