/** The detail pane: a scrollable view of detail.ts's lines for the selected item. */
import type { DetailLine } from '../detail.js';
import { renderLine, seg } from '../line.js';
import { titleLine } from './pane.js';

export interface DetailView {
  readonly title: string;
  readonly lines: readonly DetailLine[];
}

/** Clamps a scroll offset to the content. */
export function clampScroll(scroll: number, total: number, height: number): number {
  return Math.max(0, Math.min(scroll, total - Math.max(1, height - 1)));
}

export function detailLines(view: DetailView, scroll: number, width: number, height: number, focused: boolean, payloadView: string): string[] {
  const rows = height - 1;
  const total = view.lines.length;
  const at = total > rows ? ` ${Math.min(total, scroll + rows)}/${total}` : '';
  const out = [titleLine([seg(` ${view.title}`)], `view: ${payloadView} (x)${at}`, width, focused)];
  for (const line of view.lines.slice(scroll, scroll + rows)) out.push(renderLine([seg(' '), ...line], width));
  return out;
}
