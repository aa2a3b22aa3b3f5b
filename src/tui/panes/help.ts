/** The `?` screen: every binding from keymap.ts, then the filter language in brief. */
import { helpSections } from '../keymap.js';
import { wrap } from '../detail.js';
import { padEnd, renderLine, seg, strWidth, type Color } from '../line.js';

export const FILTER_HELP: readonly (readonly [string, string])[] = [
  ['word  "two words"', 'payload contains the text (case-insensitive)'],
  ['/regex/i', 'payload matches the regular expression (flags i m s u)'],
  ['from:client  from:server', 'who sent it (c, s); to:server is the same as from:client'],
  ['kind:text,binary', 'text binary continuation ping pong close; data, control'],
  ['session:1-4  #3', 'session ids: one, a range, a list (session:1,3)'],
  ['is:violation', 'also is:injected is:modified is:dropped is:compressed is:fault'],
  ['!term', 'negates a term; terms separated by spaces must all hold'],
];

export function helpContent(width: number): string[] {
  const lines: string[] = [];
  const keyWidth = Math.min(30, Math.max(16, Math.floor(width * 0.3)));
  for (const section of helpSections()) {
    lines.push(renderLine([seg(section.title, { bold: true, underline: true, fg: 'yellow' })], width));
    for (const row of section.rows) {
      const help = wrap(row.help, Math.max(10, width - keyWidth));
      // Too many keys for the column: keys on their own line, the meaning under them.
      const own = strWidth(row.keys) > keyWidth - 3;
      if (own) lines.push(renderLine([seg(`  ${row.keys}`, { fg: 'cyan', bold: true })], width));
      help.forEach((part, i) => {
        const keys = i === 0 && !own ? padEnd(row.keys, keyWidth - 2) : ' '.repeat(keyWidth - 2);
        lines.push(renderLine([seg(`  ${keys}`, { fg: 'cyan', bold: true }), seg(part)], width));
      });
    }
    lines.push(renderLine([], width));
  }
  lines.push(renderLine([seg('Filter language (/ and I)', { bold: true, underline: true, fg: 'yellow' })], width));
  for (const [syntax, meaning] of FILTER_HELP) {
    wrap(meaning, Math.max(10, width - keyWidth)).forEach((part, i) => {
      lines.push(renderLine([seg(`  ${padEnd(i === 0 ? syntax : '', keyWidth - 2)}`, { fg: 'cyan', bold: true }), seg(part)], width));
    });
  }
  lines.push(renderLine([seg('  example: from:server kind:text !ping /"error":\\s*true/', { fg: 'gray' })], width));
  lines.push(renderLine([], width));
  lines.push(renderLine([seg('Colours and marks', { bold: true, underline: true, fg: 'yellow' })], width));
  const marks: [string, Color, string][] = [
    ['C→S', 'cyan', 'client to server'],
    ['S→C', 'magenta', 'server to client'],
    ['⚠ code', 'red', 'RFC violation (red row; the detail quotes the rule)'],
    ['[inj]', 'yellow', 'injected by the proxy (s, r, scripts)'],
    ['[mod]', 'yellow', 'written in place of a message a decider changed'],
    ['✗ dropped', 'red', 'a message a decider dropped'],
    ['[z]', 'lightblue', 'permessage-deflate: the payload shown is inflated'],
    ['⏸', 'yellow', 'held by intercept'],
  ];
  for (const [mark, color, meaning] of marks) {
    lines.push(renderLine([seg(`  ${padEnd(mark, keyWidth - 2)}`, { fg: color, bold: true }), seg(meaning)], width));
  }
  return lines;
}
