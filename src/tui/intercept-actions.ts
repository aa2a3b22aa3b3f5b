/** What a, A, e, d and the editor do to held messages (the queue is intercept-queue.ts). */
import { preview } from '../output/format.js';
import { resolveAction } from './keymap.js';
import { MAIN, type AppContext, type EditorMode } from './modes.js';
import { fromEditable, toEditable } from './payload-codec.js';
import { TextBuffer } from './text-buffer.js';

export type HeldAction = 'held-forward' | 'held-drop' | 'held-edit';

export function heldAction(ctx: AppContext, action: HeldAction): void {
  const entry = ctx.targetHeld();
  if (entry === undefined) {
    ctx.say(ctx.queue.enabled ? 'nothing is held right now' : 'nothing is held (i turns intercept on)', 'warn');
    return;
  }
  const m = entry.message;
  // Which message: its id, where it went, and its first bytes (several may be held at once).
  const what = `message ${m.id} (#${m.session} ${m.from === 'client' ? 'C→S' : 'S→C'} ${m.kind}, ${m.data.length} B) ${preview(m.data, m.kind === 'close' ? 'binary' : m.kind, false, 32)}`;
  switch (action) {
    case 'held-forward':
      ctx.queue.forward(entry.seq);
      ctx.say(`forwarded ${what}`);
      return;
    case 'held-drop':
      ctx.queue.drop(entry.seq);
      ctx.say(`dropped ${what}`, 'warn');
      return;
    case 'held-edit': {
      const editable = toEditable(m.kind, m.data);
      const buffer = new TextBuffer(editable.text, true);
      buffer.moveTo(0, 0);
      ctx.mode = { type: 'editor', entry, editable, buffer, scroll: { top: 0, left: 0 }, error: null, rawNext: false };
      return;
    }
  }
}

export function forwardAll(ctx: AppContext): void {
  const n = ctx.queue.forwardAll();
  ctx.say(n === 0 ? 'nothing is held' : `forwarded ${n} held message${n === 1 ? '' : 's'}`);
}

export function toggleIntercept(ctx: AppContext): void {
  const on = !ctx.queue.enabled;
  const released = on ? 0 : ctx.queue.size;
  ctx.queue.setEnabled(on);
  if (on) ctx.say(`intercept ON: holding messages that match "${ctx.queue.filter.source || 'everything'}" (I changes the filter)`, 'warn');
  else ctx.say(`intercept off${released > 0 ? `: forwarded ${released} held` : ''}`);
}

export function editorKey(ctx: AppContext, mode: EditorMode, name: string, ch: string | undefined): void {
  const action = resolveAction(['editor'], name);
  if (action === 'cancel') {
    ctx.mode = MAIN;
    ctx.say('edit cancelled: the message is still held');
    return;
  }
  if (action === 'save') {
    const kind = mode.entry.message.kind;
    const encoded = fromEditable(mode.rawNext ? { mode: 'text', compactJson: false } : mode.editable, mode.buffer.text, kind);
    if (!encoded.ok) {
      const json = mode.editable.mode === 'json';
      mode.error = json ? `${encoded.error} (Ctrl-S again sends it as plain text)` : encoded.error;
      mode.rawNext = json;
      return;
    }
    ctx.mode = MAIN;
    if (!ctx.queue.replace(mode.entry.seq, encoded.data)) ctx.say('that message is no longer held (its session ended)', 'warn');
    else ctx.say(`forwarded edited ${kind} message (${encoded.data.length} B)`);
    return;
  }
  if (mode.buffer.handleKey(name, ch, ctx.editorPage)) {
    mode.error = null;
    mode.rawNext = false;
  }
}
