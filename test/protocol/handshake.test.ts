/**
 * The opening handshake helpers (RFC 6455 §4) and extension negotiation (§9.1, RFC 7692).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  MAX_HEAD_BYTES,
  computeAccept,
  deflateFromResponse,
  editHead,
  formatExtensions,
  header,
  headerTokens,
  headerValues,
  isWebSocketUpgrade,
  parseExtensions,
  parseHead,
  parseProtocols,
  parseRequestLine,
  parseStatusLine,
  rewriteHead,
  splitHead,
  verifyAccept,
  withoutDeflate,
  type DeflateParams,
  type ExtensionOffer,
  type HttpHead,
} from '../../src/protocol/index.js';

/** The client handshake of RFC 6455 §1.2 (with the §1.3 key). */
const RFC_REQUEST =
  'GET /chat HTTP/1.1\r\n' +
  'Host: server.example.com\r\n' +
  'Upgrade: websocket\r\n' +
  'Connection: Upgrade\r\n' +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n' +
  'Origin: http://example.com\r\n' +
  'Sec-WebSocket-Protocol: chat, superchat\r\n' +
  'Sec-WebSocket-Version: 13\r\n' +
  '\r\n';

const RFC_RESPONSE =
  'HTTP/1.1 101 Switching Protocols\r\n' +
  'Upgrade: websocket\r\n' +
  'Connection: Upgrade\r\n' +
  'Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n' +
  'Sec-WebSocket-Protocol: chat\r\n' +
  '\r\n';

function head(text: string): HttpHead {
  const parsed = parseHead(Buffer.from(text, 'latin1'));
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.reason);
  return parsed.head;
}

function malformed(text: string): boolean {
  return !parseHead(Buffer.from(text, 'latin1')).ok;
}

