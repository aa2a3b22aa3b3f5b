/**
 * What the detail pane shows for the selected session, held message or log row, wrapped to the
 * pane's width. The wrapped lines are cached while nothing they depend on changes, and the scroll
 * goes back to the top when the selection moves to something else.
 */
import { heldDetail, rowDetail, sessionDetail, wrapAll, type PayloadView } from './detail.js';
import type { HeldEntry } from './intercept-queue.js';
import { seg } from './line.js';
import type { DetailView } from './panes/detail.js';
import { rowSession, type Row, type SessionEntry, type TuiStore } from './store.js';

/** Where the detail content comes from; the selections are only read for the chosen source. */
export interface DetailRequest {
  readonly source: 'sessions' | 'frames' | 'held';
  readonly width: number;
  readonly payloadView: PayloadView;
  /** A log row's header goes on one line (a small pane that is only glanced at). */
  readonly compact: boolean;
  readonly store: TuiStore;
  now(): number;
  selectedSession(): SessionEntry | undefined;
  selectedHeld(): HeldEntry | undefined;
  selectedRow(): Row | undefined;
}

export class DetailViewer {
  /** First line shown; the renderer clamps it to the content. */
  scroll = 0;
  #identity = '';
  #cache: { key: string; view: DetailView } | null = null;

  view(req: DetailRequest): DetailView {
    const { width, payloadView: view, store } = req;
    let identity: string;
    let key: string;
    let build: () => DetailView;
    if (req.source === 'sessions') {
      const s = req.selectedSession();
      if (s === undefined) return { title: 'Session', lines: [[seg('No session selected.', { fg: 'gray' })]] };
      identity = `s${s.id}`;
      key = `${identity}:${store.sessionsVersion}:${width}`;
      build = () => ({ title: `Session #${s.id}: handshake`, lines: sessionDetail(s, width) });
    } else if (req.source === 'held') {
      const h = req.selectedHeld();
      if (h === undefined) return { title: 'Held', lines: [[seg('Nothing is held.', { fg: 'gray' })]] };
      const now = req.now();
      identity = `h${h.seq}`;
      key = `${identity}:${Math.floor((now - h.since) / 1000)}:${width}:${view}`;
      build = () => ({ title: `Held: session #${h.message.session}`, lines: heldDetail(h, view, width, now) });
    } else {
      const row = req.selectedRow();
      if (row === undefined) return { title: 'Detail', lines: [[seg('Select a frame (↑↓ j k) to see it decoded here.', { fg: 'gray' })]] };
      identity = `r${row.seq}`;
      const extra = row.type === 'frame' ? String(row.message !== null) : row.type === 'open' || row.type === 'close' ? String(store.sessionsVersion) : '';
      const compact = req.compact;
      key = `${identity}:${extra}:${width}:${view}:${compact}`;
      const session = rowSession(row);
      build = () => ({
        title: row.type === 'frame' ? `Frame ${row.record.id}` : row.type === 'open' || row.type === 'close' ? `Session #${session}: handshake` : row.type === 'message' ? `Message ${row.record.id}` : row.type,
        lines: rowDetail(row, session === null ? undefined : store.session(session), view, width, compact),
      });
    }
    if (identity !== this.#identity) {
      this.#identity = identity;
      this.scroll = 0;
    }
    if (this.#cache?.key !== key) {
      const built = build();
      this.#cache = { key, view: { title: built.title, lines: wrapAll(built.lines, width) } };
    }
    return this.#cache.view;
  }
}
