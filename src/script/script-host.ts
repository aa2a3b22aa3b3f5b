/**
 * The script as the proxy sees it: a MessageInterceptor on the relay's thread whose hooks run in
 * a worker thread (ScriptWorker), so no hook can stop the relay, other sessions, new upgrades or
 * a signal. A watchdog reads the worker's heartbeat: when its thread has not turned for longer
 * than --script-timeout (a hook, timer or promise continuation that never yields), the waiting
 * messages go on as --script-fail says, the thread is ended and a new one is started with the
 * script file as it last loaded.
 */
import { DROP, FORWARD, type HeldMessage, type MessageInterceptor, type MessageMeta, type Verdict } from '../intercept/verdict.js';
import { INTERCEPTOR_ORDER, type ProxyControl } from '../proxy/control.js';
import { subscribe, type FrameRecord, type LogRecord, type SessionInfo } from '../proxy/events.js';
import type { LogLevel } from './context.js';
import { ScriptLoadError } from './loader.js';
import { SCRIPT_SOURCE, type FailMode } from './script-interceptor.js';
import { MAX_FRAMES_BEHIND, ScriptWorker } from './script-worker.js';
import { faultEngineFor } from '../fault/engine.js';
import { ownBytes, type FaultAnswer, type FromWorker, type HookSet, type Loaded, type SessionEntry } from './worker-protocol.js';

/** The note of frames onFrame missed comes at most this often. */
const MISSED_NOTE_MS = 1000;

export interface ScriptHostOptions {
  readonly path: string;
  readonly cwd: string;
  readonly timeoutMs: number;
  readonly failMode: FailMode;
  /** --max-message: a replacement or injected message larger than this is refused. */
  readonly maxMessage: number;
}

/** How long the first load (thread start, TypeScript compile, the module's own code) may take. */
const LOAD_LIMIT_MS = 10_000;
/** How long stopping waits for onUnload before the thread is ended anyway. */
const STOP_GRACE_MS = 500;
const NO_HOOKS: HookSet = { onMessage: false, onFrame: false };

/** A decision asked of the script, not answered yet. */
interface Waiting {
  readonly held: HeldMessage;
  readonly signal: AbortSignal;
  readonly resolve: (verdict: Verdict) => void;
  readonly onAbort: () => void;
  /** Its request number in the current thread (0 while queued). */
  req: number;
}

function arrowOf(from: 'client' | 'server'): string {
  return from === 'client' ? 'client→server' : 'server→client';
}

function isDataKind(kind: MessageMeta['kind']): boolean {
  return kind === 'text' || kind === 'binary';
}

function compactInfo(info: SessionInfo): SessionInfo {
  return { ...info, request: { ...info.request, raw: ownBytes(info.request.raw) }, response: { ...info.response, raw: ownBytes(info.response.raw) } };
}

function compactFrame(record: FrameRecord): FrameRecord {
  return { ...record, header: ownBytes(record.header), payload: ownBytes(record.payload), maskKey: record.maskKey === null ? null : ownBytes(record.maskKey) };
}

export class ScriptHost {
  readonly interceptor: MessageInterceptor;
  readonly #options: ScriptHostOptions;
  #worker: ScriptWorker | null = null;
  #hooks: HookSet = NO_HOOKS;
  #proxy: ProxyControl | null = null;
  #detach: (() => void)[] = [];
  #watchdog: NodeJS.Timeout | null = null;
  readonly #waiting = new Map<number, Waiting>();
  /** Decisions held while the thread is being replaced, posted to the new one when it runs. */
  #queued: Waiting[] = [];
  #restarting = false;
  #restarts = 0;
  #closed = false;
  /** Frames not given to onFrame because the script was MAX_FRAMES_BEHIND behind, since the last note; the note's timer; when the last was said. */
  #framesMissed = 0;
  #missedNote: NodeJS.Timeout | null = null;
  #missedNoted = 0;
  /** Log records from before the proxy was there (warnings of the first load). */
  #early: LogRecord[] = [];

  constructor(options: ScriptHostOptions) {
    this.#options = options;
    this.interceptor = {
      name: SCRIPT_SOURCE,
      wants: (meta) => !this.#closed && (isDataKind(meta.kind) ? this.#hooks.onMessage : this.#hooks.onFrame),
      decide: (held, signal) => this.#decide(held, signal),
      streamed: (meta, length) => this.#post({ t: 'streamed', meta, length }),
    };
  }

  /** Times the thread was replaced because the script blocked it or it crashed. */
  get restarts(): number {
    return this.#restarts;
  }

