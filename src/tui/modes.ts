/**
 * What the keyboard is talking to (main screen, a prompt, the editor, the send form, a question,
 * the help) and the part of the app the mode handlers may use.
 */
import type { ProxyControl } from '../proxy/control.js';
import type { Side } from '../proxy/events.js';
import type { Filter } from './filter.js';
import type { HeldEntry, InterceptQueue } from './intercept-queue.js';
import type { Editable } from './payload-codec.js';
import type { Scroll } from './panes/editor.js';
import type { InjectForm } from './panes/inject-form.js';
import type { MessageLevel } from './panes/status-bar.js';
import type { Row, TuiStore } from './store.js';
import type { TextBuffer } from './text-buffer.js';

export type PromptPurpose = 'filter' | 'intercept' | 'write' | 'fault' | 'har';

export type PromptMode = {
  readonly type: 'prompt';
  readonly purpose: PromptPurpose;
  readonly label: string;
  readonly buffer: TextBuffer;
  /** The text the prompt opened with (Esc goes back to it). */
  readonly original: string;
  error: string | null;
  historyAt: number;
  /** Lines shown over the panes while the prompt is open (the fault rules for `F`). */
  readonly listing?: readonly string[];
};

export type EditorMode = {
  readonly type: 'editor';
  readonly entry: HeldEntry;
  readonly editable: Editable;
  readonly buffer: TextBuffer;
  readonly scroll: Scroll;
  error: string | null;
  /** Invalid JSON was refused once: the next Ctrl-S sends the text as it is. */
  rawNext: boolean;
};

export type Mode =
  | { readonly type: 'main' }
  | { readonly type: 'help'; scroll: number }
  | { readonly type: 'confirm'; readonly question: string; readonly onYes: () => void }
  | PromptMode
  | EditorMode
  | { readonly type: 'inject'; readonly form: InjectForm };

export const MAIN: Mode = Object.freeze({ type: 'main' });

/** A session the user points at, and the direction a new frame most likely goes. */
export interface SessionTarget {
  readonly id: number;
  readonly hint: Side | null;
}

/** What mode handlers may use of the app. */
export interface AppContext {
  readonly store: TuiStore;
  readonly queue: InterceptQueue;
  readonly proxy: ProxyControl;
  mode: Mode;
  /** Entries typed in each prompt, oldest first. */
  readonly history: { readonly [P in PromptPurpose]: string[] };
  /** Directory `w` writes relative names into. */
  readonly cwd: string;
  /** Lines the editor's PgUp/PgDn move. */
  readonly editorPage: number;
  now(): number;
  say(text: string, level?: MessageLevel): void;
  /** The last thing said (the send form shows a refusal there). */
  lastMessage(): string | null;
  setFilter(filter: Filter): void;
  selectedRow(): Row | undefined;
  targetSession(): SessionTarget | null;
  targetHeld(): HeldEntry | undefined;
}
