/**
 * The script's thread. It loads the script and runs the same ScriptRuntime the proxy used to run
 * in-process, over a stand-in ProxyControl whose bus is fed by the main thread and whose sessions
 * send, close and log by message. Whatever a hook does here (a loop that never ends included),
 * the relay's thread goes on; the main thread watches the heartbeat written below.
 */
import { EventEmitter } from 'eventemitter3';
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import type { HeldMessage, MessageInterceptor, OutMessage, Verdict } from '../intercept/verdict.js';
import type { InjectRequest, ProxyControl, SessionControl, SessionState } from '../proxy/control.js';
import type { ProxyEvents, SessionInfo } from '../proxy/events.js';
import { describeScriptError, loadScript, ScriptLoadError, type LoadedScript } from './loader.js';
import { ScriptRuntime } from './script-interceptor.js';
import type { ScriptFault } from './define-script.js';
import { ownBytes, type FaultAnswer, type FromWorker, type Loaded, type ToWorker, type WorkerStart } from './worker-protocol.js';

const port = parentPort!;
const start = workerData as WorkerStart;

// The heartbeat: stops moving when a hook (or a timer, or a promise continuation) blocks this thread.
const beat = new BigInt64Array(start.heartbeat);
const tick = (): void => void Atomics.store(beat, 0, BigInt(Date.now()));
tick();
setInterval(tick, start.heartbeatMs);

function post(message: FromWorker, transfer: ArrayBuffer[] = []): void {
  port.postMessage(message, transfer);
}

/** How long a question to the proxy's thread may block this one (it answers within microseconds). */
const ASK_LIMIT_MS = 2000;
const syncFlag = new Int32Array(start.syncFlag);

/** Posts a question and blocks until the proxy's thread answers it. */
function ask(message: FromWorker): unknown {
  Atomics.store(syncFlag, 0, 0);
  post(message);
  Atomics.wait(syncFlag, 0, 0, ASK_LIMIT_MS);
  const answer = receiveMessageOnPort(start.syncPort);
  if (answer === undefined) throw new Error(`the proxy did not answer within ${ASK_LIMIT_MS} ms`);
  return answer.message;
}

/** ctx.fault: the fault engine is the proxy's, in the main thread. */
function fault(rule: unknown, session: number | null): ScriptFault {
  const answer = ask({ t: 'fault', rule, session }) as FaultAnswer;
  if (!answer.ok) throw new Error(answer.message);
  const id = answer.id;
  return {
    id,
    rule: answer.rule,
    enable: (on?: boolean) => post({ t: 'fault-op', id, op: 'enable', on }),
    remove: () => post({ t: 'fault-op', id, op: 'remove', on: undefined }),
  };
}

class RemoteSession implements SessionControl {
  info: SessionInfo;
  state: SessionState;
  constructor(info: SessionInfo, state: SessionState) {
    this.info = info;
    this.state = state;
  }
  send(request: InjectRequest): void {
    const data = typeof request.data === 'string' || request.data === undefined ? request.data : ownBytes(request.data);
    post({ t: 'send', session: this.info.session, request: data === undefined ? request : { ...request, data } }, data instanceof Uint8Array ? [data.buffer as ArrayBuffer] : []);
  }
  close(code?: number, reason?: string): void {
    post({ t: 'close-session', session: this.info.session, code, reason });
  }
}

const sessions = new Map<number, RemoteSession>();
const bus = new EventEmitter<ProxyEvents>();
bus.on('log', (record) => post({ t: 'log', record }));
let interceptor: MessageInterceptor | null = null;

const proxy: ProxyControl = {
  bus,
  listening: '',
  target: '',
  session: (id) => sessions.get(id),
  sessions: () => [...sessions.values()],
  use(added) {
    interceptor = added;
    return () => {
      if (interceptor === added) interceptor = null;
    };
  },
  close: async () => undefined,
};

let runtime: ScriptRuntime | null = null;
/** The version loaded but not started yet (the first one). */
let pending: LoadedScript | null = null;
/** Decisions in progress, for `abort`. */
const deciding = new Map<number, AbortController>();

