/**
 * The status bar (addresses, sessions, rates, filter, intercept, held, tail, script) and the
 * line under it (prompts, questions, messages, key hints). Items that do not fit are left out,
 * least important first.
 */
import { formatBytes } from '../../output/format.js';
import { renderLine, seg, strWidth, truncate, type Seg, type Style } from '../line.js';
import { escapeForTerminal } from '../../output/terminal-text.js';
import type { TextBuffer } from '../text-buffer.js';

export interface StatusState {
  readonly listening: string;
  readonly target: string;
  readonly open: number;
  readonly framesPerSec: number;
  readonly bytesPerSec: number;
  readonly filter: string;
  readonly intercept: { readonly enabled: boolean; readonly filter: string; readonly held: number };
  readonly following: boolean;
  readonly newRows: number;
  readonly script: string | null;
  /** Fault rules on, and faults applied so far (docs/faults.md). */
  readonly faults?: { readonly rules: number; readonly applied: number };
}

interface Item {
  readonly segs: Seg[];
  /** 0 = keep longest. */
  readonly priority: number;
}

function rate(n: number): string {
  return n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1).replace(/\.0$/, '') : n.toFixed(1).replace(/\.0$/, '');
}

export function statusItems(s: StatusState): Item[] {
  const items: Item[] = [
    { segs: [seg(' wsproxy', { bold: true })], priority: 4 },
    { segs: [seg(` ${escapeForTerminal(s.listening)} → ${escapeForTerminal(s.target)}`)], priority: 3 },
    { segs: [seg(` ${s.open} open`, s.open > 0 ? { fg: 'green' } : {})], priority: 0 },
    { segs: [seg(` ${rate(s.framesPerSec)} f/s ${formatBytes(Math.round(s.bytesPerSec))}/s wire`)], priority: 1 },
  ];
  if (s.filter !== '') items.push({ segs: [seg(` filter: ${truncate(escapeForTerminal(s.filter), 24)}`, { fg: 'cyan' })], priority: 0 });
  if (s.intercept.enabled) items.push({ segs: [seg(` intercept ON: ${truncate(escapeForTerminal(s.intercept.filter === '' ? 'all' : s.intercept.filter), 20)}`, { fg: 'yellow', bold: true })], priority: 0 });
  else items.push({ segs: [seg(' intercept off')], priority: 2 });
  if (s.intercept.held > 0) items.push({ segs: [seg(` ⏸ ${s.intercept.held} held`, { fg: 'red', bold: true })], priority: 0 });
  if (!s.following) items.push({ segs: [seg(s.newRows > 0 ? ` paused, ${s.newRows} below` : ' paused', { fg: 'yellow' })], priority: 0 });
  if (s.script !== null) items.push({ segs: [seg(` script: ${truncate(escapeForTerminal(s.script), 24)}`)], priority: 1 });
  if (s.faults !== undefined && (s.faults.rules > 0 || s.faults.applied > 0)) items.push({ segs: [seg(` faults: ${s.faults.rules} rule(s), ${s.faults.applied} applied`, { fg: 'magenta', bold: true })], priority: 1 });
  items.push({ segs: [seg(' ? help')], priority: 2 });
  return items;
}

const SEP = seg(' │', {});

export function statusLine(s: StatusState, width: number): string {
  let items = statusItems(s);
  const widthOf = (list: Item[]): number => list.reduce((n, it, i) => n + it.segs.reduce((m, x) => m + strWidth(x.text), 0) + (i > 0 ? 2 : 0), 0);
  while (widthOf(items) > width && items.length > 1) {
    const worst = Math.max(...items.map((it) => it.priority));
    const i = items.map((it) => it.priority).lastIndexOf(worst);
    items = items.filter((_, j) => j !== i);
  }
  const segs: Seg[] = [];
  items.forEach((it, i) => {
    if (i > 0) segs.push(SEP);
    segs.push(...it.segs);
  });
  return renderLine(segs, width, { inverse: true });
}

export type MessageLevel = 'info' | 'warn' | 'error';

const LEVEL_STYLE: { readonly [L in MessageLevel]: Style } = {
  info: { fg: 'green' },
  warn: { fg: 'yellow', bold: true },
  error: { fg: 'red', bold: true },
};

/** A message may quote peer text already escaped (a preview): its backslashes are kept, controls are not. */
export function messageLine(text: string, level: MessageLevel, width: number): string {
  return renderLine([seg(escapeForTerminal(text, { keepBackslash: true }), LEVEL_STYLE[level])], width);
}

export const HINTS: readonly (readonly [string, string])[] = [
  ['?', 'help'],
  ['/', 'filter'],
  ['i', 'intercept'],
  ['s', 'send'],
  ['r', 'resend'],
  ['Enter', 'detail'],
  ['Tab', 'pane'],
  ['p', 'pause'],
  ['w', 'write'],
  ['c', 'clear'],
  ['q', 'quit'],
];

/** As many key hints as fit, "q quit" always last. */
export function hintLine(width: number): string {
  const quit = HINTS[HINTS.length - 1]!;
  const shown: (readonly [string, string])[] = [];
  let used = strWidth(`${quit[0]} ${quit[1]}`);
  for (const h of HINTS.slice(0, -1)) {
    const w = strWidth(`${h[0]} ${h[1]}  `);
    if (used + w > width) break;
    shown.push(h);
    used += w;
  }
  shown.push(quit);
  const segs: Seg[] = [];
  shown.forEach(([key, what], i) => {
    segs.push(seg(key, { bold: true }), seg(` ${what}${i < shown.length - 1 ? '  ' : ''}`, { fg: 'gray' }));
  });
  return renderLine(segs, width);
}

/** A one-line prompt: label, the text with a block cursor, and an error on the right. */
export function promptLine(label: string, buffer: TextBuffer, error: string | null, width: number): string {
  const chars = buffer.line(0).map((c) => escapeForTerminal(c, { keepBackslash: true }));
  const labelSegs: Seg[] = [seg(label, { bold: true, fg: 'yellow' })];
  const errorSegs: Seg[] = error === null ? [] : [seg(`  ${escapeForTerminal(error)}`, { fg: 'red' })];
  const errW = error === null ? 0 : Math.min(Math.floor(width / 2), strWidth(errorSegs[0]!.text));
  const room = Math.max(4, width - strWidth(label) - errW - 1);
  // Scroll so the cursor stays in view.
  let start = 0;
  const widthTo = (i: number): number => chars.slice(start, i).reduce((n, c) => n + strWidth(c), 0);
  while (widthTo(buffer.col) >= room && start < buffer.col) start++;
  const segs: Seg[] = [...labelSegs];
  let used = 0;
  for (let i = start; i <= chars.length; i++) {
    const c = i < chars.length ? chars[i]! : ' ';
    const w = strWidth(c);
    if (used + w > room) break;
    segs.push(seg(c, i === buffer.col ? { inverse: true } : {}));
    used += w;
  }
  segs.push(seg(' '.repeat(Math.max(0, room - used))));
  if (errW > 0) segs.push(seg(truncate(errorSegs[0]!.text, errW), { fg: 'red' }));
  return renderLine(segs, width);
}
