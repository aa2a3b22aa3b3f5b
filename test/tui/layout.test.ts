import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { computeLayout, type Rect } from '../../src/tui/layout.js';

function overlaps(a: Rect, b: Rect): boolean {
  return a.left < b.left + b.width && b.left < a.left + a.width && a.top < b.top + b.height && b.top < a.top + a.height;
}

describe('layout', () => {
  it('fits 80x24 with every pane', () => {
    const l = computeLayout({ cols: 80, rows: 24, sessions: 3, held: 2, detailOpen: true });
    assert.equal(l.wide, false);
    assert.deepEqual(l.status, { top: 22, left: 0, width: 80, height: 1 });
    assert.deepEqual(l.prompt, { top: 23, left: 0, width: 80, height: 1 });
    assert.equal(l.sessions.height, 4);
    assert.ok(l.frames.height >= 4, 'the log keeps a few rows');
    assert.ok(l.held !== null && l.held.height === 3);
    assert.ok(l.detail !== null && l.detail.height >= 6);
  });

  it('puts the detail on the right on wide screens', () => {
    const l = computeLayout({ cols: 160, rows: 50, sessions: 1, held: 0, detailOpen: false });
    assert.equal(l.wide, true);
    assert.ok(l.detail !== null);
    assert.equal(l.detail.left, l.frames.width);
    assert.equal(l.frames.width + l.detail.width, 160);
  });

  it('never overlaps panes or leaves the screen, at any size', () => {
    fc.assert(
      fc.property(fc.integer({ min: 20, max: 400 }), fc.integer({ min: 8, max: 200 }), fc.nat(50), fc.nat(20), fc.boolean(), fc.boolean(), (cols, rows, sessions, held, detailOpen, detailFocused) => {
        const l = computeLayout({ cols, rows, sessions, held, detailOpen, detailFocused });
        const rects = [l.sessions, l.frames, l.held, l.detail, l.status, l.prompt].filter((r): r is Rect => r !== null);
        for (const r of rects) {
          assert.ok(r.top >= 0 && r.left >= 0 && r.top + r.height <= rows && r.left + r.width <= cols, JSON.stringify(r));
          assert.ok(r.height >= 1 && r.width >= 1);
        }
        for (let i = 0; i < rects.length; i++) for (let j = i + 1; j < rects.length; j++) assert.ok(!overlaps(rects[i]!, rects[j]!));
        assert.ok(l.frames.height >= 2, 'the log always has a title and a row');
      }),
    );
  });
});
