import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isMetaOnly, matches, mayMatchMeta, parseFilter, type Filter, type FilterSubject } from '../../src/tui/filter.js';

function parse(text: string): Filter {
  const r = parseFilter(text);
  if (!r.ok) throw new Error(`did not parse: ${r.error}`);
  return r.filter;
}

function subject(over: Partial<FilterSubject> & { body?: string } = {}): FilterSubject {
  const body = over.body ?? 'hello world';
  return { session: 1, from: 'client', kind: 'text', messageKind: 'text', marks: [], text: () => body, ...over };
}

const test = (filter: string, s: FilterSubject): boolean => matches(parse(filter), s);

describe('filter language', () => {
  it('matches everything when empty or blank', () => {
    assert.equal(parse('').terms.length, 0);
    assert.equal(parse('   ').terms.length, 0);
    assert.ok(test('', subject()));
  });

  it('matches bare words and quoted text case-insensitively as substrings of the payload', () => {
    assert.ok(test('hello', subject()));
    assert.ok(test('HELLO', subject()));
    assert.ok(test('"o w"', subject()));
    assert.ok(test("'lo wo'", subject()));
    assert.ok(!test('bye', subject()));
    assert.ok(!test('"hello there"', subject()));
  });

  it('requires every term (AND) and negates with !', () => {
    assert.ok(test('hello world', subject()));
    assert.ok(!test('hello bye', subject()));
    assert.ok(test('hello !bye', subject()));
    assert.ok(!test('!hello', subject()));
    assert.ok(test('!!hello', subject()));
  });

  it('matches regular expressions with flags', () => {
    assert.ok(test('/^hel+o/', subject()));
    assert.ok(!test('/^HELLO/', subject()));
    assert.ok(test('/^HELLO/i', subject()));
    assert.ok(test('/wor[l]d$/ hello', subject()));
    assert.ok(test('/a\\/b/', subject({ body: 'a/b' })), 'escaped slash');
    assert.ok(test('/[/]/', subject({ body: 'x/y' })), 'slash inside a class');
    assert.ok(test('/"error":\\s*true/', subject({ body: '{"error": true}' })));
  });

  it('filters by direction with from: and to:', () => {
    assert.ok(test('from:client', subject()));
    assert.ok(test('from:c', subject()));
    assert.ok(!test('from:server', subject()));
    assert.ok(test('from:s', subject({ from: 'server' })));
    assert.ok(test('to:server', subject()));
    assert.ok(!test('to:client', subject()));
    assert.ok(!test('from:client', subject({ from: null })), 'rows without a direction do not match');
  });

  it('filters by kind, with lists and the data/control groups', () => {
    assert.ok(test('kind:text', subject()));
    assert.ok(!test('kind:binary', subject()));
    assert.ok(test('kind:binary,text', subject()));
    assert.ok(test('kind:control', subject({ kind: 'ping' })));
    assert.ok(test('kind:data', subject({ kind: 'binary' })));
    assert.ok(!test('kind:data', subject({ kind: 'close' })));
    assert.ok(test('!kind:ping', subject({ kind: 'pong' })));
    assert.ok(test('k:close', subject({ kind: 'close' })));
  });

  it('lets kind:text match the continuation frames of a text message', () => {
    assert.ok(test('kind:text', subject({ kind: 'continuation', messageKind: 'text' })));
    assert.ok(!test('kind:binary', subject({ kind: 'continuation', messageKind: 'text' })));
    assert.ok(test('kind:continuation', subject({ kind: 'continuation', messageKind: 'text' })));
  });

  it('filters by session with ids, lists, ranges and #N', () => {
    assert.ok(test('session:1', subject()));
    assert.ok(!test('session:2', subject()));
    assert.ok(test('session:2,1', subject()));
    assert.ok(test('session:1-3', subject({ session: 3 })));
    assert.ok(test('session:5-3', subject({ session: 4 })), 'reversed range');
    assert.ok(test('#7', subject({ session: 7 })));
    assert.ok(test('s:7', subject({ session: 7 })));
    assert.ok(!test('session:1', subject({ session: null })));
  });

  it('filters by marks with is:', () => {
    assert.ok(test('is:violation', subject({ marks: ['violation'] })));
    assert.ok(!test('is:violation', subject()));
    assert.ok(test('is:injected', subject({ marks: ['injected'] })));
    assert.ok(test('is:edited', subject({ marks: ['modified'] })));
    assert.ok(test('is:deflate', subject({ marks: ['compressed'] })));
  });

  it('combines every kind of term', () => {
    const s = subject({ session: 2, from: 'server', kind: 'text', body: '{"type":"error","code":7}' });
    assert.ok(test('from:server kind:text session:2 /"type":"error"/ code !warning', s));
    assert.ok(!test('from:server kind:text session:2 /"type":"error"/ !code', s));
  });

  it('treats words with an unknown key as text', () => {
    assert.ok(test('http://x', subject({ body: 'see http://x/y' })));
    assert.ok(test('a:b', subject({ body: '{a:b}' })));
  });

  it('reports errors with a position', () => {
    const cases: [string, RegExp][] = [
      ['from:nobody', /from: takes client or server/],
      ['kind:texty', /unknown kind "texty"/],
      ['kind:', /kind: needs a value/],
      ['session:x', /session: takes numbers/],
      ['is:weird', /is: takes violation, injected, modified, dropped, compressed or fault \(got "weird"\)/],
      ['/unterminated', /unterminated regular expression/],
      ['/a(/', /bad regular expression/],
      ['/a/g', /flags may be i, m, s, u/],
      ['/a/x', /flags may be/],
      ['//', /empty regular expression/],
      ['"open', /unterminated double quote/],
      ['!', /must be followed by a term/],
      ['hello ! world', /must be followed by a term/],
    ];
    for (const [text, error] of cases) {
      const r = parseFilter(text);
      assert.equal(r.ok, false, text);
      if (!r.ok) {
        assert.match(r.error, error, text);
        assert.ok(r.at >= 0 && r.at <= text.length, `${text}: position ${r.at}`);
      }
    }
  });

  it('decides on metadata alone when the payload is not known yet', () => {
    const f = parse('from:client kind:text hello');
    assert.ok(mayMatchMeta(f, { session: 1, from: 'client', kind: 'text' }));
    assert.ok(!mayMatchMeta(f, { session: 1, from: 'server', kind: 'text' }));
    assert.ok(!mayMatchMeta(f, { session: 1, from: 'client', kind: 'ping' }));
    assert.ok(mayMatchMeta(parse('!hello'), { session: 1, from: 'client', kind: 'text' }), 'payload terms are "maybe"');
    assert.ok(isMetaOnly(parse('kind:text from:server session:2')));
    assert.ok(!isMetaOnly(parse('kind:text hello')));
  });
});
