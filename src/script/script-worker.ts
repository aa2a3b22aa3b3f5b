/**
 * One worker thread running a script (src/script/worker.ts), seen from the proxy's thread: start
 * it, post to it, await its answers, read its heartbeat, stop it. Knows nothing of the proxy.
 */
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { threadEntry } from '../thread-entry.js';
import type { FailMode } from './script-interceptor.js';
import type { FromWorker, Loaded, ToWorker, WorkerStart } from './worker-protocol.js';

export interface ScriptWorkerOptions {
  readonly path: string;
  readonly cwd: string;
  readonly timeoutMs: number;
  readonly failMode: FailMode;
  readonly onMessage: (message: FromWorker) => void;
  /** The thread ended without being asked to (a crash). */
  readonly onExit: (reason: string) => void;
}

/** Frames posted for onFrame and not yet taken by the thread, at most. */
export const MAX_FRAMES_BEHIND = 1024;

export class ScriptWorker {
  readonly heartbeatMs: number;
  readonly #worker: Worker;
  readonly #beat: BigInt64Array;
  readonly #syncFlag: Int32Array;
  readonly #syncPort: MessagePort;
  readonly #replies = new Map<number, (message: FromWorker | null) => void>();
  #nextReq = 1;
  #framesPosted = 0;
  #stopped = false;
  #endReason: string | null = null;
  /** The runtime was started (after the first good load). */
  started = false;
  /** The thread has booted and answered a load. */
  booted = false;

  constructor(options: ScriptWorkerOptions) {
    // Often enough that a blocked thread is seen soon after --script-timeout, rarely enough to cost nothing.
    this.heartbeatMs = Math.max(10, Math.min(100, Math.floor(options.timeoutMs / 4)));
    // [0] the thread's last turn (ms), [1] the highest decision begun, [2] frames taken (onFrame).
    const heartbeat = new SharedArrayBuffer(24);
    this.#beat = new BigInt64Array(heartbeat);
    Atomics.store(this.#beat, 0, BigInt(Date.now()));
    const syncFlag = new SharedArrayBuffer(4);
    this.#syncFlag = new Int32Array(syncFlag);
    const { port1, port2 } = new MessageChannel();
    this.#syncPort = port1;
    const workerData: WorkerStart = {
      path: options.path,
      cwd: options.cwd,
      timeoutMs: options.timeoutMs,
      failMode: options.failMode,
      heartbeat,
      heartbeatMs: this.heartbeatMs,
      syncFlag,
      syncPort: port2,
    };
    this.#worker = new Worker(threadEntry(import.meta.url, 'worker'), { eval: true, workerData, transferList: [port2], name: 'wsproxy script' });
    // The proxy's life is the proxy's: a script never keeps the process running.
    this.#worker.unref();
    this.#worker.on('message', (message: FromWorker) => {
      if (message.t === 'loaded' || message.t === 'verdict' || message.t === 'stopped') {
        // An answer nobody waits for any more (a decision that timed out) is dropped.
        const reply = this.#replies.get(message.req);
        this.#replies.delete(message.req);
        reply?.(message);
        return;
      }
      options.onMessage(message);
    });
    // 'exit' follows an 'error': say what it was there.
    this.#worker.on('error', (error) => {
      if (!this.#stopped) this.#endReason = `the script's thread failed: ${error.message}`;
    });
    this.#worker.on('exit', (code) => {
      if (this.#stopped) return;
      this.#stopped = true;
      this.#endReason ??= `the script's thread exited (code ${code})`;
      this.#syncPort.close();
      this.#dropReplies();
      options.onExit(this.#endReason);
    });
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  /** Answers the question the thread is waiting on (see WorkerStart.syncFlag). */
  answer(value: unknown): void {
    if (this.#stopped) return;
    this.#syncPort.postMessage(value);
    Atomics.store(this.#syncFlag, 0, 1);
    Atomics.notify(this.#syncFlag, 0);
  }

  /** The highest decision request the thread has begun (it takes them in order). */
  begunUpTo(): number {
    return Number(Atomics.load(this.#beat, 1));
  }

  /** Milliseconds since the thread's event loop last turned. */
  idleFor(now = Date.now()): number {
    return now - Number(Atomics.load(this.#beat, 0));
  }

  /**
   * Whether a frame for onFrame may be posted: fewer than MAX_FRAMES_BEHIND wait for the thread.
   * A script slower than the traffic must not grow the thread's queue without end.
   */
  get takesFrames(): boolean {
    return !this.#stopped && this.#framesPosted - Number(Atomics.load(this.#beat, 2)) < MAX_FRAMES_BEHIND;
  }

  postFrame(message: Extract<ToWorker, { t: 'frame' }>): void {
    if (this.#stopped) return;
    this.#framesPosted++;
    this.#worker.postMessage(message);
  }

  post(message: ToWorker, transfer: ArrayBuffer[] = []): void {
    if (!this.#stopped) this.#worker.postMessage(message, transfer);
  }

  newRequest(): number {
    return this.#nextReq++;
  }

  /** Posts a request and resolves with its answer, or null when the thread stops first. */
  request(make: (req: number) => ToWorker, transfer: ArrayBuffer[] = []): Promise<FromWorker | null> {
    if (this.#stopped) return Promise.resolve(null);
    const req = this.newRequest();
    return new Promise((resolve) => {
      this.#replies.set(req, resolve);
      this.post(make(req), transfer);
    });
  }

  /** Awaits the answer to a request posted with post() (a decision). */
  reply(req: number): Promise<FromWorker | null> {
    if (this.#stopped) return Promise.resolve(null);
    return new Promise((resolve) => this.#replies.set(req, resolve));
  }

  forget(req: number): void {
    this.#replies.delete(req);
  }

  async load(): Promise<Loaded> {
    const answer = await this.request((req) => ({ t: 'load', req }));
    if (answer?.t !== 'loaded') return { ok: false, failure: { file: '', line: null, column: null, reason: this.#endReason ?? "the script's thread stopped while loading it" } };
    this.booted = true;
    return answer.result;
  }

  /** onUnload (waited for at most `graceMs`), then the thread ends, whatever it is doing. */
  async stop(graceMs: number): Promise<void> {
    if (this.#stopped) return;
    if (this.started) await Promise.race([this.request((req) => ({ t: 'stop', req })), delay(graceMs)]);
    this.terminate();
  }

  /** Ends the thread now (a hook that never returns included); `reason` fails a load in progress. */
  terminate(reason?: string): void {
    if (this.#stopped) return;
    this.#endReason = reason ?? null;
    this.#syncPort.close();
    this.#stopped = true;
    this.#dropReplies();
    void this.#worker.terminate().catch(() => undefined);
  }

  #dropReplies(): void {
    const waiting = [...this.#replies.values()];
    this.#replies.clear();
    for (const reply of waiting) reply(null);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
