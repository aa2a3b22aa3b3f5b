/**
 * The terminal UI: a blessed screen fed from the proxy's bus. It changes traffic only through
 * ProxyControl (use() for intercept, SessionControl.send/close for inject, resend and close),
 * never through the relay's internals. Rendering is batched (at most `maxRenderRate` a second
 * for traffic; keys answer at once) and the terminal is restored on quit, destroy and crash.
 */
import { faultEngineFor } from '../fault/engine.js';
import blessed from 'blessed';
import { INTERCEPTOR_ORDER, type ProxyControl } from '../proxy/control.js';
import { otherSide } from '../proxy/events.js';
import { formatBytes } from '../output/format.js';
import { feedStore } from './bus-feed.js';
import type { PayloadView } from './detail.js';
import type { Filter } from './filter.js';
import { editorKey } from './intercept-actions.js';
import { InterceptQueue, type HeldEntry } from './intercept-queue.js';
import { canonicalKey, resolveAction, type KeyContext, type KeyEvent } from './keymap.js';
import { renderLine, seg } from './line.js';
import { mainAction, type MainContext } from './main-actions.js';
import { MAIN, type Mode, type PromptPurpose, type SessionTarget } from './modes.js';
import { renderOverlay } from './overlay.js';
import { clampScroll, detailLines } from './panes/detail.js';
import { frameLogLines } from './panes/frame-log.js';
import { heldLines } from './panes/held.js';
import { sessionsLines } from './panes/sessions.js';
import { hintLine, messageLine, promptLine, statusLine, type MessageLevel } from './panes/status-bar.js';
import { promptKey } from './prompts.js';
import { RenderScheduler } from './render-scheduler.js';
import { createPanes, createScreen, teardownScreen, type Panes } from './screen.js';
import { TuiStore, rowSession, type Row } from './store.js';
import { installCrashRestore } from './terminal.js';
import { injectKey } from './traffic-actions.js';
import { ViewState, type Focus } from './view-state.js';

export interface TuiOptions {
  /** Rows kept in the log ring (--history). */
  readonly history: number;
  /** Payload bytes kept per row (--max-preview). */
  readonly maxPreview: number;
  /** Frame payload bytes kept across the ring (--ui-memory); older payloads are cut. */
  readonly maxPayloadBytes?: number;
  readonly input?: NodeJS.ReadableStream;
  readonly output?: NodeJS.WritableStream;
  /** What the status bar says about --script (loaded, reloaded, failed…). */
  readonly scriptState?: () => string;
  /** Terminal type for blessed; defaults from $TERM (see terminal.ts). */
  readonly terminal?: string;
  /** Renders per second at most while traffic flows (keys always answer at once). Default 20. */
  readonly maxRenderRate?: number;
  /** Quit on SIGTERM / SIGHUP by itself (when nothing else handles them). Default false. */
  readonly handleSignals?: boolean;
  /** Directory `w` writes into when given a relative name. Default: the working directory. */
  readonly cwd?: string;
  readonly now?: () => number;
}

export interface TuiHandle {
  /** Resolves once the user quit and the proxy was closed (or after destroy()). */
  readonly closed: Promise<void>;
  /** Tears the UI down and restores the terminal; forwards anything still held. Idempotent. */
  destroy(): void;
}

export class TuiApp implements MainContext {
  readonly store: TuiStore;
  readonly queue: InterceptQueue;
  readonly screen: blessed.Widgets.Screen;
  readonly proxy: ProxyControl;
  readonly #options: TuiOptions;
  readonly #now: () => number;
  readonly #scheduler: RenderScheduler;
  readonly #panes: Panes;
  readonly #view: ViewState;
  payloadView: PayloadView = 'auto';
  mode: Mode = MAIN;
  #message: { text: string; level: MessageLevel; until: number } | null = null;
  readonly history: { [P in PromptPurpose]: string[] } = { filter: [], intercept: [], write: [], fault: [], har: [] };

