/**
 * A row cut at the pane's edge keeps its "…" when its preview holds emoji or combining marks:
 * blessed counts one column per UTF-16 unit where it cuts a line, so such a row is laid out
 * narrower (line.ts renderLine). Read back from blessed's own cell buffer.
 */
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { start, type Harness } from './helpers/screen.js';

describe('rows with emoji or combining marks', () => {
  let h: Harness | null = null;
  afterEach(() => h?.close());

  for (const [name, text] of [
    ['emoji and a ZWJ sequence', 'uni: café 日本語 🎌 👨\u200d👩\u200d👧 and then plenty of ascii to run past the edge of the pane 0123456789 0123456789'],
    ['a combining mark', `${'0123456789'.repeat(4)}e\u0301 abcdefgh ${'x'.repeat(100)}`],
    ['many emoji', '🎌'.repeat(80)],
  ] as const) {
    it(`${name}: the cut row ends with "…" inside the pane`, () => {
      h = start({ cols: 100, rows: 20 });
      h.proxy.open(1);
      h.proxy.frame({ payload: text });
      const found = h.find('C→S text');
      assert.ok(found !== null, h.dump());
      const shown = found.line.replace(/[\s\x03]+$/, '');
      assert.ok(shown.endsWith('…'), `no "…" at the end of ${JSON.stringify(found.line)}`);
    });
  }
});