describe('splitHead', () => {
  test('is incomplete until the blank line has fully arrived', () => {
    const bytes = Buffer.from(RFC_REQUEST, 'latin1');
    for (let end = 0; end < bytes.length; end++) {
      assert.deepEqual(splitHead(bytes.subarray(0, end)), { state: 'incomplete' }, `${end} bytes`);
    }
  });

  test('splits a complete head and preserves every byte after it', () => {
    const frame = Buffer.from([0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
    const bytes = Buffer.concat([Buffer.from(RFC_REQUEST, 'latin1'), frame]);
    const split = splitHead(bytes);
    assert.equal(split.state, 'complete');
    assert.ok(split.state === 'complete');
    assert.equal(Buffer.from(split.head).toString('latin1'), RFC_REQUEST);
    assert.deepEqual(Buffer.from(split.rest), frame);
    // Views into the input, not copies.
    assert.equal(split.rest.buffer, bytes.buffer);
    const exact = splitHead(Buffer.from(RFC_REQUEST, 'latin1'));
    assert.ok(exact.state === 'complete');
    assert.equal(exact.rest.length, 0);
  });

  test('takes the first blank line; a second one belongs to the rest', () => {
    const bytes = Buffer.from('HTTP/1.1 101 OK\r\n\r\n\r\n\r\nX', 'latin1');
    const split = splitHead(bytes);
    assert.ok(split.state === 'complete');
    assert.equal(Buffer.from(split.head).toString('latin1'), 'HTTP/1.1 101 OK\r\n\r\n');
    assert.equal(Buffer.from(split.rest).toString('latin1'), '\r\n\r\nX');
  });

  test('refuses a head larger than the limit, complete or not', () => {
    const max = 64;
    const fits = `GET / HTTP/1.1\r\nX: ${'a'.repeat(max - 23)}\r\n\r\n`;
    assert.equal(fits.length, max);
    assert.equal(splitHead(Buffer.from(fits), max).state, 'complete');
    const over = `GET / HTTP/1.1\r\nX: ${'a'.repeat(max - 22)}\r\n\r\n`;
    assert.equal(splitHead(Buffer.from(over), max).state, 'too-large');
    assert.equal(splitHead(Buffer.from('G'.repeat(max + 1)), max).state, 'too-large');
    assert.equal(splitHead(Buffer.from('G'.repeat(max)), max).state, 'incomplete');
    // The default limit is MAX_HEAD_BYTES.
    assert.equal(splitHead(Buffer.alloc(MAX_HEAD_BYTES + 1, 0x61)).state, 'too-large');
    assert.equal(splitHead(Buffer.alloc(MAX_HEAD_BYTES, 0x61)).state, 'incomplete');
  });
});

describe('parseHead', () => {
  test('parses a request head: start line, headers in order, names as sent, values without OWS', () => {
    const h = head('GET /chat HTTP/1.1\r\nHost: a.example\r\nx-Mixed-CASE:\t spaced value \t\r\nEmpty:\r\nHost: b\r\n\r\n');
    assert.equal(h.startLine, 'GET /chat HTTP/1.1');
    assert.deepEqual(h.headers, [
      ['Host', 'a.example'],
      ['x-Mixed-CASE', 'spaced value'],
      ['Empty', ''],
      ['Host', 'b'],
    ]);
    assert.deepEqual(headerValues(h, 'host'), ['a.example', 'b']);
    assert.equal(header(h, 'HOST'), 'a.example, b');
    assert.equal(header(h, 'missing'), null);
  });

  test('keeps the raw bytes it was given', () => {
    const raw = Buffer.from(RFC_RESPONSE, 'latin1');
    assert.equal(head(RFC_RESPONSE).raw.length, raw.length);
    const parsed = parseHead(raw);
    assert.ok(parsed.ok);
    assert.equal(parsed.head.raw, raw);
  });

  test('keeps obs-text bytes in values; only SP and HTAB are OWS (RFC 9110 §5.6.3)', () => {
    const h = head('GET / HTTP/1.1\r\nX-Latin: caf\xe9\xa0\r\nX-Vt: \x0bv\r\n\r\n');
    assert.deepEqual(h.headers, [
      ['X-Latin', 'caf\xe9\xa0'],
      ['X-Vt', '\x0bv'],
    ]);
  });

  test('rejects malformed lines', () => {
    assert.ok(malformed('\r\n\r\n'), 'empty start line');
    assert.ok(malformed('GET / HTTP/1.1\r\nno colon here\r\n\r\n'), 'line without a colon');
    assert.ok(malformed('GET / HTTP/1.1\r\n: no name\r\n\r\n'), 'empty name');
    assert.ok(malformed('GET / HTTP/1.1\r\nHost : a\r\n\r\n'), 'space before the colon');
    assert.ok(malformed('GET / HTTP/1.1\r\n folded: a\r\n\r\n'), 'obs-fold / leading space');
    assert.ok(malformed('GET / HTTP/1.1\r\nBad(name): a\r\n\r\n'), 'non-token name');
    assert.ok(malformed('GET / HTTP/1.1\r\nHost: a\r\n\r\nX: b\r\n\r\n'), 'blank line in the middle');
    assert.ok(!malformed(RFC_REQUEST));
    assert.ok(!malformed(RFC_RESPONSE));
  });

  test('parseRequestLine and parseStatusLine read start lines', () => {
    assert.deepEqual(parseRequestLine('GET /chat?x=1 HTTP/1.1'), { method: 'GET', target: '/chat?x=1', version: 'HTTP/1.1' });
    assert.equal(parseRequestLine('GET /chat'), null);
    assert.equal(parseRequestLine('GET  /chat HTTP/1.1'), null);
    assert.deepEqual(parseStatusLine('HTTP/1.1 101 Switching Protocols'), {
      version: 'HTTP/1.1',
      status: 101,
      reason: 'Switching Protocols',
    });
    assert.deepEqual(parseStatusLine('HTTP/1.1 101'), { version: 'HTTP/1.1', status: 101, reason: '' });
    assert.equal(parseStatusLine('HTTP/1.1 1010 Nope'), null);
  });
});

describe('isWebSocketUpgrade', () => {
  test('accepts the RFC §1.2 request', () => {
    assert.equal(isWebSocketUpgrade(head(RFC_REQUEST)), true);
  });

  test('accepts token lists and any case (Firefox sends "Connection: keep-alive, Upgrade")', () => {
    assert.equal(isWebSocketUpgrade(head('GET / HTTP/1.1\r\nConnection: keep-alive, Upgrade\r\nUpgrade: WebSocket\r\n\r\n')), true);
    assert.equal(isWebSocketUpgrade(head('GET / HTTP/1.1\r\nconnection: upgrade\r\nupgrade: h2c, websocket\r\n\r\n')), true);
    assert.deepEqual(headerTokens(head('GET / HTTP/1.1\r\nConnection: keep-alive, Upgrade\r\nConnection: ,close\r\n\r\n'), 'connection'), [
      'keep-alive',
      'upgrade',
      'close',
    ]);
  });

  test('refuses anything that is not a GET asking for websocket on an Upgrade connection', () => {
    const no = [
      'POST /chat HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n',
      'GET /chat HTTP/1.1\r\nConnection: Upgrade\r\n\r\n',
      'GET /chat HTTP/1.1\r\nUpgrade: websocket\r\n\r\n',
      'GET /chat HTTP/1.1\r\nUpgrade: websocket\r\nConnection: keep-alive\r\n\r\n',
      'GET /chat HTTP/1.1\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n',
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n',
    ];
    for (const text of no) assert.equal(isWebSocketUpgrade(head(text)), false, JSON.stringify(text));
  });
});

describe('Sec-WebSocket-Accept', () => {
  test('computeAccept gives the RFC §1.3 example', () => {
    assert.equal(computeAccept('dGhlIHNhbXBsZSBub25jZQ=='), 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  });

  test('verifyAccept checks the response against the request key', () => {
    assert.equal(verifyAccept(head(RFC_REQUEST), head(RFC_RESPONSE)), true);
    const wrong = RFC_RESPONSE.replace('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=', computeAccept('AQIDBAUGBwgJCgsMDQ4PEA=='));
    assert.equal(verifyAccept(head(RFC_REQUEST), head(wrong)), false);
    const noAccept = RFC_RESPONSE.replace('Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n', '');
    assert.equal(verifyAccept(head(RFC_REQUEST), head(noAccept)), false);
    const noKey = RFC_REQUEST.replace('Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n', '');
    assert.equal(verifyAccept(head(noKey), head(RFC_RESPONSE)), false);
  });
});

describe('rewriteHead', () => {
  // Odd spacing, mixed case, obs-text and a duplicate on purpose: untouched lines must survive as is.
  const ORIGINAL =
    'GET /chat HTTP/1.1\r\n' +
    'Host:server.example.com\r\n' +
    'upgrade:   websocket  \r\n' +
    'Connection: Upgrade\r\n' +
    'X-Note: caf\xe9\r\n' +
    'sec-websocket-extensions: permessage-deflate; client_max_window_bits\r\n' +
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n' +
    'SEC-WEBSOCKET-EXTENSIONS: x-webkit-deflate-frame\r\n' +
    'Sec-WebSocket-Version: 13\r\n' +
    '\r\n';

  function rewrite(edits: Parameters<typeof rewriteHead>[1]): string {
    return rewriteHead(head(ORIGINAL), edits).toString('latin1');
  }

  test('with no edits returns the same bytes in a new buffer', () => {
    const h = head(ORIGINAL);
    const out = rewriteHead(h, []);
    assert.deepEqual(out, Buffer.from(ORIGINAL, 'latin1'));
    // A copy: writing to it leaves the parsed head alone.
    out[0] = 0x50;
    assert.equal(h.raw[0], 0x47);
  });

  test('replacing changes only the edited line and keeps every other byte', () => {
    const out = rewrite([{ name: 'Sec-WebSocket-Version', value: '8' }]);
    assert.equal(out, ORIGINAL.replace('Sec-WebSocket-Version: 13', 'Sec-WebSocket-Version: 8'));
    const host = rewrite([{ name: 'host', value: 'proxy.example' }]);
    assert.equal(host, ORIGINAL.replace('Host:server.example.com', 'Host: proxy.example'));
  });

  test('replacing a repeated header keeps the first line (its spelling and place) and drops the others', () => {
    const out = rewrite([{ name: 'Sec-WebSocket-Extensions', value: 'permessage-deflate' }]);
    assert.equal(
      out,
      ORIGINAL.replace(
        'sec-websocket-extensions: permessage-deflate; client_max_window_bits',
        'sec-websocket-extensions: permessage-deflate',
      ).replace('SEC-WEBSOCKET-EXTENSIONS: x-webkit-deflate-frame\r\n', ''),
    );
  });

  test('removing drops every line with the name and nothing else', () => {
    const out = rewrite([{ name: 'sec-websocket-extensions', value: null }]);
    assert.equal(
      out,
      ORIGINAL.replace('sec-websocket-extensions: permessage-deflate; client_max_window_bits\r\n', '').replace(
        'SEC-WEBSOCKET-EXTENSIONS: x-webkit-deflate-frame\r\n',
        '',
      ),
    );
  });

  test('a value for a header the head lacks is added at the end', () => {
    const out = rewrite([{ name: 'Host', value: 'proxy.example' }, { name: 'X-Added', value: '1' }]);
    assert.equal(out, ORIGINAL.replace('Host:server.example.com', 'Host: proxy.example').replace(/\r\n\r\n$/, '\r\nX-Added: 1\r\n\r\n'));
    assert.equal(rewrite([{ name: 'X-Absent', value: null }]), ORIGINAL);
  });

  test('a new start line replaces only the first line', () => {
    const out = rewriteHead(head(ORIGINAL), [], 'GET /other?x=1 HTTP/1.1').toString('latin1');
    assert.equal(out, ORIGINAL.replace('GET /chat HTTP/1.1', 'GET /other?x=1 HTTP/1.1'));
    const both = rewriteHead(head(ORIGINAL), [{ name: 'X-Note', value: null }], 'GET / HTTP/1.1').toString('latin1');
    assert.equal(both, ORIGINAL.replace('GET /chat HTTP/1.1', 'GET / HTTP/1.1').replace('X-Note: caf\xe9\r\n', ''));
  });

  test('applies several edits at once, and the result parses back', () => {
    const out = rewrite([
      { name: 'Origin', value: null },
      { name: 'X-Note', value: 'ok' },
      { name: 'Sec-WebSocket-Extensions', value: null },
    ]);
    const expected = ORIGINAL.replace('X-Note: caf\xe9', 'X-Note: ok')
      .replace('sec-websocket-extensions: permessage-deflate; client_max_window_bits\r\n', '')
      .replace('SEC-WEBSOCKET-EXTENSIONS: x-webkit-deflate-frame\r\n', '');
    assert.equal(out, expected);
    const reparsed = head(out);
    assert.equal(header(reparsed, 'x-note'), 'ok');
    assert.equal(header(reparsed, 'sec-websocket-extensions'), null);
  });

  test('editHead gives the same bytes, and the parsed view parsing them would give', () => {
    const cases: [Parameters<typeof rewriteHead>[1], string | undefined][] = [
      [[{ name: 'host', value: 'proxy.example:9000' }], undefined],
      [[{ name: 'Sec-WebSocket-Extensions', value: ' permessage-deflate\t' }], undefined],
      [[{ name: 'sec-websocket-extensions', value: null }, { name: 'X-Added', value: 'a b' }], 'GET /base/chat HTTP/1.1'],
      [[{ name: 'X-Absent', value: null }], undefined],
      [[], 'GET / HTTP/1.1'],
    ];
    for (const [edits, startLine] of cases) {
      const edited = editHead(head(ORIGINAL), edits, startLine);
      const bytes = rewriteHead(head(ORIGINAL), edits, startLine);
      assert.deepEqual(Buffer.from(edited.raw), bytes);
      const reparsed = head(bytes.toString('latin1'));
      assert.equal(edited.startLine, reparsed.startLine);
      assert.deepEqual(edited.headers, reparsed.headers);
    }
    // No edit: the head itself.
    const h = head(ORIGINAL);
    assert.equal(editHead(h, []), h);
  });

  test('on random heads and edits, editHead is the line-by-line edit, with the parsed view of its bytes', () => {
    /** The rule as documented, line by line: the first line named keeps its place and spelling, later ones go, absent ones are added. */
    const reference = (text: string, edits: readonly { name: string; value: string | null }[], startLine?: string): string => {
      const lines = text.slice(0, -4).split('\r\n');
      const out = [startLine ?? lines[0]!];
      const lower = edits.map((e) => e.name.toLowerCase());
      const done = new Set<string>();
      for (const line of lines.slice(1)) {
        const name = line.slice(0, line.indexOf(':'));
        const at = lower.indexOf(name.toLowerCase());
        if (at === -1) out.push(line);
        else if (edits[at]!.value !== null && !done.has(lower[at]!)) {
          done.add(lower[at]!);
          out.push(`${name}: ${edits[at]!.value}`);
        }
      }
      edits.forEach((e, i) => {
        if (e.value !== null && !done.has(lower[i]!)) out.push(`${e.name}: ${e.value}`);
      });
      return `${out.join('\r\n')}\r\n\r\n`;
    };
    const names = ['Host', 'host', 'HOST', 'Upgrade', 'Sec-WebSocket-Extensions', 'X-A', 'x-a', 'Origin'];
    const value = fc.stringMatching(/^[ \t]?[\x21-\x7e\xa0-\xff ]{0,12}[ \t]?$/);
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom(...names), value, fc.constantFrom(':', ': ', ':  ', ':\t')), { maxLength: 8 }),
        fc.array(fc.tuple(fc.constantFrom(...names), fc.option(fc.stringMatching(/^[\x21-\x7e ]{0,10}$/))), { maxLength: 3 }),
        fc.option(fc.constant('GET /other HTTP/1.1'), { nil: undefined }),
        (lines, edits, startLine) => {
          const text = `GET /a?b HTTP/1.1\r\n${lines.map(([n, v, sep]) => `${n}${sep}${v}\r\n`).join('')}\r\n`;
          const parsed = parseHead(Buffer.from(text, 'latin1'));
          if (!parsed.ok) return;
          const e = edits.map(([name, v]) => ({ name, value: v }));
          const expected = reference(text, e, startLine);
          const edited = editHead(parsed.head, e, startLine);
          assert.equal(Buffer.from(edited.raw).toString('latin1'), expected);
          const reparsed = head(expected);
          assert.equal(edited.startLine, reparsed.startLine);
          assert.deepEqual(edited.headers, reparsed.headers);
          // A head whose parsed pairs do not line up with its lines takes the general path, to the same bytes.
          const unaligned: HttpHead = { ...parsed.head, headers: [...parsed.head.headers, ['X-Extra', '']] };
          assert.equal(Buffer.from(editHead(unaligned, e, startLine).raw).toString('latin1'), expected);
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe('parseExtensions', () => {
  test("reads Chromium's offer", () => {
    assert.deepEqual(parseExtensions('permessage-deflate; client_max_window_bits'), [
      { name: 'permessage-deflate', params: [['client_max_window_bits', true]] },
    ]);
  });

  test("reads Firefox's offer and an empty header", () => {
    assert.deepEqual(parseExtensions('permessage-deflate'), [{ name: 'permessage-deflate', params: [] }]);
    assert.deepEqual(parseExtensions(''), []);
    assert.deepEqual(parseExtensions(' , ,'), []);
  });

  test('reads several offers with values (RFC 7692 §5.1 style fallback list)', () => {
    assert.deepEqual(
      parseExtensions(
        'permessage-deflate; client_max_window_bits; server_max_window_bits=10, permessage-deflate;client_max_window_bits ,x-webkit-deflate-frame',
      ),
      [
        {
          name: 'permessage-deflate',
          params: [
            ['client_max_window_bits', true],
            ['server_max_window_bits', '10'],
          ],
        },
        { name: 'permessage-deflate', params: [['client_max_window_bits', true]] },
        { name: 'x-webkit-deflate-frame', params: [] },
      ],
    );
  });

  test('reads quoted values (with escapes) and spaces around "="', () => {
    assert.deepEqual(parseExtensions('permessage-deflate; client_max_window_bits="10"; server_max_window_bits = 12'), [
      {
        name: 'permessage-deflate',
        params: [
          ['client_max_window_bits', '10'],
          ['server_max_window_bits', '12'],
        ],
      },
    ]);
    assert.deepEqual(parseExtensions('x; a="b\\"c\\\\d"; e="f, g; h"'), [
      {
        name: 'x',
        params: [
          ['a', 'b"c\\d'],
          ['e', 'f, g; h'],
        ],
      },
    ]);
  });

  test('lower-cases extension and parameter names, not values', () => {
    assert.deepEqual(parseExtensions('PerMessage-Deflate; Client_Max_Window_Bits=AbC'), [
      { name: 'permessage-deflate', params: [['client_max_window_bits', 'AbC']] },
    ]);
  });

  test('returns null for malformed headers', () => {
    const bad = [
      'permessage-deflate;',
      'permessage-deflate; ',
      'permessage-deflate; =10',
      'permessage-deflate; a=',
      'permessage-deflate; a="unterminated',
      'permessage-deflate; a="trailing backslash\\',
      'permessage-deflate x',
      'permessage-deflate; a=b c',
      'permessage-deflate; a=b=c',
      '"quoted-name"',
      ';a',
      'a, ;b',
    ];
    for (const value of bad) assert.equal(parseExtensions(value), null, JSON.stringify(value));
  });

  test('formatExtensions writes what parseExtensions reads', () => {
    const offers: ExtensionOffer[] = [
      { name: 'permessage-deflate', params: [['client_max_window_bits', true], ['server_max_window_bits', '10']] },
      { name: 'x-foo', params: [] },
    ];
    assert.equal(formatExtensions(offers), 'permessage-deflate; client_max_window_bits; server_max_window_bits=10, x-foo');
    assert.deepEqual(parseExtensions(formatExtensions(offers)), offers);
  });

  test('formatExtensions quotes values that are not tokens, so they survive a round trip', () => {
    const offers = parseExtensions('x-foo; a="b c"; d=""; e="x,y"; f="q\\"uote"')!;
    const text = formatExtensions(offers);
    assert.deepEqual(parseExtensions(text), offers);
  });
});

describe('parseProtocols', () => {
  test('splits comma-separated subprotocols and drops empty elements', () => {
    assert.deepEqual(parseProtocols('chat, superchat'), ['chat', 'superchat']);
    assert.deepEqual(parseProtocols(' chat ,, v2.json.example.com ,'), ['chat', 'v2.json.example.com']);
    assert.deepEqual(parseProtocols(''), []);
    assert.deepEqual(parseProtocols('mqtt'), ['mqtt']);
  });
});

describe('deflateFromResponse', () => {
  const DEFAULTS: DeflateParams = {
    serverNoContextTakeover: false,
    clientNoContextTakeover: false,
    serverMaxWindowBits: 15,
    clientMaxWindowBits: 15,
  };

  function fromHeader(value: string): DeflateParams | null | string {
    const offers = parseExtensions(value);
    assert.ok(offers !== null, `malformed ${value}`);
    return deflateFromResponse(offers);
  }

  test('is null when the server did not accept permessage-deflate', () => {
    assert.equal(fromHeader(''), null);
    assert.equal(fromHeader('x-webkit-deflate-frame'), null);
  });

  test('defaults to context takeover and 15-bit windows', () => {
    assert.deepEqual(fromHeader('permessage-deflate'), DEFAULTS);
    assert.deepEqual(fromHeader('x-other, permessage-deflate'), DEFAULTS);
  });

  test('reads each parameter', () => {
    assert.deepEqual(fromHeader('permessage-deflate; server_no_context_takeover'), { ...DEFAULTS, serverNoContextTakeover: true });
    assert.deepEqual(fromHeader('permessage-deflate; client_no_context_takeover'), { ...DEFAULTS, clientNoContextTakeover: true });
    for (const bits of [8, 9, 10, 11, 12, 13, 14, 15]) {
      assert.deepEqual(fromHeader(`permessage-deflate; server_max_window_bits=${bits}`), { ...DEFAULTS, serverMaxWindowBits: bits });
      assert.deepEqual(fromHeader(`permessage-deflate; client_max_window_bits="${bits}"`), { ...DEFAULTS, clientMaxWindowBits: bits });
    }
    assert.deepEqual(
      fromHeader(
        'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9; client_max_window_bits=10',
      ),
      { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 9, clientMaxWindowBits: 10 },
    );
  });

  test('describes an invalid response with a string', () => {
    const invalid = [
      'permessage-deflate; server_max_window_bits',
      'permessage-deflate; client_max_window_bits', // a value is required in a response (§7.1.2.2)
      'permessage-deflate; server_max_window_bits=7',
      'permessage-deflate; server_max_window_bits=16',
      'permessage-deflate; client_max_window_bits=08',
      'permessage-deflate; client_max_window_bits=ten',
      'permessage-deflate; server_no_context_takeover=1',
      'permessage-deflate; client_no_context_takeover=true',
      'permessage-deflate; server_no_context_takeover; server_no_context_takeover',
      'permessage-deflate; server_max_window_bits=10; server_max_window_bits=10',
      'permessage-deflate; unknown_param',
      'permessage-deflate, permessage-deflate',
    ];
    for (const value of invalid) {
      const got = fromHeader(value);
      assert.equal(typeof got, 'string', `${value} → ${JSON.stringify(got)}`);
    }
  });
});

describe('withoutDeflate', () => {
  test('is null when permessage-deflate was the only offer', () => {
    assert.equal(withoutDeflate(parseExtensions('permessage-deflate; client_max_window_bits')!), null);
    assert.equal(withoutDeflate(parseExtensions('permessage-deflate, permessage-deflate; server_no_context_takeover')!), null);
    assert.equal(withoutDeflate([]), null);
  });

  test('keeps the other offers, in order', () => {
    const rest = withoutDeflate(parseExtensions('x-a; p=1, permessage-deflate; client_max_window_bits, x-b')!);
    assert.equal(rest, 'x-a; p=1, x-b');
  });

  test('keeps quoted values intact', () => {
    const rest = withoutDeflate(parseExtensions('permessage-deflate, x-foo; a="b c"; d="x,y"')!);
    assert.ok(rest !== null);
    assert.deepEqual(parseExtensions(rest), parseExtensions('x-foo; a="b c"; d="x,y"'));
  });
});