function log(level: 'info' | 'warn' | 'error', text: string, session: number | null = null): void {
  bus.emit('log', { session, time: Date.now(), source: 'script', level, text });
}

// A rejected promise nobody awaits, or a throw from a bare setTimeout in the script: logged, and
// the script keeps running, as it did in the proxy's own thread.
process.on('unhandledRejection', (reason) => log('error', `unhandled promise rejection in the script: ${describeScriptError(reason)}`));
process.on('uncaughtException', (error) => log('error', `uncaught exception in the script: ${describeScriptError(error)}`));

async function load(): Promise<Loaded> {
  let loaded: LoadedScript;
  try {
    loaded = await loadScript(start.path, start.cwd);
  } catch (error) {
    const e = error instanceof ScriptLoadError ? error : new ScriptLoadError(start.path, null, null, String(error));
    return { ok: false, failure: { file: e.file, line: e.line, column: e.column, reason: e.reason } };
  }
  if (runtime === null) pending = loaded;
  else await runtime.swap(loaded.script);
  const s = loaded.script;
  return { ok: true, files: loaded.files, warnings: loaded.warnings, hooks: { onMessage: typeof s.onMessage === 'function', onFrame: typeof s.onFrame === 'function' } };
}

function stateOf(id: number, state: SessionState): void {
  const s = sessions.get(id);
  if (s !== undefined) s.state = state;
}

function toVerdict(verdict: Verdict): { verdict: Verdict; transfer: ArrayBuffer[] } {
  if (verdict.action !== 'replace') return { verdict: { action: verdict.action }, transfer: [] };
  const messages: OutMessage[] = verdict.messages.map((m) => ({ kind: m.kind, data: ownBytes(m.data) }));
  return { verdict: { action: 'replace', messages }, transfer: messages.map((m) => m.data.buffer as ArrayBuffer) };
}

async function decide(req: number, held: HeldMessage): Promise<void> {
  Atomics.store(beat, 1, BigInt(req));
  const controller = new AbortController();
  deciding.set(req, controller);
  let verdict: Verdict = { action: 'forward' };
  try {
    if (interceptor !== null) verdict = await interceptor.decide(held, controller.signal);
  } catch (error) {
    log('error', `the script's decision on message ${held.id} failed: ${describeScriptError(error)}`, held.session);
  } finally {
    deciding.delete(req);
  }
  const out = toVerdict(verdict);
  post({ t: 'verdict', req, verdict: out.verdict }, out.transfer);
}

function handle(m: ToWorker): void {
  switch (m.t) {
    case 'load':
      void load().then((result) => post({ t: 'loaded', req: m.req, result }));
      return;
    case 'start': {
      if (runtime !== null || pending === null) return;
      for (const s of m.sessions) sessions.set(s.info.session, new RemoteSession(s.info, s.state));
      runtime = new ScriptRuntime(proxy, pending.script, { timeoutMs: start.timeoutMs, failMode: start.failMode, describeError: describeScriptError, fault });
      pending = null;
      runtime.start();
      return;
    }
    case 'open':
      sessions.set(m.info.session, new RemoteSession(m.info, 'open'));
      bus.emit('session-open', m.info);
      return;
    case 'close':
      stateOf(m.record.session, 'closed');
      bus.emit('session-close', m.record);
      sessions.delete(m.record.session);
      return;
    case 'frame':
      // Taken off the queue (counted first, whatever the hook does): the proxy posts frames only
      // while fewer than MAX_FRAMES_BEHIND wait (script-worker.ts).
      Atomics.add(beat, 2, 1n);
      stateOf(m.record.session, m.state);
      bus.emit('frame', m.record);
      return;
    case 'decide':
      stateOf(m.held.session, m.state);
      void decide(m.req, m.held);
      return;
    case 'abort':
      deciding.get(m.req)?.abort();
      return;
    case 'streamed':
      interceptor?.streamed?.(m.meta, m.length);
      return;
    case 'stop':
      void (runtime?.close() ?? Promise.resolve()).finally(() => post({ t: 'stopped', req: m.req }));
      return;
  }
}

port.on('message', handle);
