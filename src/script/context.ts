/**
 * Per-session script context: state, injection, close, log and timers that die with the session.
 * One SessionScope per session lives in the runtime (and survives hot reloads); each hook call
 * gets a HookContext over it that adds the call's AbortSignal.
 */
import { formatWithOptions } from 'node:util';
import type { ProxyControl } from '../proxy/control.js';
import type { FrameRecord, LogRecord, SessionInfo } from '../proxy/events.js';
import { injectRequest, scriptHead } from './convert.js';
import type { ScriptContext, ScriptDrop, ScriptFault, ScriptSend, ScriptSession, ScriptTimer } from './define-script.js';
import { faultEngineFor } from '../fault/engine.js';

export type LogLevel = LogRecord['level'];

/** The single drop value; ctx.drop() returns it. */
export const DROP_VALUE: ScriptDrop = Object.freeze({ wsproxyDrop: true }) as unknown as ScriptDrop;

export function isDrop(value: unknown): value is ScriptDrop {
  return value === DROP_VALUE;
}

export interface ScopeHost {
  readonly proxy: ProxyControl;
  log(session: number | null, level: LogLevel, text: string): void;
  /** Formats an exception for the log (stack with script paths cleaned up). */
  describeError(error: unknown): string;
  /** Adds a fault rule where the proxy's fault engine is not in this thread (the script's worker). */
  fault?(rule: unknown, session: number | null): ScriptFault;
}

/** console.log-style formatting, on one line. */
export function formatArgs(args: readonly unknown[]): string {
  return formatWithOptions({ breakLength: Infinity, colors: false, depth: 4 }, ...args);
}

export function scriptSession(info: SessionInfo, state: () => ScriptSession['state']): ScriptSession {
  return {
    id: info.session,
    client: info.client,
    target: info.target,
    path: info.path,
    status: info.status,
    request: scriptHead(info.request),
    response: scriptHead(info.response),
    protocol: info.protocol,
    extensions: info.extensions,
    deflate: info.deflate,
    opened: info.time,
    get state() {
      return state();
    },
    info,
  };
}

export class SessionScope {
  readonly id: number;
  readonly session: ScriptSession;
  state: object = {};
  /** Resolves when onOpen has finished (or failed, or timed out). */
  ready: Promise<void> = Promise.resolve();
  closed = false;
  readonly #host: ScopeHost;
  readonly #abort = new AbortController();
  readonly #timers = new Set<NodeJS.Timeout>();
  #warnedClosed = false;
  /** Control frames seen on the bus before their decision, by frame id (onFrame gets the full record). */
  readonly pendingFrames = new Map<number, FrameRecord>();

  constructor(host: ScopeHost, info: SessionInfo) {
    this.#host = host;
    this.id = info.session;
    this.session = scriptSession(info, () => {
      if (this.closed) return 'closed';
      return host.proxy.session(this.id)?.state ?? 'closed';
    });
  }

  /** Aborts when the session ends. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  log(level: LogLevel, args: readonly unknown[]): void {
    this.#host.log(this.id, level, formatArgs(args));
  }

  send(message: ScriptSend): boolean {
    const control = this.#host.proxy.session(this.id);
    if (this.closed || control === undefined || control.state === 'closed') {
      if (!this.#warnedClosed) {
        this.#warnedClosed = true;
        this.#host.log(this.id, 'warn', `ctx.send after session ${this.id} closed: nothing sent (logged once per session)`);
      }
      return false;
    }
    try {
      control.send(injectRequest(message));
      return true;
    } catch (error) {
      // Called from a timer a throw would take the proxy down; the stack says where it came from.
      const where = new Error('ctx.send');
      this.#host.log(this.id, 'error', `ctx.send failed, nothing sent: ${(error as Error).message}\n${this.#host.describeError(where).split('\n').slice(1).join('\n')}`);
      return false;
    }
  }

  close(code?: number, reason?: string): void {
    const control = this.#host.proxy.session(this.id);
    if (control === undefined || control.state === 'closed') return;
    try {
      control.close(code, reason);
    } catch (error) {
      this.#host.log(this.id, 'error', `ctx.close failed: ${this.#host.describeError(error)}`);
    }
  }

  timer(fn: () => void | Promise<void>, ms: number, repeat: boolean): ScriptTimer {
    if (typeof fn !== 'function') throw new TypeError(`ctx.${repeat ? 'setInterval' : 'setTimeout'} needs a function`);
    if (this.closed) return { cancel: () => undefined };
    const run = (): void => {
      if (!repeat) this.#timers.delete(handle);
      try {
        const result = fn();
        if (result instanceof Promise) result.catch((error: unknown) => this.#timerError(error));
      } catch (error) {
        this.#timerError(error);
      }
    };
    const delay = Math.max(0, Number(ms) || 0);
    const handle = repeat ? setInterval(run, delay) : setTimeout(run, delay);
    this.#timers.add(handle);
    return {
      cancel: () => {
        clearTimeout(handle);
        this.#timers.delete(handle);
      },
    };
  }

  /** ctx.fault: a rule on this session (or every session with `global`), through the proxy's fault engine. */
  fault(rule: unknown, global: boolean): ScriptFault {
    const storm = typeof rule === 'string' ? /^\s*storm\s*:|kill\s+all/i.test(rule) : (rule as { action?: unknown } | null)?.action === 'kill';
    const session = global || storm ? null : this.id;
    if (this.#host.fault !== undefined) return this.#host.fault(rule, session);
    const engine = faultEngineFor(this.#host.proxy);
    const active = engine.addJson(rule, 'script', 'ctx.fault', session);
    return {
      id: active.id,
      rule: active.rule.text,
      enable: (on?: boolean) => void engine.setEnabled(active.id, on),
      remove: () => void engine.remove(active.id),
    };
  }

  #timerError(error: unknown): void {
    this.#host.log(this.id, 'error', `timer callback threw: ${this.#host.describeError(error)}`);
  }

  /** The session ended: stop timers, abort pending hook signals. */
  end(): void {
    this.closed = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    this.pendingFrames.clear();
    this.#abort.abort(new Error(`session ${this.id} closed`));
  }
}

/**
 * The ctx object one hook call receives. Its functions are bound, so `const { send } = ctx`
 * works, and they keep working after the hook returned.
 */
export function hookContext<S extends object = Record<string, any>>(scope: SessionScope, signal: AbortSignal): ScriptContext<S> {
  return {
    get session(): ScriptSession {
      return scope.session;
    },
    get state(): S {
      return scope.state as S;
    },
    set state(value: S) {
      scope.state = value;
    },
    signal,
    send: (message: ScriptSend): boolean => scope.send(message),
    close: (code?: number, reason?: string): void => scope.close(code, reason),
    drop: (): ScriptDrop => DROP_VALUE,
    log: (...args: unknown[]): void => scope.log('info', args),
    warn: (...args: unknown[]): void => scope.log('warn', args),
    error: (...args: unknown[]): void => scope.log('error', args),
    setTimeout: (fn: () => void | Promise<void>, ms: number): ScriptTimer => scope.timer(fn, ms, false),
    setInterval: (fn: () => void | Promise<void>, ms: number): ScriptTimer => scope.timer(fn, ms, true),
    fault: (rule, options) => scope.fault(rule, options?.global === true),
  };
}