  #tick: NodeJS.Timeout | null = null;
  #unsubscribe: () => void = () => {};
  #removeInterceptor: () => void = () => {};
  #removeCrashRestore: () => void = () => {};
  #removeSignals: () => void = () => {};
  #destroyed = false;
  #quitting = false;
  #resolveClosed!: () => void;
  readonly closed: Promise<void>;
  /** Renders so far (tests use it to see that traffic is batched). */
  renders = 0;
  readonly cwd: string;

  constructor(proxy: ProxyControl, options: TuiOptions) {
    this.proxy = proxy;
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.cwd = options.cwd ?? process.cwd();
    this.#scheduler = new RenderScheduler(this.#now, options.maxRenderRate, () => this.renderNow());
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    this.store = new TuiStore({ history: options.history, maxPreview: options.maxPreview, ...(options.maxPayloadBytes === undefined ? {} : { maxPayloadBytes: options.maxPayloadBytes }) });
    this.queue = new InterceptQueue({
      now: this.#now,
      onChange: () => this.scheduleRender(),
      onStreamed: (meta, length) => this.say(`#${meta.session} ${meta.from} ${meta.kind} message of ${formatBytes(length)} is over --max-message: relayed without holding`, 'warn'),
    });
    this.screen = createScreen(options);
    this.#removeCrashRestore = installCrashRestore(() => teardownScreen(this.screen));
    this.#panes = createPanes(this.screen);
    this.#view = new ViewState(this.store, this.queue, this.screen.width as number, this.screen.height as number);
  }

