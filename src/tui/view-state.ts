/**
 * Where the user is looking: the layout, which pane has the focus, each list's cursor and what
 * the detail pane describes. Keys and the mouse move these; the render reads them.
 */
import type { PayloadView } from './detail.js';
import { DetailViewer } from './detail-view.js';
import type { Filter } from './filter.js';
import type { HeldEntry, InterceptQueue } from './intercept-queue.js';
import { computeLayout, detailOpenByDefault, type Layout, type Rect } from './layout.js';
import { ListCursor } from './list-cursor.js';
import type { DetailView } from './panes/detail.js';
import type { Row, SessionEntry, TuiStore } from './store.js';

export type Focus = 'sessions' | 'frames' | 'held' | 'detail';
export type ListFocus = Exclude<Focus, 'detail'>;
export type Move = 'up' | 'down' | 'page-up' | 'page-down' | 'top' | 'bottom';

export class ViewState {
  readonly sessionsCursor = new ListCursor(true);
  readonly framesCursor = new ListCursor(true);
  readonly heldCursor = new ListCursor(false);
  readonly detail = new DetailViewer();
  focus: Focus = 'frames';
  /** The list the detail pane describes while the detail pane has the focus. */
  #detailSource: ListFocus = 'frames';
  detailOpen: boolean;
  #layout: Layout;
  readonly #store: TuiStore;
  readonly #queue: InterceptQueue;
  #sessionsCache: { version: number; list: SessionEntry[] } = { version: -1, list: [] };

  constructor(store: TuiStore, queue: InterceptQueue, cols: number, rows: number) {
    this.#store = store;
    this.#queue = queue;
    this.detailOpen = detailOpenByDefault(rows);
    this.#layout = this.#computeLayout(cols, rows);
  }

  get layout(): Layout {
    return this.#layout;
  }

  /** The list whose selection keys and the detail pane act on. */
  get source(): ListFocus {
    return this.focus === 'detail' ? this.#detailSource : this.focus;
  }

  /** Lays the panes out for the screen size, then keeps the focus and cursors valid in it. */
  relayout(cols: number, rows: number): void {
    this.#layout = this.#computeLayout(cols, rows);
    this.#fixFocus();
    this.syncCursors();
  }

