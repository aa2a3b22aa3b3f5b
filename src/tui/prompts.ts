/** The one-line prompts: `/` log filter, `I` intercept filter, `w` file name. */
import { defaultExportName, harRows, writeHar, writeJsonl } from './export.js';
import { MATCH_ALL, parseFilter } from './filter.js';
import { resolveAction } from './keymap.js';
import { MAIN, type AppContext, type PromptMode, type PromptPurpose } from './modes.js';
import { TextBuffer } from './text-buffer.js';
import { acceptFaultPrompt, faultPromptError } from './fault-prompt.js';

const LABELS: { readonly [P in PromptPurpose]: string } = {
  filter: '/ ',
  intercept: 'intercept filter: ',
  write: 'write visible log to: ',
  fault: 'fault rule: ',
  har: 'write visible sessions as HAR to: ',
};

export function openPrompt(ctx: AppContext, purpose: PromptPurpose): void {
  const initial = purpose === 'filter' ? ctx.store.filter.source : purpose === 'intercept' ? ctx.queue.filter.source : purpose === 'har' ? defaultExportName(ctx.now()).replace(/\.jsonl$/, '.har') : defaultExportName(ctx.now());
  ctx.mode = { type: 'prompt', purpose, label: LABELS[purpose], buffer: new TextBuffer(initial, false), original: initial, error: null, historyAt: ctx.history[purpose].length };
}

export function applyFilterText(ctx: AppContext, text: string): void {
  const parsed = parseFilter(text);
  ctx.setFilter(parsed.ok ? parsed.filter : MATCH_ALL);
}

export function promptKey(ctx: AppContext, mode: PromptMode, name: string, ch: string | undefined): void {
  const action = resolveAction(['prompt'], name);
  const history = ctx.history[mode.purpose];
  switch (action) {
    case 'accept':
      return acceptPrompt(ctx, mode);
    case 'cancel':
      ctx.mode = MAIN;
      if (mode.purpose === 'filter') applyFilterText(ctx, mode.original);
      return;
    case 'history-prev':
    case 'history-next': {
      const at = Math.max(0, Math.min(history.length, mode.historyAt + (action === 'history-prev' ? -1 : 1)));
      mode.historyAt = at;
      mode.buffer.setText(at === history.length ? mode.original : history[at]!);
      break;
    }
    default:
      if (!mode.buffer.handleKey(name, ch)) return;
  }
  if (mode.purpose === 'fault') mode.error = faultPromptError(mode.buffer.text);
  else if (mode.purpose === 'filter' || mode.purpose === 'intercept') {
    const parsed = parseFilter(mode.buffer.text);
    mode.error = parsed.ok ? null : parsed.error;
    // The log filter applies as you type; the intercept filter only on Enter.
    if (parsed.ok && mode.purpose === 'filter') ctx.setFilter(parsed.filter);
  }
}

function acceptPrompt(ctx: AppContext, mode: PromptMode): void {
  const text = mode.buffer.text.trim();
  const history = ctx.history[mode.purpose];
  if (text !== '' && history[history.length - 1] !== text) history.push(text);
  if (history.length > 50) history.shift();
  switch (mode.purpose) {
    case 'filter': {
      const parsed = parseFilter(text);
      if (!parsed.ok) {
        mode.error = parsed.error;
        return;
      }
      ctx.mode = MAIN;
      ctx.setFilter(parsed.filter);
      ctx.say(text === '' ? 'filter cleared: showing everything' : `filter: ${text} (${ctx.store.view.length} of ${ctx.store.size} rows)`);
      return;
    }
    case 'intercept': {
      const parsed = parseFilter(text);
      if (!parsed.ok) {
        mode.error = parsed.error;
        return;
      }
      ctx.mode = MAIN;
      ctx.queue.setFilter(parsed.filter);
      ctx.queue.setEnabled(true);
      ctx.say(`intercept ON: holding ${text === '' ? 'every message, control frames too' : `messages that match "${text}"`}`, 'warn');
      return;
    }
    case 'fault':
      return acceptFaultPrompt(ctx, mode, text);
    case 'write': {
      ctx.mode = MAIN;
      if (text === '') return;
      const view = ctx.store.view;
      const rows = view.slice(view.start, view.end);
      const path = text.startsWith('/') ? text : `${ctx.cwd.replace(/\/$/, '')}/${text}`;
      writeJsonl(path, rows).then(
        (n) => ctx.say(`wrote ${n} rows to ${path}`),
        (error: Error) => ctx.say(`could not write ${path}: ${error.message}`, 'error'),
      );
      return;
    }
    case 'har': {
      ctx.mode = MAIN;
      if (text === '') return;
      const path = text.startsWith('/') ? text : `${ctx.cwd.replace(/\/$/, '')}/${text}`;
      writeHar(path, harRows(ctx.store), (id) => ctx.store.session(id)?.info ?? null, ctx.now()).then(
        (n) => ctx.say(`wrote ${n} session(s) to ${path}`),
        (error: Error) => ctx.say(`could not write ${path}: ${error.message}`, 'error'),
      );
      return;
    }
  }
}
