/** Held messages (intercept), oldest first, with what the keys do to them. */
import type { HeldEntry } from '../intercept-queue.js';
import type { ListCursor } from '../list-cursor.js';
import { renderLine, seg } from '../line.js';
import { heldSegs } from '../rows.js';
import { scrollMark, selectionStyle, titleLine } from './pane.js';

export function heldLines(entries: readonly HeldEntry[], cursor: ListCursor, width: number, height: number, focused: boolean, now: number): string[] {
  const lines = [
    titleLine(
      [seg(`⏸ Held ${entries.length}`, { bold: true, fg: 'yellow' }), seg('  a forward · e edit · d drop · A forward all · i intercept off')],
      '',
      width,
      focused,
    ),
  ];
  const rows = height - 1;
  const end = Math.min(entries.length, cursor.top + rows);
  for (let i = cursor.top; i < end; i++) {
    const style = selectionStyle(i === cursor.selected, focused);
    lines.push(renderLine(heldSegs(entries[i]!, now, Math.max(16, width)), width - 1, style) + renderLine([scrollMark(i, cursor.top, end, entries.length)], 1, style));
  }
  return lines;
}
