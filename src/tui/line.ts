/**
 * Building screen lines: styled segments in, one blessed-tagged string of an exact display width
 * out. Peer bytes never reach the terminal raw: controls, C1 codes, bidi and zero-width format
 * characters and emoji (whose width terminals and blessed disagree on) are shown as escapes.
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

const unicode = (blessed as unknown as { unicode: { chars: { wide: RegExp; combining: RegExp } } }).unicode;
// The same sets blessed draws with (fullUnicode): these take two cells, combining marks none.
const WIDE = new RegExp(unicode.chars.wide.source, 'g');
const COMBINING = new RegExp(unicode.chars.combining.source, 'g');
const ASCII = /^[\x20-\x7e]*$/;

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

// eslint-disable-next-line no-control-regex
const UNSAFE = /[\x00-\x1f\x7f-\x9f]|[\u{10000}-\u{10ffff}]|\p{Cf}|[\ufe00-\ufe0f\u2028\u2029\ufeff]|\p{Emoji_Presentation}/gu;

/** One line of text that is safe and measurable on a terminal. */
export function safeText(text: string): string {
  return text.replace(UNSAFE, (c) => {
    switch (c) {
      case '\n':
        return '\\n';
      case '\r':
        return '\\r';
      case '\t':
        return '\\t';
      default: {
        const cp = c.codePointAt(0)!;
        return cp < 0x100 ? `\\x${cp.toString(16).padStart(2, '0')}` : `\\u{${cp.toString(16)}}`;
      }
    }
  });
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
 */
export function renderLine(segs: readonly Seg[], width: number, base: Style = {}): string {
  let out = '';
  let used = 0;
  for (const s of segs) {
    if (used >= width) break;
    const room = width - used;
    const text = strWidth(s.text) > room ? truncate(s.text, room) : s.text;
    out += tagged(text, { ...base, ...s, ...(base.inverse === true ? { inverse: true } : {}) });
    used += strWidth(text);
  }
  if (used < width) out += tagged(' '.repeat(width - used), base);
  return out;
}

/** Plain text of segments, for tests and exports. */
export function plain(segs: readonly Seg[]): string {
  return segs.map((s) => s.text).join('');
}
