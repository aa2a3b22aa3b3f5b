/**
 * The script as a MessageInterceptor: runs the hooks of the currently loaded script version with
 * a time limit, turns their results into verdicts, and fails open (or closed) when a hook throws,
 * times out or returns something that is not a message. Observation hooks (onOpen, onClose, onFrame
 * for data frames, onStreamed) are driven from the bus.
 */
import { frameKind, Opcode } from '../protocol/constants.js';
import { parseClosePayload } from '../protocol/close-codes.js';
import { DROP, FORWARD, type HeldMessage, type MessageInterceptor, type MessageMeta, type Verdict } from '../intercept/verdict.js';
import { INTERCEPTOR_ORDER, type ProxyControl } from '../proxy/control.js';
import { otherSide, subscribe, type CloseRecord, type FrameRecord, type SessionInfo, type Side } from '../proxy/events.js';
import { hookContext, isDrop, SessionScope, type LogLevel, type ScopeHost } from './context.js';
import { resultMessages, ScriptValueError } from './convert.js';
import type { Script, ScriptContext, ScriptFrame, ScriptMessage, ScriptSession } from './define-script.js';

export type FailMode = 'open' | 'closed';

export interface ScriptRuntimeOptions {
  /** How long a hook may take (--script-timeout). */
  readonly timeoutMs: number;
  /** What happens to a message whose hook failed: forwarded (open) or dropped (closed). */
  readonly failMode: FailMode;
  /** Turns an exception into log text (the loader cleans script paths in stacks). */
  readonly describeError?: (error: unknown) => string;
  readonly now?: () => number;
  /** ctx.fault where the fault engine lives in another thread (see ScopeHost.fault). */
  readonly fault?: ScopeHost['fault'];
}

/** The interceptor's name: MessageRecord.by and the log source. */
export const SCRIPT_SOURCE = 'script';

/** Control frame records kept per session while waiting for their decision. */
const PENDING_FRAMES_MAX = 64;
/** How long a control frame's decision waits for its bus record (held up only by inflation). */
const FRAME_RECORD_WAIT_MS = 100;

type Outcome<T> =
  | { readonly status: 'ok'; readonly value: T }
  | { readonly status: 'error' }
  | { readonly status: 'timeout' }
  | { readonly status: 'aborted' };

const TIMEOUT = Symbol('timeout');
const ABORTED = Symbol('aborted');

export function defaultDescribeError(error: unknown): string {
  if (error instanceof Error) return error.stack ?? `${error.name}: ${error.message}`;
  return `non-Error value thrown: ${typeof error === 'string' ? JSON.stringify(error) : String(error)}`;
}

function arrowOf(from: Side): string {
  return from === 'client' ? 'client→server' : 'server→client';
}

export class ScriptRuntime {
  readonly interceptor: MessageInterceptor;
  readonly #proxy: ProxyControl;
  readonly #options: ScriptRuntimeOptions;
  readonly #now: () => number;
  readonly #describe: (error: unknown) => string;
  readonly #scopes = new Map<number, SessionScope>();
  readonly #host: ScopeHost;
  /** Resolvers waiting for a control frame's bus record, by frame id. */
  readonly #frameWaiters = new Map<number, () => void>();
  readonly #warnedOnce = new Set<string>();
  #script: Script;
  #detach: (() => void)[] = [];
  #closed = false;

