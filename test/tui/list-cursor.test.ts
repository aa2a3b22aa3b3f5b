import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ListCursor } from '../../src/tui/list-cursor.js';

describe('ListCursor', () => {
  it('follows the tail until the user moves up, and again from the last row', () => {
    const c = new ListCursor(true);
    c.sync(0, 30, 10);
    assert.deepEqual([c.selected, c.top, c.follow], [29, 20, true]);
    c.sync(0, 35, 10);
    assert.deepEqual([c.selected, c.top], [34, 25]);
    c.moveBy(-1, 0, 35, 10);
    assert.equal(c.follow, false);
    c.sync(0, 50, 10);
    assert.deepEqual([c.selected, c.top], [33, 25], 'the view stays put while rows arrive');
    c.moveBy(100, 0, 50, 10);
    assert.deepEqual([c.selected, c.follow], [49, true]);
  });

  it('keeps the same rows in view when old rows fall off the front', () => {
    const c = new ListCursor(true);
    c.sync(0, 100, 10);
    c.moveTo(50, 0, 100, 10);
    const top = c.top;
    c.sync(20, 120, 10);
    assert.deepEqual([c.selected, c.top], [50, top]);
    c.sync(60, 130, 10);
    assert.equal(c.selected, 60, 'clamped to the oldest row left');
  });

  it('pages, goes home and end, and scrolls to keep the selection visible', () => {
    const c = new ListCursor(false);
    c.sync(0, 100, 10);
    assert.deepEqual([c.selected, c.top], [0, 0], 'a list that does not follow starts at the top');
    c.moveBy(9, 0, 100, 10);
    c.moveBy(9, 0, 100, 10);
    assert.deepEqual([c.selected, c.top], [18, 9]);
    c.end(0, 100, 10);
    assert.deepEqual([c.selected, c.top, c.follow], [99, 90, false]);
    c.home(0, 100, 10);
    assert.deepEqual([c.selected, c.top], [0, 0]);
  });

  it('has no selection in an empty list', () => {
    const c = new ListCursor(true);
    c.sync(5, 5, 10);
    assert.equal(c.selected, -1);
    c.moveBy(1, 5, 5, 10);
    assert.equal(c.selected, -1);
  });

  it('toggles following explicitly (pause)', () => {
    const c = new ListCursor(true);
    c.sync(0, 10, 5);
    c.setFollow(false, 0, 10, 5);
    c.sync(0, 20, 5);
    assert.equal(c.selected, 9);
    c.setFollow(true, 0, 20, 5);
    assert.equal(c.selected, 19);
  });
});
