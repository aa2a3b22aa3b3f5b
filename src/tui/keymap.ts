/**
 * Every key binding as data: the dispatcher looks actions up here and the `?` help screen is
 * generated from the same table, so the two cannot disagree.
 */

/** Where a binding applies. The main screen is `global` plus the focused pane's context. */
export type KeyContext = 'global' | 'list' | 'sessions' | 'frames' | 'held' | 'detail' | 'prompt' | 'editor' | 'inject' | 'help' | 'confirm';

export type Action =
  | 'help'
  | 'quit'
  | 'redraw'
  | 'focus-next'
  | 'focus-prev'
  | 'filter'
  | 'intercept-toggle'
  | 'intercept-filter'
  | 'held-forward'
  | 'held-forward-all'
  | 'held-edit'
  | 'held-drop'
  | 'inject'
  | 'resend'
  | 'clear'
  | 'pause'
  | 'write'
  | 'write-har'
  | 'detail'
  | 'close-detail'
  | 'payload-view'
  | 'up'
  | 'down'
  | 'page-up'
  | 'page-down'
  | 'top'
  | 'bottom'
  | 'session-filter'
  | 'session-close'
  | 'faults'
  | 'save'
  | 'cancel'
  | 'accept'
  | 'history-prev'
  | 'history-next'
  | 'next-field'
  | 'prev-field'
  | 'option-next'
  | 'option-prev'
  | 'yes'
  | 'no'
  /** Documentation only: the key edits text. */
  | 'text';

export interface Binding {
  /** Canonical key names (see canonicalKey). */
  readonly keys: readonly string[];
  readonly action: Action;
  readonly contexts: readonly KeyContext[];
  readonly help: string;
}

