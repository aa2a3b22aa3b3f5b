/** s (send form), r (resend) and X (close a session): all through ProxyControl. */
import type { InjectRequest } from '../proxy/control.js';
import { otherSide } from '../proxy/events.js';
import { isPrintable, resolveAction } from './keymap.js';
import { MAIN, type AppContext } from './modes.js';
import { InjectForm } from './panes/inject-form.js';

export function openInject(ctx: AppContext): void {
  const target = ctx.targetSession();
  if (target === null) {
    ctx.say('select a session (or a frame of it) first', 'warn');
    return;
  }
  const control = ctx.proxy.session(target.id);
  if (control === undefined || control.state !== 'open') {
    ctx.say(`session #${target.id} is ${control?.state ?? 'gone'}: nothing can be sent into it`, 'error');
    return;
  }
  ctx.mode = { type: 'inject', form: new InjectForm(target.id, `${control.info.client} ${control.info.path}`, target.hint ?? 'server') };
}

export function injectKey(ctx: AppContext, form: InjectForm, name: string, ch: string | undefined): void {
  const action = resolveAction(['inject'], name);
  if (action === 'cancel') {
    ctx.mode = MAIN;
    return;
  }
  if (action === 'next-field' || action === 'prev-field') {
    form.moveField(action === 'next-field' ? 1 : -1);
    return;
  }
  if (action === 'save') {
    const built = form.request();
    if (!built.ok) form.error = built.error;
    else if (send(ctx, form.session, built.request, built.summary)) ctx.mode = MAIN;
    else form.error = ctx.lastMessage() ?? 'not sent';
    return;
  }
  // On text fields the arrows and space edit; on direction and kind they choose.
  const text = form.activeText;
  if (text === null) {
    if (action === 'option-next' || action === 'option-prev') form.choose(action === 'option-next' ? 1 : -1);
    else if (name === 'enter') form.moveField(1);
    // Typing there types the payload (what was meant), rather than being lost.
    else if (ch !== undefined && isPrintable(ch)) {
      form.field = 'payload';
      if (form.payload.handleKey(name, ch)) form.error = null;
    }
    return;
  }
  if (text.handleKey(name, ch)) form.error = null;
}

/** SessionControl.send, with the outcome on the message line. */
export function send(ctx: AppContext, session: number, request: InjectRequest, summary: string): boolean {
  const control = ctx.proxy.session(session);
  if (control === undefined || control.state !== 'open') {
    ctx.say(`session #${session} is ${control?.state ?? 'gone'}: not sent`, 'error');
    return false;
  }
  try {
    control.send(request);
  } catch (error) {
    ctx.say(`not sent: ${(error as Error).message}`, 'error');
    return false;
  }
  ctx.say(`sent ${summary} to the ${request.to} of session #${session}`);
  return true;
}

/** The selected frame's message again, in its session and direction. */
export function resend(ctx: AppContext): void {
  const row = ctx.selectedRow();
  if (row === undefined || (row.type !== 'frame' && row.type !== 'message')) {
    ctx.say('select a frame or message in the log to resend it', 'warn');
    return;
  }
  const to = otherSide(row.record.from);
  const cut = (n: number): void => ctx.say(`only the first ${n} B were kept (--max-preview): not resent`, 'error');
  let request: InjectRequest;
  if (row.type === 'message') {
    if (row.record.truncated) return cut(row.record.payload.length);
    request = { to, kind: row.record.kind, data: row.record.payload };
  } else {
    const f = row.record;
    switch (f.kind) {
      case 'text':
      case 'binary':
      case 'continuation': {
        // A whole message in one frame, or the message the fragment belongs to.
        const whole = f.fin && f.kind !== 'continuation' ? { kind: f.kind, payload: f.payload, truncated: f.truncated } : row.message;
        if (whole === null) return ctx.say('this frame is part of a message that has not completed: not resent', 'error');
        if (whole.truncated) return cut(whole.payload.length);
        request = { to, kind: whole.kind, data: whole.payload };
        break;
      }
      case 'ping':
      case 'pong':
        request = { to, kind: f.kind, data: f.payload };
        break;
      case 'close':
        request = f.close === null || f.close.code === null ? { to, kind: 'close' } : { to, kind: 'close', code: f.close.code, reason: f.close.reason };
        break;
      case 'reserved':
        return ctx.say('frames with a reserved opcode cannot be resent', 'error');
    }
  }
  const size = request.data === undefined ? 0 : typeof request.data === 'string' ? Buffer.byteLength(request.data) : request.data.length;
  send(ctx, row.record.session, request, `${request.kind} (${size} B) again`);
}

export function closeSession(ctx: AppContext): void {
  const target = ctx.targetSession();
  const control = target === null ? undefined : ctx.proxy.session(target.id);
  if (target === null || control === undefined || control.state === 'closed') {
    ctx.say('select an open session to close', 'warn');
    return;
  }
  ctx.mode = {
    type: 'confirm',
    question: `Close session #${target.id} (1000 Normal Closure to both peers)?`,
    onYes: () => {
      control.close(1000, 'closed from wsproxy');
      ctx.say(`closing session #${target.id}`);
    },
  };
}
