/**
 * Selection and scroll state of one list pane, over absolute positions [start, end) so that rows
 * falling off the front of the ring do not move what the user is looking at. With `follow` on,
 * the selection sits on the newest row ("tail -f"); moving up turns it off, reaching the last row
 * again turns it back on.
 */
export class ListCursor {
  /** Selected position, or -1 when the list is empty. */
  selected = -1;
  /** Position shown on the first line. */
  top = 0;
  follow: boolean;

  constructor(readonly canFollow: boolean) {
    this.follow = canFollow;
  }

  /** Brings the cursor in line with the list's current bounds and the pane height. */
  sync(start: number, end: number, height: number): void {
    const rows = Math.max(1, height);
    if (end <= start) {
      this.selected = -1;
      this.top = start;
      return;
    }
    if (this.follow || this.selected < 0) this.selected = this.follow ? end - 1 : start;
    this.selected = clamp(this.selected, start, end - 1);
    const maxTop = Math.max(start, end - rows);
    if (this.follow) this.top = maxTop;
    this.top = clamp(this.top, start, maxTop);
    if (this.selected < this.top) this.top = this.selected;
    if (this.selected >= this.top + rows) this.top = this.selected - rows + 1;
  }

  moveBy(delta: number, start: number, end: number, height: number): void {
    if (end <= start) return;
    const from = this.selected < 0 ? start : this.selected;
    this.selected = clamp(from + delta, start, end - 1);
    if (this.canFollow) {
      if (delta < 0 && this.selected < end - 1) this.follow = false;
      else if (delta > 0 && this.selected === end - 1) this.follow = true;
    }
    this.sync(start, end, height);
  }

  /** Turns a page: the view and the selection both move by a screenful less one line. */
  page(direction: 1 | -1, start: number, end: number, height: number): void {
    if (end <= start) return;
    const step = Math.max(1, height - 1) * direction;
    this.top = Math.max(start, Math.min(this.top + step, Math.max(start, end - Math.max(1, height))));
    this.moveBy(step, start, end, height);
  }

  moveTo(position: number, start: number, end: number, height: number): void {
    if (end <= start) return;
    this.selected = clamp(position, start, end - 1);
    if (this.canFollow) this.follow = this.selected === end - 1;
    this.sync(start, end, height);
  }

  home(start: number, end: number, height: number): void {
    this.moveTo(start, start, end, height);
    if (this.canFollow && end - start > 1) this.follow = false;
  }

  end(start: number, end: number, height: number): void {
    this.moveTo(end - 1, start, end, height);
    if (this.canFollow) this.follow = true;
    this.sync(start, end, height);
  }

  /** Turns following off (or on, jumping to the newest row). */
  setFollow(follow: boolean, start: number, end: number, height: number): void {
    this.follow = this.canFollow && follow;
    this.sync(start, end, height);
  }

  /** Forgets positions (the list was rebuilt) and selects `position` when given. */
  reset(position: number | null, start: number, end: number, height: number): void {
    if (position === null || this.follow) {
      this.selected = -1;
    } else {
      this.selected = position;
      // Keep the selection about where it was on screen.
      this.top = position - Math.floor(Math.max(1, height) / 2);
    }
    this.sync(start, end, height);
  }
}

function clamp(n: number, lo: number, hi: number): number {
  return n < lo ? lo : n > hi ? hi : n;
}