  #computeLayout(cols: number, rows: number): Layout {
    return computeLayout({
      cols,
      rows,
      sessions: this.sessionList().length,
      held: this.#queue.size,
      detailOpen: this.detailOpen,
      detailFocused: this.focus === 'detail',
    });
  }

  sessionList(): SessionEntry[] {
    if (this.#sessionsCache.version !== this.#store.sessionsVersion) {
      this.#sessionsCache = { version: this.#store.sessionsVersion, list: this.#store.sessions() };
    }
    return this.#sessionsCache.list;
  }

  #fixFocus(): void {
    if (this.focus === 'held' && this.#layout.held === null) this.focus = 'frames';
    if (this.focus === 'detail' && this.#layout.detail === null) this.focus = this.#detailSource;
    if (this.#detailSource === 'held' && this.#layout.held === null) this.#detailSource = 'frames';
  }

  /** List rows a pane shows (its height less the title line). */
  #rows(rect: Rect | null): number {
    return rect === null ? 1 : Math.max(1, rect.height - 1);
  }

  syncCursors(): void {
    const view = this.#store.view;
    this.framesCursor.sync(view.start, view.end, this.#rows(this.#layout.frames));
    this.sessionsCursor.sync(0, this.sessionList().length, this.#rows(this.#layout.sessions));
    this.heldCursor.sync(0, this.#queue.size, this.#rows(this.#layout.held));
  }

  /** Log rows below the view while it does not follow the tail. */
  newRows(): number {
    if (this.framesCursor.follow) return 0;
    return Math.max(0, this.#store.view.end - (this.framesCursor.top + this.#rows(this.#layout.frames)));
  }

  selectedRow(): Row | undefined {
    return this.#store.view.at(this.framesCursor.selected);
  }

  selectedSession(): SessionEntry | undefined {
    return this.sessionList()[this.sessionsCursor.selected];
  }

  selectedHeld(): HeldEntry | undefined {
    return this.#queue.held[this.heldCursor.selected];
  }

  detailView(width: number, payloadView: PayloadView, now: () => number): DetailView {
    const layout = this.#layout;
    return this.detail.view({
      source: this.source,
      width,
      payloadView,
      compact: this.focus !== 'detail' && !layout.wide && (layout.detail?.height ?? 0) < 16,
      store: this.#store,
      now,
      selectedSession: () => this.selectedSession(),
      selectedHeld: () => this.selectedHeld(),
      selectedRow: () => this.selectedRow(),
    });
  }

  /** Filters the log, keeping the selected row selected when it still shows. */
  setFilter(filter: Filter): void {
    if (filter.source === this.#store.filter.source) return;
    const selected = this.selectedRow()?.seq ?? null;
    this.#store.setFilter(filter);
    const v = this.#store.view;
    const rows = this.#rows(this.#layout.frames);
    this.framesCursor.reset(selected === null ? null : Math.min(this.#store.positionOfSeq(selected), v.end - 1), v.start, v.end, rows);
  }

  /** Empties the log and follows its tail again. */
  clearLog(): void {
    this.#store.clear();
    const rows = this.#rows(this.#layout.frames);
    this.framesCursor.reset(null, this.#store.view.start, this.#store.view.end, rows);
    this.framesCursor.setFollow(true, this.#store.view.start, this.#store.view.end, rows);
  }

  /** Pauses or resumes following the log's tail; returns whether it now follows. */
  toggleFollow(): boolean {
    const v = this.#store.view;
    this.framesCursor.setFollow(!this.framesCursor.follow, v.start, v.end, this.#rows(this.#layout.frames));
    return this.framesCursor.follow;
  }

  cycleFocus(delta: number): void {
    const order: Focus[] = ['sessions', 'frames'];
    if (this.#layout.held !== null) order.push('held');
    if (this.#layout.detail !== null) order.push('detail');
    const i = order.indexOf(this.focus);
    const next = order[(i + delta + order.length) % order.length]!;
    if (next === 'detail' && this.focus !== 'detail') this.#detailSource = this.focus as ListFocus;
    this.focus = next;
  }

  /** Focuses the detail pane on what the focused list has selected (opening it when narrow). */
  openDetail(): void {
    if (this.focus === 'detail') return;
    this.#detailSource = this.focus;
    if (!this.#layout.wide) this.detailOpen = true;
    this.focus = 'detail';
  }

  /** Gives the focus back to the list; a second time, closes the narrow shape's detail pane. */
  closeDetail(): void {
    if (this.focus === 'detail') this.focus = this.#detailSource;
    else if (!this.#layout.wide && this.detailOpen) this.detailOpen = false;
  }

  navigate(action: Move): void {
    if (this.focus === 'detail') {
      const rows = this.#rows(this.#layout.detail);
      const delta = { up: -1, down: 1, 'page-up': -(rows - 1), 'page-down': rows - 1, top: -Infinity, bottom: Infinity }[action];
      this.detail.scroll = Math.max(0, Math.min(Number.MAX_SAFE_INTEGER, this.detail.scroll + (Number.isFinite(delta) ? delta : delta > 0 ? 1e9 : -1e9)));
      return;
    }
    const [cursor, start, end, rows] =
      this.focus === 'sessions'
        ? [this.sessionsCursor, 0, this.sessionList().length, this.#rows(this.#layout.sessions)]
        : this.focus === 'held'
          ? [this.heldCursor, 0, this.#queue.size, this.#rows(this.#layout.held)]
          : [this.framesCursor, this.#store.view.start, this.#store.view.end, this.#rows(this.#layout.frames)];
    switch (action) {
      case 'up':
        return cursor.moveBy(-1, start, end, rows);
      case 'down':
        return cursor.moveBy(1, start, end, rows);
      case 'page-up':
        return cursor.page(-1, start, end, rows);
      case 'page-down':
        return cursor.page(1, start, end, rows);
      case 'top':
        return cursor.home(start, end, rows);
      case 'bottom':
        return cursor.end(start, end, rows);
    }
  }

  /** The mouse wheel scrolls the pane under it, wherever the focus is. */
  wheel(pane: Focus, up: boolean): void {
    const before = this.focus;
    this.focus = pane;
    for (let i = 0; i < 3; i++) this.navigate(up ? 'up' : 'down');
    this.focus = before;
  }

  /** A click focuses the pane and, in a list, selects the row under it (`y` is a screen row). */
  click(pane: Focus, y: number): void {
    if (pane === 'detail') {
      if (this.focus !== 'detail') this.#detailSource = this.focus;
      this.focus = 'detail';
      return;
    }
    this.focus = pane;
    const rect = pane === 'sessions' ? this.#layout.sessions : pane === 'held' ? this.#layout.held! : this.#layout.frames;
    const line = y - rect.top - 1;
    if (line < 0) return;
    const cursor = pane === 'sessions' ? this.sessionsCursor : pane === 'held' ? this.heldCursor : this.framesCursor;
    const [start, end] = pane === 'sessions' ? [0, this.sessionList().length] : pane === 'held' ? [0, this.#queue.size] : [this.#store.view.start, this.#store.view.end];
    const position = cursor.top + line;
    if (position < end) cursor.moveTo(position, start, end, this.#rows(rect));
  }
}