export const BINDINGS: readonly Binding[] = [
  // Main screen, whatever pane has the focus.
  { keys: ['?'], action: 'help', contexts: ['global'], help: 'Show this help' },
  { keys: ['q', 'C-c'], action: 'quit', contexts: ['global'], help: 'Quit (asks while sessions are open; they are closed with 1001)' },
  { keys: ['tab'], action: 'focus-next', contexts: ['global'], help: 'Next pane' },
  { keys: ['S-tab'], action: 'focus-prev', contexts: ['global'], help: 'Previous pane' },
  { keys: ['/'], action: 'filter', contexts: ['global'], help: 'Filter the log (empty filter shows everything)' },
  { keys: ['i'], action: 'intercept-toggle', contexts: ['global'], help: 'Intercept on/off (off forwards everything held)' },
  { keys: ['I'], action: 'intercept-filter', contexts: ['global'], help: 'Set the intercept filter and turn intercept on' },
  { keys: ['a'], action: 'held-forward', contexts: ['global'], help: 'Forward the held message (selected in the held list, else the oldest)' },
  { keys: ['A'], action: 'held-forward-all', contexts: ['global'], help: 'Forward every held message' },
  { keys: ['e'], action: 'held-edit', contexts: ['global'], help: 'Edit the held message, then forward it (Ctrl-S)' },
  { keys: ['d'], action: 'held-drop', contexts: ['global'], help: 'Drop the held message' },
  { keys: ['s'], action: 'inject', contexts: ['global'], help: 'Send a frame into the selected session (to client or server)' },
  { keys: ['r'], action: 'resend', contexts: ['global'], help: 'Resend the selected message in its session, same direction' },
  { keys: ['X'], action: 'session-close', contexts: ['global'], help: 'Close the selected session (1000 to both peers)' },
  { keys: ['F'], action: 'faults', contexts: ['global'], help: 'Fault rules: list them; type a rule to add it, N to toggle rule N, -N to remove it' },
  { keys: ['c'], action: 'clear', contexts: ['global'], help: 'Clear the log (sessions stay)' },
  { keys: ['p'], action: 'pause', contexts: ['global'], help: 'Pause / resume following the tail of the log' },
  { keys: ['w'], action: 'write', contexts: ['global'], help: 'Write the visible (filtered) log to a JSONL file' },
  { keys: ['H'], action: 'write-har', contexts: ['global'], help: 'Write the sessions in the visible log as HAR (Chrome DevTools)' },
  { keys: ['x'], action: 'payload-view', contexts: ['global'], help: 'Detail payload as: auto (JSON/text/hex), hex, text' },
  { keys: ['escape'], action: 'close-detail', contexts: ['global'], help: 'Close the detail pane (small screens) / back to the log' },
  { keys: ['C-l'], action: 'redraw', contexts: ['global'], help: 'Redraw the screen' },
  // Navigation in the focused pane.
  { keys: ['up', 'k'], action: 'up', contexts: ['list'], help: 'Up' },
  { keys: ['down', 'j'], action: 'down', contexts: ['list'], help: 'Down' },
  { keys: ['pageup', 'C-b', 'C-u'], action: 'page-up', contexts: ['list'], help: 'Page up' },
  { keys: ['pagedown', 'C-f', 'C-d', 'space'], action: 'page-down', contexts: ['list'], help: 'Page down' },
  { keys: ['g', 'home'], action: 'top', contexts: ['list'], help: 'First row' },
  { keys: ['G', 'end'], action: 'bottom', contexts: ['list'], help: 'Last row (and follow the tail again)' },
  { keys: ['enter'], action: 'detail', contexts: ['frames', 'sessions', 'held'], help: 'Show the selected item in the detail pane' },
  { keys: ['enter'], action: 'close-detail', contexts: ['detail'], help: 'Back to the list' },
  { keys: ['f'], action: 'session-filter', contexts: ['sessions'], help: 'Show only this session in the log (again: show all)' },
  // Prompts: filter, intercept filter, file name.
  { keys: ['enter'], action: 'accept', contexts: ['prompt'], help: 'Apply' },
  { keys: ['escape', 'C-c'], action: 'cancel', contexts: ['prompt'], help: 'Cancel (the filter goes back to what it was)' },
  { keys: ['up'], action: 'history-prev', contexts: ['prompt'], help: 'Earlier entry' },
  { keys: ['down'], action: 'history-next', contexts: ['prompt'], help: 'Later entry' },
  // Editor (e) and the payload field of the send form (s).
  { keys: ['C-s'], action: 'save', contexts: ['editor'], help: 'Forward the edited message' },
  { keys: ['escape', 'C-c'], action: 'cancel', contexts: ['editor'], help: 'Cancel editing (the message stays held)' },
  // Send form (s).
  { keys: ['tab'], action: 'next-field', contexts: ['inject'], help: 'Next field' },
  { keys: ['S-tab'], action: 'prev-field', contexts: ['inject'], help: 'Previous field' },
  { keys: ['right', 'space'], action: 'option-next', contexts: ['inject'], help: 'Next choice (direction, kind)' },
  { keys: ['left'], action: 'option-prev', contexts: ['inject'], help: 'Previous choice (direction, kind)' },
  { keys: ['C-s'], action: 'save', contexts: ['inject'], help: 'Send' },
  { keys: ['escape', 'C-c'], action: 'cancel', contexts: ['inject'], help: 'Cancel' },
  // Text entry everywhere.
  { keys: ['left', 'right', 'up', 'down', 'home', 'end', 'C-a', 'C-e'], action: 'text', contexts: ['prompt', 'editor', 'inject'], help: 'Move the cursor' },
  { keys: ['backspace', 'delete'], action: 'text', contexts: ['prompt', 'editor', 'inject'], help: 'Delete before / at the cursor' },
  { keys: ['C-u', 'C-k'], action: 'text', contexts: ['prompt', 'editor', 'inject'], help: 'Delete to the start / to the end of the line' },
  { keys: ['enter'], action: 'text', contexts: ['editor', 'inject'], help: 'New line (payload)' },
  // Dialogs.
  { keys: ['y', 'enter'], action: 'yes', contexts: ['confirm'], help: 'Yes' },
  { keys: ['n', 'escape'], action: 'no', contexts: ['confirm'], help: 'No' },
  { keys: ['escape', 'q', '?'], action: 'cancel', contexts: ['help'], help: 'Close the help' },
  { keys: ['up', 'k', 'down', 'j', 'pageup', 'pagedown', 'g', 'G'], action: 'text', contexts: ['help'], help: 'Scroll' },
];