  /** Starts the thread and loads the script in it. Throws ScriptLoadError. */
  async load(): Promise<Loaded & { ok: true }> {
    const result = await this.#spawn();
    if (!result.ok) {
      this.#worker?.terminate();
      this.#worker = null;
      if (this.#watchdog !== null) clearInterval(this.#watchdog);
      this.#watchdog = null;
      throw toLoadError(result.failure, this.#options.path);
    }
    return result;
  }

  /** Loads the script file again in the running thread (hot reload); its sessions keep their state. */
  async reload(): Promise<Loaded> {
    const worker = this.#worker;
    if (worker === null || worker.stopped) return this.#spawnAndStart();
    const result = await worker.load();
    if (result.ok && !this.#closed && worker === this.#worker) {
      this.#hooks = result.hooks;
      if (!worker.started) this.#startIn(worker);
    }
    return result;
  }

  /** Joins the proxy: bus events go to the script, messages to its hooks. */
  start(proxy: ProxyControl): void {
    if (this.#proxy !== null) throw new Error('this script is already started');
    this.#proxy = proxy;
    for (const record of this.#early) proxy.bus.emit('log', record);
    this.#early = [];
    this.#detach.push(
      subscribe(proxy.bus, {
        'session-open': (info) => this.#post({ t: 'open', info: compactInfo(info) }),
        'session-close': (record) => this.#post({ t: 'close', record }),
        frame: (record) => {
          if (!this.#hooks.onFrame || record.origin !== 'peer') return;
          const worker = this.#worker;
          if (worker?.started !== true) return;
          // Control frames always go: onFrame decides them, with this record.
          const control = record.kind === 'ping' || record.kind === 'pong' || record.kind === 'close';
          if (!control && !worker.takesFrames) {
            this.#missed();
            return;
          }
          worker.postFrame({ t: 'frame', record: compactFrame(record), state: proxy.session(record.session)?.state ?? 'closed' });
        },
      }),
      proxy.use(this.interceptor, INTERCEPTOR_ORDER.script),
    );
    if (this.#worker !== null) this.#startIn(this.#worker);
  }

  #watch(): void {
    if (this.#watchdog !== null || this.#closed) return;
    const every = Math.max(10, Math.min(100, Math.floor(this.#options.timeoutMs / 4)));
    this.#watchdog = setInterval(() => this.#check(), every);
    this.#watchdog.unref();
  }

  /** Leaves the proxy; onUnload gets a moment, then the thread ends whatever it is doing. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#noteMissed();
    if (this.#watchdog !== null) clearInterval(this.#watchdog);
    for (const detach of this.#detach) detach();
    this.#detach = [];
    for (const w of [...this.#waiting.values(), ...this.#queued]) this.#finish(w, this.#failVerdict());
    const worker = this.#worker;
    this.#worker = null;
    await worker?.stop(STOP_GRACE_MS);
  }

  /** A frame not given to onFrame: counted, and said within a second, in one note a second at most. */
  #missed(): void {
    this.#framesMissed++;
    if (this.#missedNote !== null) return;
    this.#missedNote = setTimeout(() => this.#noteMissed(), Math.max(0, MISSED_NOTE_MS - (Date.now() - this.#missedNoted)));
    this.#missedNote.unref();
  }

  #noteMissed(): void {
    if (this.#missedNote !== null) clearTimeout(this.#missedNote);
    this.#missedNote = null;
    if (this.#framesMissed === 0) return;
    this.log(null, 'warn', `onFrame missed ${this.#framesMissed} frame(s): the script was ${MAX_FRAMES_BEHIND} frames behind the traffic`);
    this.#framesMissed = 0;
    this.#missedNoted = Date.now();
  }

  log(session: number | null, level: LogLevel, text: string): void {
    const record: LogRecord = { session, time: Date.now(), source: SCRIPT_SOURCE, level, text };
    if (this.#proxy === null) this.#early.push(record);
    else this.#proxy.bus.emit('log', record);
  }

  #name(): string {
    return this.#options.path.split(/[\\/]/).pop() ?? this.#options.path;
  }

  #failVerdict(): Verdict {
    return this.#options.failMode === 'closed' ? DROP : FORWARD;
  }

  #failText(): string {
    return this.#options.failMode === 'closed' ? 'dropped (--script-fail closed)' : 'forwarded unchanged';
  }

  #post(message: Parameters<ScriptWorker['post']>[0]): void {
    if (this.#worker?.started === true) this.#worker.post(message);
  }

  async #spawn(): Promise<Loaded> {
    const worker = new ScriptWorker({
      path: this.#options.path,
      cwd: this.#options.cwd,
      timeoutMs: this.#options.timeoutMs,
      failMode: this.#options.failMode,
      onMessage: (message) => this.#fromWorker(worker, message),
      onExit: (reason) => {
        // A thread that dies while loading fails that load; one that dies running is replaced.
        if (worker === this.#worker && worker.started && !this.#closed) this.#replace(reason);
      },
    });
    this.#worker = worker;
    this.#watch();
    const result = await worker.load();
    // Closed while it loaded (a restart when the proxy stops): the thread is not wanted.
    if (this.#closed) worker.terminate();
    else if (result.ok && worker === this.#worker) this.#hooks = result.hooks;
    return result;
  }

  async #spawnAndStart(): Promise<Loaded> {
    const result = await this.#spawn();
    const worker = this.#worker;
    if (result.ok && worker !== null && this.#proxy !== null && !this.#closed) this.#startIn(worker);
    return result;
  }

  #startIn(worker: ScriptWorker): void {
    const proxy = this.#proxy;
    if (proxy === null || worker.started) return;
    worker.started = true;
    const sessions: SessionEntry[] = proxy
      .sessions()
      .filter((s) => s.state !== 'closed')
      .map((s) => ({ info: compactInfo(s.info), state: s.state }));
    worker.post({ t: 'start', sessions });
  }

  #fromWorker(worker: ScriptWorker, message: FromWorker): void {
    if (worker !== this.#worker) return;
    const proxy = this.#proxy;
    switch (message.t) {
      case 'log':
        if (proxy === null) this.#early.push(message.record);
        else proxy.bus.emit('log', message.record);
        return;
      case 'send': {
        const control = proxy?.session(message.session);
        if (control === undefined || control.state === 'closed') return this.log(message.session, 'warn', `ctx.send after session ${message.session} closed: nothing sent`);
        const data = message.request.data;
        const size = data === undefined ? 0 : typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
        if (size > this.#options.maxMessage) {
          return this.log(message.session, 'error', `ctx.send of a ${size}-byte ${message.request.kind} message refused: larger than --max-message (${this.#options.maxMessage} bytes); nothing sent`);
        }
        try {
          control.send(message.request);
        } catch (error) {
          this.log(message.session, 'error', `ctx.send failed, nothing sent: ${(error as Error).message}`);
        }
        return;
      }
      case 'close-session': {
        const control = proxy?.session(message.session);
        if (control === undefined || control.state === 'closed') return;
        try {
          control.close(message.code, message.reason);
        } catch (error) {
          this.log(message.session, 'error', `ctx.close failed: ${(error as Error).message}`);
        }
        return;
      }
      case 'fault': {
        let answer: FaultAnswer;
        try {
          if (proxy === null) throw new Error('ctx.fault: the proxy is not running');
          const active = faultEngineFor(proxy).addJson(message.rule, 'script', 'ctx.fault', message.session);
          answer = { ok: true, id: active.id, rule: active.rule.text };
        } catch (error) {
          answer = { ok: false, message: error instanceof Error ? error.message : String(error) };
        }
        worker.answer(answer);
        return;
      }
      case 'fault-op': {
        if (proxy === null) return;
        const engine = faultEngineFor(proxy);
        if (message.op === 'remove') engine.remove(message.id);
        else engine.setEnabled(message.id, message.on);
        return;
      }
      default:
        return;
    }
  }

  #decide(held: HeldMessage, signal: AbortSignal): Promise<Verdict> | Verdict {
    if (signal.aborted) return FORWARD;
    return new Promise<Verdict>((resolve) => {
      const w: Waiting = { held, signal, resolve, onAbort: () => this.#abandon(w), req: 0 };
      signal.addEventListener('abort', w.onAbort, { once: true });
      this.#dispatch(w);
    });
  }

  /** Posts a decision to the running thread, or queues it while the thread is being replaced. */
  #dispatch(w: Waiting): void {
    const worker = this.#worker;
    if (this.#restarting) {
      w.req = 0;
      this.#queued.push(w);
      return;
    }
    if (worker === null || !worker.started) return this.#finish(w, this.#failVerdict());
    w.req = worker.newRequest();
    this.#waiting.set(w.req, w);
    const data = ownBytes(w.held.data);
    const state = this.#proxy?.session(w.held.session)?.state ?? 'closed';
    worker.post({ t: 'decide', req: w.req, held: { ...w.held, data }, state }, [data.buffer as ArrayBuffer]);
    void worker.reply(w.req).then((message) => {
      // null: the thread was replaced, which re-posts or settles this decision itself.
      if (message === null || this.#waiting.get(w.req) !== w) return;
      this.#finish(w, message.t === 'verdict' ? this.#checked(w.held, message.verdict) : this.#failVerdict());
    });
  }

  /** The relay gave up on the message (its session ended). */
  #abandon(w: Waiting): void {
    if (w.req !== 0 && this.#waiting.get(w.req) === w) this.#worker?.post({ t: 'abort', req: w.req });
    this.#finish(w, FORWARD);
  }

  #finish(w: Waiting, verdict: Verdict): void {
    if (w.req !== 0 && this.#waiting.get(w.req) === w) {
      this.#waiting.delete(w.req);
      this.#worker?.forget(w.req);
    }
    const queued = this.#queued.indexOf(w);
    if (queued !== -1) this.#queued.splice(queued, 1);
    w.signal.removeEventListener('abort', w.onAbort);
    w.resolve(verdict);
  }

  /** A replacement over --max-message is refused: the relay holds no more than that per message. */
  #checked(held: HeldMessage, verdict: Verdict): Verdict {
    if (verdict.action === 'forward') return FORWARD;
    if (verdict.action === 'drop') return DROP;
    const max = this.#options.maxMessage;
    const big = verdict.messages.find((m) => m.data.byteLength > max);
    if (big === undefined) return verdict;
    const hook = isDataKind(held.kind) ? 'onMessage' : 'onFrame';
    this.log(
      held.session,
      'error',
      `${hook} on message ${held.id} ${arrowOf(held.from)} returned a ${big.data.byteLength}-byte ${big.kind} message, larger than --max-message (${max} bytes): replacement refused; ${this.#failText()}`,
    );
    return this.#failVerdict();
  }

  #check(): void {
    const worker = this.#worker;
    if (worker === null || worker.stopped || this.#closed) return;
    const idle = worker.idleFor();
    if (!worker.booted) {
      // Starting the thread and compiling the script: its own code runs, once, with a wider limit.
      if (idle > LOAD_LIMIT_MS) worker.terminate(`the script did not finish loading within ${LOAD_LIMIT_MS / 1000} s (does its top-level code loop?)`);
      return;
    }
    if (idle > this.#options.timeoutMs + worker.heartbeatMs) this.#replace(`the script kept its thread busy for ${idle} ms, longer than --script-timeout (${this.#options.timeoutMs} ms)`);
  }

  /**
   * Ends the thread and starts a new one with the script as it last loaded. Decisions the thread
   * had begun go on as --script-fail says; the ones queued behind the blocked hook (other
   * sessions' messages) are decided by the new thread.
   */
  #replace(reason: string): void {
    const old = this.#worker;
    if (old === null || this.#closed || this.#restarting) return;
    this.#restarting = true;
    this.#restarts++;
    old.terminate();
    // The thread takes decisions in the order they were posted: those it had begun (the blocked
    // one among them) are lost with it; those it never reached are posted again.
    const begun = old.begunUpTo();
    const waiting = [...this.#waiting.values()];
    this.#waiting.clear();
    const expired = waiting.filter((w) => w.req <= begun);
    for (const w of waiting) {
      w.req = 0;
      if (expired.includes(w)) this.#finish(w, this.#failVerdict());
      else this.#queued.push(w);
    }
    const what = expired.length === 0 ? '' : `; ${expired.map((w) => `message ${w.held.id} ${arrowOf(w.held.from)} (session ${w.held.session})`).join(', ')} ${this.#failText()}`;
    this.log(null, 'error', `${reason}: its thread was stopped and a new one started with ${this.#name()} as it last loaded (sessions' ctx.state starts anew, onOpen is not called again)${what}`);
    void this.#spawnAndStart().then((result) => {
      this.#restarting = false;
      const queued = this.#queued;
      this.#queued = [];
      if (this.#closed) return;
      if (result.ok) {
        this.log(null, 'info', `script ${this.#name()} restarted`);
        for (const w of queued) this.#dispatch(w);
        return;
      }
      this.#hooks = NO_HOOKS;
      for (const w of queued) this.#finish(w, this.#failVerdict());
      this.log(null, 'error', `script ${this.#name()} could not be restarted, messages now pass without it until the file is fixed: ${toLoadError(result.failure, this.#options.path).message}`);
    });
  }
}

export function toLoadError(failure: { file: string; line: number | null; column: number | null; reason: string }, path: string): ScriptLoadError {
  return new ScriptLoadError(failure.file === '' ? path : failure.file, failure.line, failure.column, failure.reason);
}
