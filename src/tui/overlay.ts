/** The centred box over the panes that shows the help, the message editor or the send form. */
import type { Mode } from './modes.js';
import { editorLines, editorTitle } from './panes/editor.js';
import { helpContent } from './panes/help.js';
import { injectFormLines } from './panes/inject-form.js';
import type { Pane } from './panes/pane.js';
import { escapeForTerminal } from '../output/terminal-text.js';

/** Draws the overlay for modes that have one and hides it otherwise; clamps the help's scroll. */
export function renderOverlay(overlay: Pane, mode: Mode, cols: number, rows: number): void {
  const listing = mode.type === 'prompt' ? mode.listing : undefined;
  if (mode.type !== 'help' && mode.type !== 'editor' && mode.type !== 'inject' && listing === undefined) {
    overlay.place(null);
    return;
  }
  const width = Math.min(cols, Math.max(40, Math.min(110, cols - 4)));
  const height = Math.max(8, rows - 4);
  overlay.place({ top: Math.max(0, Math.floor((rows - 2 - height) / 2)), left: Math.floor((cols - width) / 2), width, height: Math.min(height, rows - 2) });
  overlay.box.setFront();
  const inner = overlay.inner;
  if (mode.type === 'help') {
    overlay.setLabel('Help: every key (Esc closes, ↑↓ PgUp PgDn scroll)');
    const all = helpContent(inner.width);
    mode.scroll = Math.max(0, Math.min(mode.scroll, all.length - inner.height));
    overlay.setLines(all.slice(mode.scroll, mode.scroll + inner.height));
    return;
  }
  if (listing !== undefined) {
    overlay.setLabel('Fault rules (docs/faults.md)');
    overlay.setLines(listing.slice(0, inner.height).map((raw) => {
      // Rule text may come from a file or the control API: no control sequence reaches the terminal.
      const l = escapeForTerminal(raw);
      return l.length > inner.width ? `${l.slice(0, inner.width - 1)}…` : l;
    }));
    return;
  }
  if (mode.type === 'inject') {
    overlay.setLabel('Send a frame');
    overlay.setLines(injectFormLines(mode.form, inner.width, inner.height));
    return;
  }
  if (mode.type !== 'editor') return;
  overlay.setLabel(editorTitle(mode));
  overlay.setLines(editorLines(mode, inner.width, inner.height));
}
