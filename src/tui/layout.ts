/**
 * Where each pane goes for a terminal size. Pure. Two shapes:
 *   narrow (< 140 columns): sessions over frames over [held] over [detail], stacked;
 *   wide: sessions across the top, frames and [held] on the left, detail always on the right.
 * The last two lines are the status bar and the prompt / message line.
 */
export interface Rect {
  readonly top: number;
  readonly left: number;
  readonly width: number;
  readonly height: number;
}

export interface Layout {
  readonly wide: boolean;
  readonly sessions: Rect;
  readonly frames: Rect;
  readonly held: Rect | null;
  readonly detail: Rect | null;
  readonly status: Rect;
  readonly prompt: Rect;
}

export interface LayoutInput {
  readonly cols: number;
  readonly rows: number;
  readonly sessions: number;
  readonly held: number;
  /** Narrow shape only: the detail pane was opened (Enter). */
  readonly detailOpen: boolean;
  /** Narrow shape only: the detail pane has the focus, and gets more of the screen. */
  readonly detailFocused?: boolean;
}

export const WIDE_COLUMNS = 140;

/** Whether a freshly started narrow screen is tall enough to show the detail pane from the start. */
export function detailOpenByDefault(rows: number): boolean {
  return rows >= 40;
}

function clamp(n: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(hi, n));
}

export function computeLayout(input: LayoutInput): Layout {
  const cols = Math.max(1, input.cols);
  const rows = Math.max(4, input.rows);
  const body = rows - 2;
  const status: Rect = { top: body, left: 0, width: cols, height: 1 };
  const prompt: Rect = { top: body + 1, left: 0, width: cols, height: 1 };
  // A title line plus one line per session, up to a quarter of the body.
  const sessionsHeight = clamp(input.sessions + 1, 2, Math.max(2, Math.floor(body / 4)));
  const wide = cols >= WIDE_COLUMNS && body >= 12;
  const heldWanted = input.held > 0 ? input.held + 1 : 0;
  if (wide) {
    const detailWidth = Math.floor(cols * 0.42);
    const leftWidth = cols - detailWidth;
    const below = body - sessionsHeight;
    const held = heldWanted === 0 ? 0 : clamp(heldWanted, 2, Math.max(2, Math.floor(below / 3)));
    return {
      wide,
      sessions: { top: 0, left: 0, width: cols, height: sessionsHeight },
      frames: { top: sessionsHeight, left: 0, width: leftWidth, height: below - held },
      held: held === 0 ? null : { top: sessionsHeight + below - held, left: 0, width: leftWidth, height: held },
      detail: { top: sessionsHeight, left: leftWidth, width: detailWidth, height: below },
      status,
      prompt,
    };
  }
  let below = body - sessionsHeight;
  // The log keeps at least a title and two rows; held and detail take what is left.
  let held = heldWanted === 0 ? 0 : clamp(heldWanted, 2, Math.max(2, Math.min(5, Math.floor(below / 4))));
  if (below - held < 3) held = 0;
  below -= held;
  const share = input.detailFocused === true ? 0.75 : 0.5;
  const detail = input.detailOpen && below >= 6 ? clamp(Math.floor(below * share), 3, below - 3) : 0;
  const frames = below - detail;
  let top = 0;
  const place = (height: number): Rect => {
    const r = { top, left: 0, width: cols, height };
    top += height;
    return r;
  };
  const sessions = place(sessionsHeight);
  const framesRect = place(frames);
  const heldRect = held === 0 ? null : place(held);
  const detailRect = detail <= 0 ? null : place(detail);
  return { wide, sessions, frames: framesRect, held: heldRect, detail: detailRect, status, prompt };
}