  constructor(proxy: ProxyControl, script: Script, options: ScriptRuntimeOptions) {
    this.#proxy = proxy;
    this.#script = script;
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#describe = options.describeError ?? defaultDescribeError;
    this.#host = {
      proxy,
      log: (session, level, text) => this.log(session, level, text),
      describeError: (error) => this.#describe(error),
      ...(options.fault === undefined ? {} : { fault: options.fault }),
    };
    this.interceptor = {
      name: SCRIPT_SOURCE,
      wants: (meta) => this.#wants(meta),
      decide: (held, signal) => this.#decide(held, signal),
      streamed: (meta, length) => this.#streamed(meta, length),
    };
  }

  /** The script version hooks are taken from. */
  get script(): Script {
    return this.#script;
  }

  /** Subscribes to the bus and joins the decision chain (at INTERCEPTOR_ORDER.script). */
  start(): void {
    if (this.#detach.length > 0 || this.#closed) return;
    // Sessions that were open before the script started get a scope, without onOpen.
    for (const s of this.#proxy.sessions()) if (s.state !== 'closed') this.#scopeFor(s.info.session);
    this.#detach.push(
      subscribe(this.#proxy.bus, {
        'session-open': (info) => this.#onOpen(info),
        'session-close': (record) => this.#onClose(record),
        frame: (record) => this.#onFrameRecord(record),
      }),
      this.#proxy.use(this.interceptor, INTERCEPTOR_ORDER.script),
    );
  }

  /** Hot reload: later hook calls use `script`; sessions and their state stay. */
  async swap(script: Script): Promise<void> {
    const old = this.#script;
    this.#script = script;
    this.#warnedOnce.clear();
    await this.#unload(old);
  }

  /** Leaves the chain and the bus, stops session timers, and unloads the script. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const detach of this.#detach) detach();
    this.#detach = [];
    for (const scope of this.#scopes.values()) scope.end();
    this.#scopes.clear();
    await this.#unload(this.#script);
  }

  log(session: number | null, level: LogLevel, text: string): void {
    this.#proxy.bus.emit('log', { session, time: this.#now(), source: SCRIPT_SOURCE, level, text });
  }

  async #unload(script: Script): Promise<void> {
    if (typeof script.onUnload !== 'function') return;
    const hook = script.onUnload;
    await this.#run(null, 'onUnload', 'unload', null, () => hook.call(script));
  }

  #scopeFor(session: number, info?: SessionInfo): SessionScope {
    let scope = this.#scopes.get(session);
    if (scope !== undefined) return scope;
    const known = info ?? this.#proxy.session(session)?.info ?? placeholderInfo(session, this.#now());
    scope = new SessionScope(this.#host, known);
    this.#scopes.set(session, scope);
    this.#initState(scope);
    return scope;
  }

  #initState(scope: SessionScope): void {
    const script = this.#script;
    if (typeof script.initState !== 'function') return;
    try {
      const state = script.initState.call(script, scope.session);
      if (state !== null && typeof state === 'object') scope.state = state;
      else this.log(scope.id, 'error', `initState returned ${state === null ? 'null' : typeof state}, not an object; ctx.state starts empty`);
    } catch (error) {
      this.log(scope.id, 'error', `initState threw; ctx.state starts empty: ${this.#describe(error)}`);
    }
  }

  #onOpen(info: SessionInfo): void {
    // A refused handshake (401, 403, ...) is no WebSocket session: nothing to script.
    if (info.status !== 101 || this.#scopes.has(info.session)) return;
    const scope = this.#scopeFor(info.session, info);
    const script = this.#script;
    const hook = script.onOpen;
    if (typeof hook !== 'function') return;
    // A microtask later: the bus announces the session just before the relay registers it, and
    // onOpen may want to ctx.send at once. Messages of the session wait for `ready` either way.
    scope.ready = Promise.resolve()
      .then(() => this.#run(scope, 'onOpen', `session ${info.session} open`, null, (ctx) => hook.call(script, scope.session, ctx)))
      .then(() => undefined);
  }

  #onClose(record: CloseRecord): void {
    const scope = this.#scopes.get(record.session);
    if (scope === undefined) return;
    this.#scopes.delete(record.session);
    const ready = scope.ready;
    scope.end();
    const script = this.#script;
    const hook = script.onClose;
    if (typeof hook !== 'function') return;
    const info = { code: record.code, reason: record.reason, by: record.by, clean: record.clean, time: record.time };
    void ready.then(() =>
      this.#run(scope, 'onClose', `session ${record.session} close`, null, (ctx) => hook.call(script, scope.session, info, ctx), { sessionSignal: false }),
    );
  }

  #onFrameRecord(record: FrameRecord): void {
    if (record.origin !== 'peer') return;
    const script = this.#script;
    const hook = script.onFrame;
    if (typeof hook !== 'function') return;
    const scope = this.#scopes.get(record.session) ?? (this.#closed ? undefined : this.#scopeFor(record.session));
    if (scope === undefined || scope.closed) return;
    if (record.kind === 'ping' || record.kind === 'pong' || record.kind === 'close') {
      // Decided in the chain, where onFrame may change it: keep the record for that call.
      scope.pendingFrames.set(record.id, record);
      if (scope.pendingFrames.size > PENDING_FRAMES_MAX) scope.pendingFrames.delete(scope.pendingFrames.keys().next().value!);
      this.#frameWaiters.get(record.id)?.();
      return;
    }
    const frame = toScriptFrame(record, scope.session, null);
    void scope.ready.then(async () => {
      const outcome = await this.#run(scope, 'onFrame', `frame ${record.id} ${arrowOf(record.from)}`, null, (ctx) => hook.call(script, frame, ctx));
      if (outcome.status === 'ok' && outcome.value !== undefined && outcome.value !== null) {
        this.#warnOnce(scope.id, 'onFrame-data', `onFrame returned a value for a ${record.kind} frame: only ping, pong and close frames can be changed there (change data messages in onMessage); ignored`);
      }
    });
  }

  #wants(meta: MessageMeta): boolean {
    if (this.#closed) return false;
    const script = this.#script;
    if (meta.kind === 'text' || meta.kind === 'binary') return typeof script.onMessage === 'function';
    return typeof script.onFrame === 'function';
  }

  #streamed(meta: MessageMeta, length: number): void {
    if (meta.kind !== 'text' && meta.kind !== 'binary') return;
    const scope = this.#scopes.get(meta.session) ?? this.#scopeFor(meta.session);
    this.log(meta.session, 'info', `a ${meta.kind} message ${arrowOf(meta.from)} of ${length}+ bytes is over --max-message: streamed through unmodified, onMessage not called`);
    const script = this.#script;
    const hook = script.onStreamed;
    if (typeof hook !== 'function' || scope.closed) return;
    const info = { session: scope.session, from: meta.from, to: otherSide(meta.from), kind: meta.kind, length };
    void scope.ready.then(() => this.#run(scope, 'onStreamed', `streamed message ${arrowOf(meta.from)}`, null, (ctx) => hook.call(script, info, ctx)));
  }

  async #decide(held: HeldMessage, signal: AbortSignal): Promise<Verdict> {
    const scope = this.#scopeFor(held.session);
    await scope.ready;
    if (signal.aborted || this.#closed) return FORWARD;
    const script = this.#script;
    if (held.kind === 'text' || held.kind === 'binary') {
      const hook = script.onMessage;
      if (typeof hook !== 'function') return FORWARD;
      const msg = toScriptMessage(held, scope.session);
      const what = `message ${held.id} ${arrowOf(held.from)}`;
      const outcome = await this.#run(scope, 'onMessage', what, signal, (ctx) => hook.call(script, msg, ctx), { decides: true });
      return this.#verdict(outcome, held, 'onMessage', what);
    }
    const hook = script.onFrame;
    if (typeof hook !== 'function') return FORWARD;
    const record = await this.#frameRecord(scope, held.id);
    const frame = controlFrame(held, record, scope.session);
    const what = `${held.kind} frame ${held.id} ${arrowOf(held.from)}`;
    const outcome = await this.#run(scope, 'onFrame', what, signal, (ctx) => hook.call(script, frame, ctx), { decides: true });
    return this.#verdict(outcome, held, 'onFrame', what);
  }

  /** The bus record of a control frame (emitted before its decision unless inflation holds it up). */
  async #frameRecord(scope: SessionScope, id: number): Promise<FrameRecord | null> {
    let record = scope.pendingFrames.get(id);
    if (record === undefined) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, FRAME_RECORD_WAIT_MS);
        function done(): void {
          clearTimeout(timer);
          resolve();
        }
        this.#frameWaiters.set(id, done);
      });
      this.#frameWaiters.delete(id);
      record = scope.pendingFrames.get(id);
    }
    scope.pendingFrames.delete(id);
    return record ?? null;
  }

  #failVerdict(): Verdict {
    return this.#options.failMode === 'closed' ? DROP : FORWARD;
  }

  #failText(): string {
    return this.#options.failMode === 'closed' ? 'dropped (--script-fail closed)' : 'forwarded unchanged';
  }

  #verdict(outcome: Outcome<unknown>, held: HeldMessage, hook: string, what: string): Verdict {
    switch (outcome.status) {
      case 'aborted':
        return FORWARD;
      case 'error':
      case 'timeout':
        return this.#failVerdict();
      case 'ok':
        break;
    }
    try {
      const messages = resultMessages(outcome.value, held.kind, isDrop);
      if (messages === null) return FORWARD;
      if (messages.length === 0) return DROP;
      return { action: 'replace', messages };
    } catch (error) {
      if (!(error instanceof ScriptValueError)) throw error;
      this.log(held.session, 'error', `${hook} on ${what}: ${error.message}; ${this.#failText()}`);
      return this.#failVerdict();
    }
  }

  #warnOnce(session: number, key: string, text: string): void {
    if (this.#warnedOnce.has(key)) return;
    this.#warnedOnce.add(key);
    this.log(session, 'warn', text);
  }

  /**
   * Runs one hook call with the time limit. The call's signal aborts on time-out, when the
   * session ends (sessionSignal) and when the relay gives up on the message (relaySignal).
   */
  async #run<T>(
    scope: SessionScope | null,
    hook: string,
    what: string,
    relaySignal: AbortSignal | null,
    fn: (ctx: ScriptContext) => T | Promise<T>,
    opts: { readonly decides?: boolean; readonly sessionSignal?: boolean } = {},
  ): Promise<Outcome<T>> {
    const controller = new AbortController();
    const sources = [relaySignal, opts.sessionSignal === false ? null : (scope?.signal ?? null)].filter((s): s is AbortSignal => s !== null);
    if (sources.some((s) => s.aborted)) return { status: 'aborted' };
    const session = scope?.id ?? null;
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    try {
      const value = await new Promise<T>((resolve, reject) => {
        onAbort = (): void => {
          controller.abort(new Error(`session ${session ?? ''} ended while ${hook} was running`.replace('  ', ' ')));
          reject(ABORTED);
        };
        for (const s of sources) s.addEventListener('abort', onAbort, { once: true });
        timer = setTimeout(() => {
          const error = new Error(`${hook} timed out after ${this.#options.timeoutMs} ms`);
          error.name = 'TimeoutError';
          controller.abort(error);
          reject(TIMEOUT);
        }, this.#options.timeoutMs);
        try {
          const ctx = scope === null ? (null as unknown as ScriptContext) : hookContext(scope, controller.signal);
          Promise.resolve(fn(ctx)).then(resolve, reject);
        } catch (error) {
          reject(error);
        }
      });
      return { status: 'ok', value };
    } catch (error) {
      const tail = opts.decides === true ? `; ${this.#failText()}` : '';
      if (error === ABORTED) return { status: 'aborted' };
      if (error === TIMEOUT) {
        this.log(session, 'error', `${hook} did not finish within ${this.#options.timeoutMs} ms (--script-timeout) on ${what}${tail}`);
        return { status: 'timeout' };
      }
      this.log(session, 'error', `${hook} threw on ${what}${tail}: ${this.#describe(error)}`);
      return { status: 'error' };
    } finally {
      clearTimeout(timer);
      if (onAbort !== undefined) for (const s of sources) s.removeEventListener('abort', onAbort);
    }
  }
}

