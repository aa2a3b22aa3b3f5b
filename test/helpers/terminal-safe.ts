/** Checks that text bound for a terminal carries nothing a terminal acts on or hides. */
import assert from 'node:assert/strict';

/** C0, DEL, C1, format characters (bidi, zero-width), line and paragraph separators, lone surrogates. */
// eslint-disable-next-line no-control-regex
export const TERMINAL_UNSAFE = /[\x00-\x1f\x7f-\x9f]|\p{Cf}|\p{Zl}|\p{Zp}|\p{Cs}/u;

/** Every line of `text` is free of raw control and invisible characters (newlines separate lines). */
export function assertTerminalSafe(text: string, what = 'output'): void {
  for (const line of text.split('\n')) {
    const m = TERMINAL_UNSAFE.exec(line);
    assert.equal(m, null, `${what} has a raw U+${m?.[0].codePointAt(0)?.toString(16).padStart(4, '0')} in ${JSON.stringify(line)}`);
  }
}
