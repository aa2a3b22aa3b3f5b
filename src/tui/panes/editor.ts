/**
 * A text area drawn from a TextBuffer: scrolls both ways to keep the cursor in view and draws the
 * cursor as an inverse cell (the terminal's own cursor stays hidden). Used by the held-message
 * editor and the send form.
 */
import { renderLine, seg, strWidth, type Seg } from '../line.js';
import { escapeForTerminal } from '../../output/terminal-text.js';
import type { EditorMode } from '../modes.js';
import { MODE_LABEL } from '../payload-codec.js';
import type { TextBuffer } from '../text-buffer.js';

export interface Scroll {
  top: number;
  left: number;
}

/** How each code point is shown: escapes for what a terminal must not get raw. */
function cells(line: readonly string[]): string[] {
  return line.map((c) => (c === '\t' ? '→' : escapeForTerminal(c, { keepBackslash: true })));
}

export function textAreaLines(buffer: TextBuffer, scroll: Scroll, width: number, height: number, focused: boolean, gutter = '│ '): string[] {
  const innerWidth = Math.max(1, width - strWidth(gutter));
  const rows = Math.max(1, height);
  if (buffer.row < scroll.top) scroll.top = buffer.row;
  if (buffer.row >= scroll.top + rows) scroll.top = buffer.row - rows + 1;
  const cur = cells(buffer.line(buffer.row));
  const cursorX = cur.slice(0, buffer.col).reduce((n, c) => n + strWidth(c), 0);
  if (cursorX < scroll.left) scroll.left = cursorX;
  if (cursorX >= scroll.left + innerWidth) scroll.left = cursorX - innerWidth + 1;
  const out: string[] = [];
  for (let r = scroll.top; r < scroll.top + rows; r++) {
    const segs: Seg[] = [seg(gutter, { fg: focused ? 'yellow' : 'gray' })];
    if (r < buffer.lineCount) {
      const line = cells(buffer.line(r));
      let x = 0;
      let used = 0;
      for (let i = 0; i <= line.length; i++) {
        const c = i < line.length ? line[i]! : ' ';
        const w = strWidth(c);
        if (x >= scroll.left) {
          if (used + w > innerWidth) break;
          const isCursor = focused && r === buffer.row && i === buffer.col;
          segs.push(seg(c, isCursor ? { inverse: true } : {}));
          used += w;
        }
        x += w;
        if (i === line.length) break;
      }
    } else segs.push(seg('~', { fg: 'gray' }));
    out.push(renderLine(segs, width));
  }
  return out;
}

/** The held-message editor overlay: a key line, the text, and a status or error line. */
export function editorLines(mode: EditorMode, width: number, height: number): string[] {
  const what = mode.editable.mode === 'json' ? 'JSON is checked before sending' : mode.editable.mode === 'hex' ? 'bytes as hex digits' : 'UTF-8 text';
  const status = mode.error === null ? seg(` ${mode.buffer.lineCount} lines · line ${mode.buffer.row + 1}, column ${mode.buffer.col + 1}`, { fg: 'gray' }) : seg(` ${escapeForTerminal(mode.error)}`, { fg: 'red', bold: true });
  return [
    renderLine([seg(' Ctrl-S', { bold: true }), seg(' forward edited · '), seg('Esc', { bold: true }), seg(' cancel (stays held) · '), seg(what, { fg: 'gray' })], width),
    ...textAreaLines(mode.buffer, mode.scroll, width, Math.max(1, height - 2), true, ' '),
    renderLine([status], width),
  ];
}

export function editorTitle(mode: EditorMode): string {
  const m = mode.entry.message;
  return `Edit held message: session #${m.session} ${m.from === 'client' ? 'client → server' : 'server → client'}, ${m.kind} as ${MODE_LABEL[mode.editable.mode]}`;
}
