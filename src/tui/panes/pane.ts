/**
 * A screen area whose content the TUI draws itself, line by line (blessed only places and
 * paints it). Content is replaced only when it changed, so an idle render costs little.
 */
import blessed from 'blessed';
import type { Rect } from '../layout.js';
import { renderLine, seg, strWidth, type Seg, type Style } from '../line.js';

export interface PaneOptions {
  /** A line border (overlays). */
  readonly border?: boolean;
  readonly label?: string;
}

export class Pane {
  readonly box: blessed.Widgets.BoxElement;
  #rect: Rect | null = null;
  #content = '';

  constructor(screen: blessed.Widgets.Screen, options: PaneOptions = {}) {
    this.box = blessed.box({
      parent: screen,
      top: 0,
      left: 0,
      width: 1,
      height: 1,
      tags: true,
      wrap: false,
      hidden: true,
      ...(options.border === true ? { border: { type: 'line' }, style: { border: { fg: 'yellow' } } } : {}),
    });
  }

  get rect(): Rect | null {
    return this.#rect;
  }

  /** Inner size (inside the border). */
  get inner(): { width: number; height: number } {
    if (this.#rect === null) return { width: 0, height: 0 };
    const b = this.box.border === undefined ? 0 : 2;
    return { width: Math.max(0, this.#rect.width - b), height: Math.max(0, this.#rect.height - b) };
  }

  place(rect: Rect | null): void {
    const same = rect !== null && this.#rect !== null && rect.top === this.#rect.top && rect.left === this.#rect.left && rect.width === this.#rect.width && rect.height === this.#rect.height;
    if (same) return;
    this.#rect = rect;
    if (rect === null || rect.width <= 0 || rect.height <= 0) {
      this.box.hide();
      return;
    }
    this.box.top = rect.top;
    this.box.left = rect.left;
    this.box.width = rect.width;
    this.box.height = rect.height;
    this.box.show();
  }

  get visible(): boolean {
    return this.#rect !== null && !this.box.hidden;
  }

  setLines(lines: readonly string[]): void {
    const content = lines.join('\n');
    if (content === this.#content) return;
    this.#content = content;
    this.box.setContent(content);
  }

  /** Whether the screen cell (x, y) is inside this pane. */
  contains(x: number, y: number): boolean {
    const r = this.#rect;
    return r !== null && !this.box.hidden && x >= r.left && x < r.left + r.width && y >= r.top && y < r.top + r.height;
  }

  setLabel(label: string): void {
    this.box.setLabel({ text: ` ${blessed.escape(label)} `, side: 'left' });
  }

  destroy(): void {
    this.box.destroy();
  }
}

export const TITLE_FOCUSED: Style = { bg: 'blue', fg: 'white', bold: true };
export const TITLE_UNFOCUSED: Style = { bg: 'gray', fg: 'black' };

/** A pane's title line: headings on the left, a summary on the right. */
export function titleLine(left: readonly Seg[], right: string, width: number, focused: boolean): string {
  const base = focused ? TITLE_FOCUSED : TITLE_UNFOCUSED;
  const rightWidth = strWidth(right);
  // Headings padded to their columns may still leave room for the summary: trim the padding.
  const last = left[left.length - 1];
  if (last !== undefined) left = [...left.slice(0, -1), { ...last, text: last.text.replace(/\s+$/, '') }];
  const leftWidth = Math.max(0, width - rightWidth - 1);
  const needed = left.reduce((n, s) => n + strWidth(s.text), 0);
  // The summary is the first thing to go when both do not fit.
  if (rightWidth === 0 || needed > leftWidth) return renderLine(left, width, base);
  return renderLine(left, leftWidth, base) + renderLine([seg(' '), seg(right)], width - leftWidth, base);
}

/** The style a list row gets when selected. */
export function selectionStyle(selected: boolean, focused: boolean): Style {
  if (!selected) return {};
  return focused ? { inverse: true } : { underline: true };
}

/** "▲" on the first visible row when rows are hidden above, "▼" on the last when some are below. */
export function scrollMark(i: number, top: number, end: number, total: number): Seg {
  if (i === top && top > 0) return seg('▲', { fg: 'yellow', bold: true });
  if (i === end - 1 && end < total) return seg('▼', { fg: 'yellow', bold: true });
  return seg(' ');
}
