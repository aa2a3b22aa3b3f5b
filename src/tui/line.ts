/**
 * Building screen lines: styled segments in, one blessed-tagged string of an exact display width
 * out. Peer text never reaches the terminal raw: it goes through the shared escaper
 * (output/terminal-text.ts); wide characters and emoji are measured as two columns.
 */
import blessed from 'blessed';

export type Color = 'black' | 'red' | 'green' | 'yellow' | 'blue' | 'magenta' | 'cyan' | 'white' | 'gray' | 'lightred' | 'lightgreen' | 'lightyellow' | 'lightblue' | 'lightcyan' | 'lightmagenta';

export interface Style {
  readonly fg?: Color;
  readonly bg?: Color;
  readonly bold?: boolean;
  readonly underline?: boolean;
  readonly inverse?: boolean;
}

export interface Seg extends Style {
  readonly text: string;
}

export function seg(text: string, style: Style = {}): Seg {
  return { ...style, text };
}

interface BlessedUnicode {
  chars: { wide: RegExp; combining: RegExp; all: RegExp };
  charWidth(str: string | number, i?: number): number;
  wsproxyWidths?: true;
}
const unicode = (blessed as unknown as { unicode: BlessedUnicode }).unicode;
// Two cells: blessed's own wide set (CJK, fullwidth forms), the astral CJK planes, and emoji that
// present as emoji by default: what terminals (wcwidth, tmux) draw two columns wide.
const WIDE_SOURCE = `${unicode.chars.wide.source.slice(1, -1)}|[\\u{20000}-\\u{3fffd}]|\\p{Emoji_Presentation}`;
const WIDE = new RegExp(WIDE_SOURCE, 'gu');
const WIDE_ONE = new RegExp(`^(?:${WIDE_SOURCE})$`, 'u');
// Combining marks take no cell: blessed puts them in the cell before.
const COMBINING = new RegExp(unicode.chars.combining.source, 'g');
const ASCII = /^[\x20-\x7e]*$/;

/**
 * blessed 0.1.81 knows emoji as one cell, the terminal draws them in two, and every column after
 * one on the line would be off by one. Teach it the same widths strWidth counts: a wide character
 * gets a blank cell after it (which drawing skips), and drawing knows it is wide.
 */
function teachBlessedWidths(): void {
  if (unicode.wsproxyWidths === true) return;
  unicode.wsproxyWidths = true;
  unicode.chars.all = new RegExp(`(${WIDE_SOURCE})`, 'gu');
  const charWidth = unicode.charWidth.bind(unicode);
  unicode.charWidth = (str: string | number, i = 0): number => {
    const cp = typeof str === 'number' ? str : (str.codePointAt(i) ?? 0);
    return cp >= 0x1100 && WIDE_ONE.test(String.fromCodePoint(cp)) ? 2 : charWidth(str, i);
  };
}
teachBlessedWidths();

/** Columns `text` takes on screen, as blessed lays it out. */
export function strWidth(text: string): number {
  // ASCII fast path: most of what is drawn.
  if (ASCII.test(text)) return text.length;
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    // A surrogate pair is one code point.
    if (c < 0xdc00 || c > 0xdfff) n++;
  }
  return n + (text.match(WIDE)?.length ?? 0) - (text.match(COMBINING)?.length ?? 0);
}

/** Cuts to at most `width` columns, ending with "…" when something was cut. */
export function truncate(text: string, width: number): string {
  if (width <= 0) return '';
  if (strWidth(text) <= width) return text;
  let out = '';
  let w = 0;
  for (const ch of text) {
    const cw = strWidth(ch);
    if (w + cw > width - 1) break;
    out += ch;
    w += cw;
  }
  return out + '…';
}

export function padEnd(text: string, width: number): string {
  const t = truncate(text, width);
  return t + ' '.repeat(Math.max(0, width - strWidth(t)));
}

export function padStart(text: string, width: number): string {
  const t = truncate(text, width);
  return ' '.repeat(Math.max(0, width - strWidth(t))) + t;
}

/** blessed's tag parser knows "light-blue", not "lightblue". */
function tagColor(color: Color): string {
  return color.startsWith('light') ? `light-${color.slice(5)}` : color;
}

function openTags(style: Style): string {
  let tags = '';
  if (style.fg !== undefined) tags += `{${tagColor(style.fg)}-fg}`;
  if (style.bg !== undefined) tags += `{${tagColor(style.bg)}-bg}`;
  if (style.bold === true) tags += '{bold}';
  if (style.underline === true) tags += '{underline}';
  if (style.inverse === true) tags += '{inverse}';
  return tags;
}

/** The tagged text of one segment (text is escaped for blessed's tag parser). */
export function tagged(text: string, style: Style): string {
  if (text === '') return '';
  const open = openTags(style);
  const body = blessed.escape(text);
  return open === '' ? body : `${open}${body}{/}`;
}

/**
 * Lays segments out in exactly `width` columns: cut when too long, padded with spaces in the
 * base style when short. `base` applies under every segment (the selection highlight).
 *
 * Where blessed cuts a line that does not wrap (Element._wrapContent), it counts a column per
 * UTF-16 unit, after a \x03 put behind each wide character: an astral character (a surrogate
 * pair) or a combining mark counts one more than it takes. A line with some is laid out that
 * many columns narrower, so that the cut does not take its end, "…" included.
 */
export function renderLine(segs: readonly Seg[], width: number, base: Style = {}): string {
  const line = layOut(segs, width, base);
  // Narrower, the line shows no more of them than before: its units then fit in `width`.
  return line.over === 0 ? line.text : layOut(segs, Math.max(0, width - line.over), base).text;
}

function layOut(segs: readonly Seg[], width: number, base: Style): { text: string; over: number } {
  let out = '';
  let used = 0;
  let over = 0;
  for (const s of segs) {
    if (used >= width) break;
    const room = width - used;
    const text = strWidth(s.text) > room ? truncate(s.text, room) : s.text;
    out += tagged(text, { ...base, ...s, ...(base.inverse === true ? { inverse: true } : {}) });
    const w = strWidth(text);
    used += w;
    if (!ASCII.test(text)) over += text.length + (text.match(WIDE)?.length ?? 0) - w;
  }
  if (used < width) out += tagged(' '.repeat(width - used), base);
  return { text: out, over };
}

/** Plain text of segments, for tests and exports. */
export function plain(segs: readonly Seg[]): string {
  return segs.map((s) => s.text).join('');
}