/** The subset of blessed's key event the keymap needs. */
export interface KeyEvent {
  readonly name?: string | undefined;
  readonly full?: string | undefined;
  readonly ctrl?: boolean | undefined;
  readonly meta?: boolean | undefined;
  readonly shift?: boolean | undefined;
}

/**
 * One name per key: printable characters as themselves ("j", "G", "?"), other keys by name
 * ("enter", "pagedown", "S-tab", "C-s").
 */
export function canonicalKey(ch: string | undefined, key: KeyEvent): string {
  if (key.ctrl || key.meta) return key.full ?? key.name ?? '';
  if (key.name === 'space' || ch === ' ') return 'space';
  if (ch !== undefined && ch.length >= 1 && isPrintable(ch)) return ch;
  return key.full ?? key.name ?? ch ?? '';
}

export function isPrintable(ch: string): boolean {
  // One code point (a pasted string arrives one key at a time), not a control character.
  return [...ch].length === 1 && !/[\x00-\x1f\x7f-\x9f]/.test(ch);
}

/** The action bound to `key`, searching the contexts in order (most specific first). */
export function resolveAction(contexts: readonly KeyContext[], key: string, bindings: readonly Binding[] = BINDINGS): Action | null {
  for (const context of contexts) {
    for (const b of bindings) {
      if (b.contexts.includes(context) && b.keys.includes(key)) return b.action;
    }
  }
  return null;
}

const KEY_NAMES: { readonly [key: string]: string } = {
  up: '↑',
  down: '↓',
  left: '←',
  right: '→',
  pageup: 'PgUp',
  pagedown: 'PgDn',
  home: 'Home',
  end: 'End',
  enter: 'Enter',
  escape: 'Esc',
  tab: 'Tab',
  'S-tab': 'Shift-Tab',
  space: 'Space',
  backspace: 'Backspace',
  delete: 'Del',
};

/** How a key is written on screen: "Ctrl-S", "PgDn", "G". */
export function displayKey(key: string): string {
  const named = KEY_NAMES[key];
  if (named !== undefined) return named;
  const ctrl = /^C-(.)$/.exec(key);
  if (ctrl !== null) return `Ctrl-${ctrl[1]!.toUpperCase()}`;
  return key;
}

const SECTIONS: readonly (readonly [KeyContext, string])[] = [
  ['global', 'Main screen'],
  ['list', 'Moving in a pane (sessions, frames, held, detail)'],
  ['frames', 'Frame log'],
  ['sessions', 'Sessions'],
  ['held', 'Held messages'],
  ['detail', 'Detail'],
  ['prompt', 'Prompts: / filter, I intercept filter, w file name, F fault rule'],
  ['editor', 'Editor (e)'],
  ['inject', 'Send form (s)'],
  ['confirm', 'Questions'],
  ['help', 'This help'],
];

export interface HelpSection {
  readonly title: string;
  readonly rows: readonly { readonly keys: string; readonly help: string }[];
}

/** The help screen's content, generated from the bindings. */
export function helpSections(bindings: readonly Binding[] = BINDINGS): HelpSection[] {
  return SECTIONS.map(([context, title]) => ({
    title,
    rows: bindings.filter((b) => b.contexts.includes(context)).map((b) => ({ keys: b.keys.map(displayKey).join(' '), help: b.help })),
  })).filter((s) => s.rows.length > 0);
}
