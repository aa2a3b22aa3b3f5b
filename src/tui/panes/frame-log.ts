/** The frame log, the main pane: a window onto the filtered view of the ring. */
import type { ListCursor } from '../list-cursor.js';
import { renderLine, seg } from '../line.js';
import { escapeForTerminal } from '../../output/terminal-text.js';
import { frameHeaderSegs, rowSegs } from '../rows.js';
import type { TuiStore } from '../store.js';
import { selectionStyle, titleLine } from './pane.js';

export interface FrameLogState {
  /** Rows that arrived below the screen while not following the tail. */
  readonly newRows: number;
}

export function frameLogLines(store: TuiStore, cursor: ListCursor, width: number, height: number, focused: boolean, state: FrameLogState): string[] {
  const view = store.view;
  const shown = view.length;
  const filtered = store.filter.terms.length > 0;
  let summary = filtered ? `${shown} of ${store.size} rows` : `${store.size} rows`;
  if (!cursor.follow) summary += state.newRows > 0 ? ` · paused, ${state.newRows} below ↓` : ' · paused';
  const lines = [titleLine(frameHeaderSegs(), summary, width, focused)];
  const rows = height - 1;
  if (shown === 0) {
    const why = filtered ? `  nothing matches the filter "${escapeForTerminal(store.filter.source, { quoted: true })}" (/ to change it)` : '  waiting for frames…';
    lines.push(renderLine([seg(why, { fg: 'gray' })], width));
    return lines;
  }
  const previewChars = Math.max(16, width);
  for (const row of view.slice(cursor.top, cursor.top + rows)) {
    const position = cursor.top + lines.length - 1;
    lines.push(renderLine(rowSegs(row, previewChars), width, selectionStyle(position === cursor.selected, focused)));
  }
  return lines;
}