  start(): TuiHandle {
    this.#unsubscribe = feedStore(this.proxy.bus, this.store, this.#now, () => this.scheduleRender());
    this.#removeInterceptor = this.proxy.use(this.queue, INTERCEPTOR_ORDER.intercept);
    this.screen.on('keypress', (ch: string | undefined, key: KeyEvent | undefined) => this.#onKeypress(ch, key ?? {}));
    this.screen.on('mouse', (data: MouseData) => this.#onMouse(data));
    this.screen.on('resize', () => this.renderNow());
    this.#tick = setInterval(() => this.scheduleRender(), 1000);
    this.#tick.unref();
    if (this.#options.handleSignals === true) {
      const onSignal = (): void => void this.quit();
      process.on('SIGTERM', onSignal);
      process.on('SIGHUP', onSignal);
      this.#removeSignals = () => {
        process.off('SIGTERM', onSignal);
        process.off('SIGHUP', onSignal);
      };
    }
    this.renderNow();
    return { closed: this.closed, destroy: () => this.destroy() };
  }

  // ---- rendering ---------------------------------------------------------------------------

  /** Asks for a render within the rate bound; traffic calls this, many times per render. */
  scheduleRender(): void {
    if (this.#destroyed) return;
    this.#scheduler.schedule();
  }

  renderNow(): void {
    if (this.#destroyed) return;
    this.#scheduler.run(() => this.#draw());
  }

  #draw(): void {
    this.renders++;
    const view = this.#view;
    view.relayout(this.screen.width as number, this.screen.height as number);
    const layout = view.layout;
    const p = this.#panes;
    p.sessions.place(layout.sessions);
    p.frames.place(layout.frames);
    p.held.place(layout.held);
    p.detail.place(layout.detail);
    p.status.place(layout.status);
    p.prompt.place(layout.prompt);
    const focus = view.focus;
    p.sessions.setLines(sessionsLines(view.sessionList(), view.sessionsCursor, layout.sessions.width, layout.sessions.height, focus === 'sessions', this.store.openSessions()));
    const fr = layout.frames;
    p.frames.setLines(frameLogLines(this.store, view.framesCursor, fr.width, fr.height, focus === 'frames', { newRows: view.newRows() }));
    if (layout.held !== null) {
      p.held.setLines(heldLines(this.queue.held, view.heldCursor, layout.held.width, layout.held.height, focus === 'held', this.#now()));
    }
    if (layout.detail !== null) {
      const detail = view.detailView(layout.detail.width - 2, this.payloadView, this.#now);
      view.detail.scroll = clampScroll(view.detail.scroll, detail.lines.length, layout.detail.height);
      p.detail.setLines(detailLines(detail, view.detail.scroll, layout.detail.width, layout.detail.height, focus === 'detail', this.payloadView));
    }
    p.status.setLines([statusLine(this.#statusState(), layout.status.width)]);
    p.prompt.setLines([this.#promptLine(layout.prompt.width)]);
    renderOverlay(p.overlay, this.mode, this.screen.width as number, this.screen.height as number);
    this.screen.render();
  }

  #statusState(): Parameters<typeof statusLine>[0] {
    const rates = this.store.rates(this.#now());
    return {
      listening: this.proxy.listening,
      target: this.proxy.target,
      open: this.store.openSessions(),
      framesPerSec: rates.frames,
      bytesPerSec: rates.bytes,
      filter: this.store.filter.source,
      intercept: { enabled: this.queue.enabled, filter: this.queue.filter.source, held: this.queue.size },
      following: this.#view.framesCursor.follow,
      newRows: this.#view.newRows(),
      script: this.#options.scriptState?.() ?? null,
      faults: { rules: faultEngineFor(this.proxy).rules().filter((r) => r.enabled).length, applied: this.store.faultsApplied },
    };
  }

  #promptLine(width: number): string {
    const mode = this.mode;
    if (mode.type === 'prompt') return promptLine(mode.label, mode.buffer, mode.error, width);
    if (mode.type === 'confirm') return renderLine([seg(mode.question, { fg: 'yellow', bold: true }), seg(' [y/n]', { bold: true })], width);
    const m = this.#message;
    if (m !== null && m.until > this.#now()) return messageLine(m.text, m.level, width);
    this.#message = null;
    return hintLine(width);
  }

  say(text: string, level: MessageLevel = 'info'): void {
    this.#message = { text, level, until: this.#now() + (level === 'info' ? 4000 : 8000) };
    this.scheduleRender();
  }

  // ---- input -------------------------------------------------------------------------------

  #onKeypress(ch: string | undefined, key: KeyEvent): void {
    if (this.#destroyed || this.#quitting) return;
    // blessed reports Enter twice ("return", then "enter"); and a bare \n as "linefeed".
    if (key.name === 'return') return;
    const name = key.name === 'linefeed' ? 'enter' : canonicalKey(ch, key);
    if (name === '') return;
    try {
      this.handleKey(name, ch);
    } catch (error) {
      this.say(`error: ${(error as Error).message}`, 'error');
    }
    this.renderNow();
  }

  /** One key, by canonical name (keymap.ts). Public for tests that skip the terminal. */
  handleKey(name: string, ch?: string): void {
    const mode = this.mode;
    switch (mode.type) {
      case 'help':
        return this.#helpKey(mode, name);
      case 'confirm': {
        const action = resolveAction(['confirm'], name);
        if (action === 'yes') {
          this.mode = MAIN;
          mode.onYes();
        } else if (action === 'no') {
          this.mode = MAIN;
          this.say('cancelled');
        }
        return;
      }
      case 'prompt':
        return promptKey(this, mode, name, ch);
      case 'editor':
        return editorKey(this, mode, name, ch);
      case 'inject':
        return injectKey(this, mode.form, name, ch);
      case 'main': {
        const contexts: KeyContext[] = [this.#view.focus, 'list', 'global'];
        const action = resolveAction(contexts, name);
        if (action !== null) mainAction(this, this.#view, action);
        return;
      }
    }
  }

  #helpKey(mode: Extract<Mode, { type: 'help' }>, name: string): void {
    if (resolveAction(['help'], name) === 'cancel') {
      this.mode = MAIN;
      return;
    }
    const page = Math.max(1, (this.screen.height as number) - 8);
    const delta: { [k: string]: number } = { up: -1, k: -1, down: 1, j: 1, pageup: -page, pagedown: page, space: page, g: -1e6, G: 1e6, home: -1e6, end: 1e6 };
    if (delta[name] !== undefined) mode.scroll = Math.max(0, mode.scroll + delta[name]!);
  }

  // ---- what the mode handlers use (AppContext) ---------------------------------------------

  now(): number {
    return this.#now();
  }

  lastMessage(): string | null {
    return this.#message?.text ?? null;
  }

  get editorPage(): number {
    return Math.max(1, (this.#panes.overlay.inner.height || 10) - 3);
  }

  /** Filters the log, keeping the selected row selected when it still shows. */
  setFilter(filter: Filter): void {
    this.#view.setFilter(filter);
  }

  selectedRow(): Row | undefined {
    return this.#view.selectedRow();
  }

  /** The held message keys act on: the one selected in the held list, else the oldest. */
  targetHeld(): HeldEntry | undefined {
    if (this.#view.source === 'held') return this.#view.selectedHeld() ?? this.queue.held[0];
    return this.queue.held[0];
  }

  /** The session the user is pointing at: selected session, held message or log row. */
  targetSession(): SessionTarget | null {
    const source = this.#view.source;
    if (source === 'sessions') {
      const s = this.#view.selectedSession();
      return s === undefined ? null : { id: s.id, hint: null };
    }
    if (source === 'held') {
      const h = this.#view.selectedHeld();
      return h === undefined ? null : { id: h.message.session, hint: otherSide(h.message.from) };
    }
    const row = this.#view.selectedRow();
    if (row !== undefined) {
      const id = rowSession(row);
      const from = row.type === 'frame' || row.type === 'message' ? row.record.from : null;
      if (id !== null) return { id, hint: from === null ? null : otherSide(from) };
    }
    const open = this.proxy.sessions().filter((s) => s.state === 'open');
    return open.length === 1 ? { id: open[0]!.info.session, hint: null } : null;
  }

  // ---- mouse -----------------------------------------------------------------------------------

  #onMouse(data: MouseData): void {
    if (this.#destroyed) return;
    const { x, y, action } = data;
    if (this.mode.type === 'help') {
      if (action === 'wheelup' || action === 'wheeldown') this.mode.scroll = Math.max(0, this.mode.scroll + (action === 'wheelup' ? -3 : 3));
      this.renderNow();
      return;
    }
    if (this.mode.type !== 'main') return;
    const p = this.#panes;
    const hit: Focus | null = p.sessions.contains(x, y) ? 'sessions' : p.frames.contains(x, y) ? 'frames' : p.held.contains(x, y) ? 'held' : p.detail.contains(x, y) ? 'detail' : null;
    if (hit === null) return;
    this.#view.syncCursors();
    if (action === 'wheelup' || action === 'wheeldown') this.#view.wheel(hit, action === 'wheelup');
    else if (action === 'mousedown') this.#view.click(hit, y);
    else return;
    this.renderNow();
  }

  // ---- quitting --------------------------------------------------------------------------------

  requestQuit(): void {
    const open = this.proxy.sessions().filter((s) => s.state !== 'closed').length;
    if (open === 0) {
      void this.quit();
      return;
    }
    this.mode = {
      type: 'confirm',
      question: `Quit? ${open} open session${open === 1 ? '' : 's'} will be closed with 1001 Going Away.`,
      onYes: () => void this.quit(),
    };
  }

  /** Forwards what is held, closes the proxy (sessions get 1001), restores the terminal. */
  async quit(): Promise<void> {
    if (this.#quitting || this.#destroyed) return this.closed;
    this.#quitting = true;
    this.queue.forwardAll();
    this.say('closing sessions…', 'warn');
    this.renderNow();
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([this.proxy.close(), new Promise<void>((resolve) => (timer = setTimeout(resolve, 3000)))]);
    } catch {
      // Closing is best effort; the terminal must come back regardless.
    } finally {
      clearTimeout(timer);
    }
    this.destroy();
    return this.closed;
  }

  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#scheduler.cancel();
    if (this.#tick !== null) clearInterval(this.#tick);
    this.#unsubscribe();
    this.#removeInterceptor();
    this.queue.forwardAll();
    this.#removeSignals();
    teardownScreen(this.screen);
    this.#removeCrashRestore();
    this.#resolveClosed();
  }
}

interface MouseData {
  readonly x: number;
  readonly y: number;
  readonly action: string;
}
