/** The sessions list: one row per session, newest last. */
import type { ListCursor } from '../list-cursor.js';
import { renderLine, seg } from '../line.js';
import { sessionHeaderSegs, sessionSegs } from '../rows.js';
import type { SessionEntry } from '../store.js';
import { scrollMark, selectionStyle, titleLine } from './pane.js';

export function sessionsLines(sessions: readonly SessionEntry[], cursor: ListCursor, width: number, height: number, focused: boolean, openCount: number): string[] {
  const lines = [titleLine(sessionHeaderSegs(width - 1), `${openCount} open / ${sessions.length}`, width, focused)];
  const rows = height - 1;
  if (sessions.length === 0) {
    lines.push(renderLine([seg('  no sessions yet: point a WebSocket client at the listen address', { fg: 'gray' })], width));
  }
  const end = Math.min(sessions.length, cursor.top + rows);
  for (let i = cursor.top; i < end; i++) {
    const mark = scrollMark(i, cursor.top, end, sessions.length);
    const style = selectionStyle(i === cursor.selected, focused);
    lines.push(renderLine(sessionSegs(sessions[i]!, width - 1), width - 1, style) + renderLine([mark], 1, style));
  }
  return lines;
}
