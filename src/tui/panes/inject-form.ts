/**
 * The send form (s): direction, kind, close code, payload. The model is plain state plus
 * `request()`, which turns it into an InjectRequest for SessionControl.send.
 */
import type { InjectKind, InjectRequest } from '../../proxy/control.js';
import type { Side } from '../../proxy/events.js';
import { MAX_CONTROL_PAYLOAD } from '../../protocol/constants.js';
import { isUtf8 } from 'node:buffer';
import { renderLine, seg, type Seg } from '../line.js';
import { escapeForTerminal } from '../../output/terminal-text.js';
import { encodeClose, formatHexForEdit, parseHex } from '../payload-codec.js';
import { TextBuffer } from '../text-buffer.js';
import { textAreaLines, type Scroll } from './editor.js';

export type FormField = 'to' | 'kind' | 'code' | 'payload';

export const INJECT_KINDS: readonly InjectKind[] = ['text', 'binary', 'ping', 'pong', 'close'];

export type BuiltRequest = { readonly ok: true; readonly request: InjectRequest; readonly summary: string } | { readonly ok: false; readonly error: string };

export class InjectForm {
  to: Side;
  kind: InjectKind = 'text';
  field: FormField = 'to';
  readonly code = new TextBuffer('1000', false);
  readonly payload = new TextBuffer('', true);
  error: string | null = null;
  readonly scroll: Scroll = { top: 0, left: 0 };

  constructor(
    readonly session: number,
    readonly where: string,
    to: Side = 'server',
  ) {
    this.to = to;
  }

  fields(): FormField[] {
    return this.kind === 'close' ? ['to', 'kind', 'code', 'payload'] : ['to', 'kind', 'payload'];
  }

  moveField(delta: number): void {
    const fields = this.fields();
    const i = fields.indexOf(this.field);
    this.field = fields[(i + delta + fields.length) % fields.length]!;
  }

  /** The choice fields (direction, kind) step through their values. Returns false elsewhere. */
  choose(delta: number): boolean {
    if (this.field === 'to') {
      this.to = this.to === 'server' ? 'client' : 'server';
      return true;
    }
    if (this.field === 'kind') {
      const i = INJECT_KINDS.indexOf(this.kind);
      this.setKind(INJECT_KINDS[(i + delta + INJECT_KINDS.length) % INJECT_KINDS.length]!);
      return true;
    }
    return false;
  }

  setKind(kind: InjectKind): void {
    const before = this.kind;
    this.kind = kind;
    this.error = null;
    // Carry the payload across text <-> hex so switching kind does not lose what was typed.
    const text = this.payload.text;
    if (text === '') return;
    if (before !== 'binary' && kind === 'binary') this.payload.setText(formatHexForEdit(Buffer.from(text, 'utf8')));
    else if (before === 'binary' && kind !== 'binary') {
      const bytes = parseHex(text);
      if (bytes.ok && isUtf8(bytes.data)) this.payload.setText(Buffer.from(bytes.data).toString('utf8'));
    }
  }

  /** The buffer keys go to, when the focused field takes text. */
  get activeText(): TextBuffer | null {
    return this.field === 'code' ? this.code : this.field === 'payload' ? this.payload : null;
  }

  request(): BuiltRequest {
    const to = this.to;
    const text = this.payload.text;
    switch (this.kind) {
      case 'text':
        return { ok: true, request: { to, kind: 'text', data: text }, summary: `text, ${Buffer.byteLength(text)} B` };
      case 'binary': {
        const bytes = parseHex(text);
        if (!bytes.ok) return { ok: false, error: `payload: ${bytes.error}` };
        return { ok: true, request: { to, kind: 'binary', data: bytes.data }, summary: `binary, ${bytes.data.length} B` };
      }
      case 'ping':
      case 'pong': {
        const n = Buffer.byteLength(text);
        if (n > MAX_CONTROL_PAYLOAD) return { ok: false, error: `a ${this.kind} payload is at most ${MAX_CONTROL_PAYLOAD} bytes (this is ${n})` };
        return { ok: true, request: { to, kind: this.kind, data: text }, summary: `${this.kind}, ${n} B` };
      }
      case 'close': {
        const codeText = this.code.text.trim();
        if (codeText === '') {
          if (text !== '') return { ok: false, error: 'a close reason needs a code' };
          return { ok: true, request: { to, kind: 'close' }, summary: 'close without status code' };
        }
        if (!/^\d{1,5}$/.test(codeText)) return { ok: false, error: 'the close code is a number, e.g. 1000' };
        const code = Number(codeText);
        const check = encodeClose(code, text);
        if (!check.ok) return { ok: false, error: check.error };
        return { ok: true, request: { to, kind: 'close', code, reason: text }, summary: `close ${code}` };
      }
    }
  }
}

function choice(label: string, selected: boolean, focused: boolean): Seg {
  if (!selected) return seg(`  ${label}  `, { fg: 'gray' });
  return seg(`[ ${label} ]`, focused ? { inverse: true, bold: true } : { bold: true });
}

function fieldLabel(text: string, focused: boolean): Seg {
  return seg(` ${text.padEnd(11)}`, focused ? { fg: 'yellow', bold: true } : {});
}

export function injectFormLines(form: InjectForm, width: number, height: number): string[] {
  const lines: string[] = [];
  lines.push(renderLine([seg(` Send into session #${form.session}`, { bold: true }), seg(` · ${escapeForTerminal(form.where)}`, { fg: 'gray' })], width));
  lines.push(renderLine([], width));
  const f = form.field;
  lines.push(renderLine([fieldLabel('Direction', f === 'to'), choice('to server', form.to === 'server', f === 'to'), seg(' '), choice('to client', form.to === 'client', f === 'to')], width));
  lines.push(renderLine([fieldLabel('Kind', f === 'kind'), ...INJECT_KINDS.flatMap((k) => [choice(k, form.kind === k, f === 'kind'), seg(' ')])], width));
  if (form.kind === 'close') {
    const code = form.code;
    const chars = code.line(0);
    const segs: Seg[] = [fieldLabel('Code', f === 'code')];
    for (let i = 0; i <= chars.length; i++) segs.push(seg(i < chars.length ? chars[i]! : ' ', f === 'code' && i === code.col ? { inverse: true } : { underline: true }));
    segs.push(seg('  e.g. 1000 normal, 1001 going away, 4000-4999 private', { fg: 'gray' }));
    lines.push(renderLine(segs, width));
  }
  const what = form.kind === 'binary' ? 'Payload (hex bytes)' : form.kind === 'close' ? 'Reason (UTF-8, ≤123 bytes)' : form.kind === 'text' ? 'Payload (text, sent as UTF-8)' : `Payload (≤${MAX_CONTROL_PAYLOAD} bytes)`;
  lines.push(renderLine([fieldLabel(what, f === 'payload')], width));
  const areaHeight = Math.max(1, height - lines.length - 2);
  lines.push(...textAreaLines(form.payload, form.scroll, width, areaHeight, f === 'payload', ' │ '));
  lines.push(renderLine(form.error === null ? [] : [seg(` ${escapeForTerminal(form.error)}`, { fg: 'red', bold: true })], width));
  lines.push(renderLine([seg(' Tab', { bold: true }), seg(' next field · '), seg('←→', { bold: true }), seg(' choose · '), seg('Ctrl-S', { bold: true }), seg(' send · '), seg('Esc', { bold: true }), seg(' cancel')], width));
  return lines;
}