function toScriptMessage(held: HeldMessage, session: ScriptSession): ScriptMessage {
  const data = Buffer.from(held.data);
  let text: string | undefined;
  return {
    id: held.id,
    session,
    from: held.from,
    to: otherSide(held.from),
    kind: held.kind as 'text' | 'binary',
    data,
    get text(): string {
      return (text ??= data.toString('utf8'));
    },
    json<T>(): T | undefined {
      try {
        return JSON.parse(data.toString('utf8')) as T;
      } catch {
        return undefined;
      }
    },
    frames: held.frames,
    compressed: held.compressed,
  };
}

function bufferOf(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function toScriptFrame(record: FrameRecord, session: ScriptSession, payload: Uint8Array | null): ScriptFrame {
  const body = Buffer.from(payload ?? record.payload);
  return {
    id: record.id,
    session,
    from: record.from,
    to: otherSide(record.from),
    kind: record.kind,
    opcode: record.opcode,
    fin: record.fin,
    rsv1: record.rsv1,
    rsv2: record.rsv2,
    rsv3: record.rsv3,
    masked: record.masked,
    maskKey: record.maskKey === null ? null : Buffer.from(record.maskKey),
    length: record.length,
    header: Buffer.from(record.header),
    payload: body,
    truncated: payload === null ? record.truncated : false,
    compressed: record.compressed,
    close: record.close,
    violations: record.violations,
    get text(): string {
      return body.toString('utf8');
    },
  };
}

const CONTROL_OPCODES = { ping: Opcode.Ping, pong: Opcode.Pong, close: Opcode.Close } as const;

/** A control frame being decided; from its bus record when there is one, else rebuilt from the held bytes. */
function controlFrame(held: HeldMessage, record: FrameRecord | null, session: ScriptSession): ScriptFrame {
  if (record !== null) return toScriptFrame(record, session, held.data);
  const opcode = CONTROL_OPCODES[held.kind as keyof typeof CONTROL_OPCODES];
  const payload = bufferOf(Buffer.from(held.data));
  const closeBody = held.kind === 'close' ? parseClosePayload(payload) : null;
  const masked = held.from === 'client';
  return {
    id: held.id,
    session,
    from: held.from,
    to: otherSide(held.from),
    kind: frameKind(opcode),
    opcode,
    fin: true,
    rsv1: false,
    rsv2: false,
    rsv3: false,
    masked,
    maskKey: null,
    length: payload.length,
    header: Buffer.from([0x80 | opcode, (masked ? 0x80 : 0) | payload.length]),
    payload,
    truncated: false,
    compressed: false,
    close: closeBody === null ? null : { code: closeBody.code, reason: closeBody.reason },
    violations: [],
    get text(): string {
      return payload.toString('utf8');
    },
  };
}

function placeholderInfo(session: number, time: number): SessionInfo {
  const empty = { raw: new Uint8Array(0), startLine: '', headers: [] };
  return {
    session,
    time,
    client: '',
    target: '',
    path: '',
    status: 101,
    request: empty,
    response: empty,
    protocol: null,
    extensions: null,
    deflate: null,
    acceptValid: true,
    sent: empty,
    answeredBy: 'server',
    failure: null,
    body: new Uint8Array(0),
    url: '',
    mode: 'reverse',
    tls: { client: null, server: null },
  };
}
