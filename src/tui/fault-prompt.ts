/**
 * `F`: the fault rules (docs/faults.md) in the TUI. The prompt lists the rules over the panes;
 * typing a rule adds it, `N` toggles rule N, `-N` removes it.
 */
import { faultEngineFor } from '../fault/engine.js';
import { FaultRuleError, parseRule } from '../fault/rule.js';
import { MAIN, type AppContext, type PromptMode } from './modes.js';
import { TextBuffer } from './text-buffer.js';

const COMMAND = /^(-?)(\d+)$/;

export function openFaultPrompt(ctx: AppContext): void {
  const engine = faultEngineFor(ctx.proxy);
  const rules = engine.rules();
  const listing = [
    `seed ${engine.random.seed} · ${engine.applied} fault(s) applied`,
    '',
    ...(rules.length === 0 ? ['no rules yet: type one, e.g.  server: delay 200ms  or  client: drop 10% match /ack/'] : rules.map((r) => `${String(r.id).padStart(3)} ${r.enabled ? '[on] ' : '[off]'} ${String(r.hits).padStart(5)} hit(s)  ${r.rule.text}${r.session === null ? '' : `  (session #${r.session})`}`)),
    '',
    'Enter: a rule adds it · N toggles rule N · -N removes it · Esc closes',
  ];
  ctx.mode = { type: 'prompt', purpose: 'fault', label: 'fault rule: ', buffer: new TextBuffer('', false), original: '', error: null, historyAt: ctx.history.fault.length, listing };
}

/** What is wrong with the text typed so far, shown as you type (null: fine, or a command). */
export function faultPromptError(text: string): string | null {
  const t = text.trim();
  if (t === '' || COMMAND.test(t)) return null;
  try {
    parseRule(t, 'rule');
    return null;
  } catch (error) {
    return error instanceof FaultRuleError ? error.message.replace(/^rule: /, '') : String(error);
  }
}

export function acceptFaultPrompt(ctx: AppContext, mode: PromptMode, text: string): void {
  const engine = faultEngineFor(ctx.proxy);
  if (text === '') {
    ctx.mode = MAIN;
    return;
  }
  const command = COMMAND.exec(text);
  if (command !== null) {
    const id = Number(command[2]);
    if (command[1] === '-') {
      const rule = engine.rules().find((r) => r.id === id);
      if (!engine.remove(id)) return void (mode.error = `no rule ${id}`);
      ctx.mode = MAIN;
      ctx.say(`fault rule ${id} removed: ${rule!.rule.text}`);
      return;
    }
    const on = engine.setEnabled(id);
    if (on === null) return void (mode.error = `no rule ${id}`);
    ctx.mode = MAIN;
    ctx.say(`fault rule ${id} ${on ? 'on' : 'off'}`, on ? 'warn' : 'info');
    return;
  }
  try {
    const rule = engine.add(text, 'tui');
    ctx.mode = MAIN;
    ctx.say(`fault rule ${rule.id} added: ${rule.rule.text}`, 'warn');
  } catch (error) {
    mode.error = error instanceof FaultRuleError ? error.message.replace(/^fault '.*?': /, '') : String(error);
  }
}
