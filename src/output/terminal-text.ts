/**
 * Text a peer sent, made safe for a terminal. The one escaper the headless printer, the log lines
 * and the TUI all use: a request path, a header, a close reason or a payload can carry
 * `ESC ] 0 ; title BEL` (retitles the terminal), CSI sequences (move the cursor, clear the screen),
 * C1 controls (U+009B is a one-character CSI on some terminals) or bidi overrides (U+202E makes
 * the rest of a line read backwards, so a field can pose as another). None of them reaches the
 * terminal raw; each becomes a visible escape, and a backslash is escaped too so an escape the
 * peer typed cannot pass for one we wrote. Printable text, including wide characters and emoji,
 * is kept as it is.
 */

/**
 * What is escaped: C0 controls, DEL and C1 controls; format characters (Cf: bidi embeddings,
 * overrides and isolates, zero-width space and joiners, soft hyphen, BOM, tags); line and
 * paragraph separators; lone surrogates; unassigned code points (no terminal agrees on their
 * width); variation selectors (invisible, and they change an emoji's width on some terminals
 * only). Plus the backslash itself.
 */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\x00-\x1f\x7f-\x9f\\]|\p{Cf}|\p{Zl}|\p{Zp}|\p{Cs}|\p{Cn}|[\ufe00-\ufe0f]|[\u{e0100}-\u{e01ef}]/u;
// eslint-disable-next-line no-control-regex
const UNSAFE_ALL = new RegExp(UNSAFE.source, 'gu');
// eslint-disable-next-line no-control-regex
const UNSAFE_QUOTED = new RegExp(`${UNSAFE.source}|"`, 'gu');
// eslint-disable-next-line no-control-regex
const UNSAFE_NO_BACKSLASH = /[\x00-\x1f\x7f-\x9f]|\p{Cf}|\p{Zl}|\p{Zp}|\p{Cs}|\p{Cn}|[\ufe00-\ufe0f]|[\u{e0100}-\u{e01ef}]/gu;
const PRINTABLE_ASCII = /^[\x20-\x5b\x5d-\x7e]*$/;

export interface EscapeOptions {
  /** Escape `"` as `\"` too: the text is shown between quotes, and must not end them. */
  readonly quoted?: boolean;
  /**
   * Leave a backslash as it is: only for text whose backslashes are already escapes of its own
   * syntax (JSON.stringify output), where escaping them again would only double them.
   */
  readonly keepBackslash?: boolean;
}

/** One escaped character: `\n`, `\x1b`, `\u{202e}`. */
function escapeChar(c: string): string {
  switch (c) {
    case '\n':
      return '\\n';
    case '\r':
      return '\\r';
    case '\t':
      return '\\t';
    case '\\':
      return '\\\\';
    case '"':
      return '\\"';
    default: {
      const cp = c.codePointAt(0)!;
      return cp < 0x100 ? `\\x${cp.toString(16).padStart(2, '0')}` : `\\u{${cp.toString(16)}}`;
    }
  }
}

/**
 * `text` with everything a terminal must not get raw shown as an escape, on one line (newlines
 * become `\n`). The one function every view uses for what came from a peer.
 */
export function escapeForTerminal(text: string, options: EscapeOptions = {}): string {
  // Most of what is shown is printable ASCII: no regex replace, no new string.
  if (PRINTABLE_ASCII.test(text) && (options.quoted !== true || !text.includes('"'))) return text;
  const re = options.keepBackslash === true ? UNSAFE_NO_BACKSLASH : options.quoted === true ? UNSAFE_QUOTED : UNSAFE_ALL;
  re.lastIndex = 0;
  return text.replace(re, escapeChar);
}

/**
 * The characters JSON.stringify leaves raw that a terminal reading the log (`tail -f`, `cat`)
 * must not get: DEL, C1 controls, format characters (bidi, zero-width), line and paragraph
 * separators. Outside strings JSON text is ASCII, so these are always inside one.
 */
// eslint-disable-next-line no-control-regex
const JSON_UNSAFE = /[\x7f-\x9f\u2028\u2029]|\p{Cf}|[\ufe00-\ufe0f]/gu;
/** Anything outside ASCII below DEL. */
// eslint-disable-next-line no-control-regex
const NOT_ASCII = /[^\x00-\x7e]/;

/** JSON text with those characters written as `\uXXXX` (surrogate pairs for astral ones): the same value, safe to print. */
export function escapeJsonText(json: string): string {
  // Most lines are ASCII (base64 payloads, plain text, numbers): settled by a native length count
  // and a search for DEL, ten times cheaper than any regex scan. Otherwise the full test starts
  // at the first character that is not ASCII.
  if (Buffer.byteLength(json, 'utf8') === json.length && !json.includes('\x7f')) return json;
  const first = json.search(NOT_ASCII);
  if (first < 0) return json;
  JSON_UNSAFE.lastIndex = first;
  if (!JSON_UNSAFE.test(json)) return json;
  JSON_UNSAFE.lastIndex = 0;
  return json.replace(JSON_UNSAFE, (c) => {
    let out = '';
    for (let i = 0; i < c.length; i++) out += `\\u${c.charCodeAt(i).toString(16).padStart(4, '0')}`;
    return out;
  });
}
