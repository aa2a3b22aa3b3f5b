/**
 * The terminal UI: a blessed screen fed from the proxy's bus. It changes traffic only through
 * ProxyControl (use() for intercept, SessionControl.send/close for inject, resend and close),
 * never through the relay's internals. Rendering is batched (at most `maxRenderRate` a second
 * for traffic; keys answer at once) and the terminal is restored on quit, destroy and crash.
 */
import blessed from 'blessed';
import { INTERCEPTOR_ORDER, type ProxyControl } from '../proxy/control.js';
import { otherSide, subscribe } from '../proxy/events.js';
import { formatBytes } from '../output/format.js';
import { heldDetail, rowDetail, sessionDetail, wrapAll, type PayloadView } from './detail.js';
import type { Filter } from './filter.js';
import { editorKey, forwardAll, heldAction, toggleIntercept } from './intercept-actions.js';
import { InterceptQueue, type HeldEntry } from './intercept-queue.js';
import { canonicalKey, resolveAction, type Action, type KeyContext, type KeyEvent } from './keymap.js';
import { computeLayout, detailOpenByDefault, type Layout, type Rect } from './layout.js';
import { renderLine, seg } from './line.js';
import { ListCursor } from './list-cursor.js';
import { MAIN, type AppContext, type Mode, type PromptPurpose, type SessionTarget } from './modes.js';
import { clampScroll, detailLines, type DetailView } from './panes/detail.js';
import { editorLines, editorTitle } from './panes/editor.js';
import { frameLogLines } from './panes/frame-log.js';
import { heldLines } from './panes/held.js';
import { helpContent } from './panes/help.js';
import { injectFormLines } from './panes/inject-form.js';
import { Pane } from './panes/pane.js';
import { sessionsLines } from './panes/sessions.js';
import { hintLine, messageLine, promptLine, statusLine, type MessageLevel } from './panes/status-bar.js';
import { applyFilterText, openPrompt, promptKey } from './prompts.js';
import { TuiStore, rowSession, type Row, type SessionEntry } from './store.js';
import { chooseTerminal, installCrashRestore } from './terminal.js';
import { closeSession, injectKey, openInject, resend } from './traffic-actions.js';

export interface TuiOptions {
  /** Rows kept in the log ring (--history). */
  readonly history: number;
  /** Payload bytes kept per row (--max-preview). */
  readonly maxPreview: number;
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

type Focus = 'sessions' | 'frames' | 'held' | 'detail';
type ListFocus = Exclude<Focus, 'detail'>;

export class TuiApp implements AppContext {
  readonly store: TuiStore;
  readonly queue: InterceptQueue;
  readonly screen: blessed.Widgets.Screen;
  readonly proxy: ProxyControl;
  readonly #options: TuiOptions;
  readonly #now: () => number;
  /** Least time between traffic-driven renders (from maxRenderRate). */
  readonly #minInterval: number;
  /** Current time between renders: grows when renders are slow, so drawing stays a small share of the CPU. */
  #interval: number;

  readonly #panes: {
    readonly sessions: Pane;
    readonly frames: Pane;
    readonly held: Pane;
    readonly detail: Pane;
    readonly status: Pane;
    readonly prompt: Pane;
    readonly overlay: Pane;
  };
  readonly sessionsCursor = new ListCursor(true);
  readonly framesCursor = new ListCursor(true);
  readonly heldCursor = new ListCursor(false);
  #layout: Layout;
  focus: Focus = 'frames';
  #detailSource: ListFocus = 'frames';
  detailOpen: boolean;
  #detailScroll = 0;
  #detailIdentity = '';
  #detailCache: { key: string; view: DetailView } | null = null;
  payloadView: PayloadView = 'auto';
  mode: Mode = MAIN;
  #message: { text: string; level: MessageLevel; until: number } | null = null;
  readonly history: { [P in PromptPurpose]: string[] } = { filter: [], intercept: [], write: [] };
  #sessionsCache: { version: number; list: SessionEntry[] } = { version: -1, list: [] };

  #renderTimer: NodeJS.Timeout | null = null;
  #lastRender = 0;
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
    this.#minInterval = 1000 / Math.max(1, options.maxRenderRate ?? 20);
    this.#interval = this.#minInterval;
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    this.store = new TuiStore({ history: options.history, maxPreview: options.maxPreview });
    this.queue = new InterceptQueue({
      now: this.#now,
      onChange: () => this.scheduleRender(),
      onStreamed: (meta, length) => this.say(`#${meta.session} ${meta.from} ${meta.kind} message of ${formatBytes(length)} is over --max-message: relayed without holding`, 'warn'),
    });
    const output = options.output ?? process.stdout;
    this.screen = blessed.screen({
      input: options.input ?? process.stdin,
      output,
      terminal: options.terminal ?? chooseTerminal(process.env['TERM']),
      fullUnicode: true,
      forceUnicode: true,
      autoPadding: false,
      warnings: false,
      resizeTimeout: 30,
      title: 'wsproxy',
    } as unknown as blessed.Widgets.IScreenOptions);
    // Draw line characters as UTF-8 rather than through the VT100 alternate character set, which
    // tmux and others show as letters ("x" for "│") in some set-ups.
    (this.screen as unknown as { tput: { brokenACS: boolean } }).tput.brokenACS = true;
    this.#removeCrashRestore = installCrashRestore(() => this.#teardownScreen());
    const pane = (border = false): Pane => new Pane(this.screen, { border });
    this.#panes = { sessions: pane(), frames: pane(), held: pane(), detail: pane(), status: pane(), prompt: pane(), overlay: pane(true) };
    this.detailOpen = detailOpenByDefault(this.screen.height as number);
    this.#layout = this.#computeLayout();
  }

  start(): TuiHandle {
    const store = this.store;
    this.#unsubscribe = subscribe(this.proxy.bus, {
      'session-open': (info) => {
        store.addSession(info);
        this.scheduleRender();
      },
      frame: (frame) => {
        store.addFrame(frame);
        this.scheduleRender();
      },
      message: (message) => {
        store.addMessage(message);
        this.scheduleRender();
      },
      violation: (violation) => {
        store.addViolation(violation);
        this.scheduleRender();
      },
      'session-close': (close) => {
        store.closeSession(close);
        this.scheduleRender();
      },
      log: (log) => {
        store.addLog(log);
        this.scheduleRender();
      },
      error: (error, where) => {
        store.addLog({ session: where.session, time: this.#now(), source: 'error', level: 'error', text: error.message });
        this.scheduleRender();
      },
    });
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
    if (this.#destroyed || this.#renderTimer !== null) return;
    const wait = Math.max(0, this.#lastRender + this.#interval - this.#now());
    this.#renderTimer = setTimeout(() => {
      this.#renderTimer = null;
      this.renderNow();
    }, wait);
  }

  renderNow(): void {
    if (this.#destroyed) return;
    if (this.#renderTimer !== null) {
      clearTimeout(this.#renderTimer);
      this.#renderTimer = null;
    }
    this.#lastRender = this.#now();
    const started = performance.now();
    this.renders++;
    this.#layout = this.#computeLayout();
    const layout = this.#layout;
    const p = this.#panes;
    p.sessions.place(layout.sessions);
    p.frames.place(layout.frames);
    p.held.place(layout.held);
    p.detail.place(layout.detail);
    p.status.place(layout.status);
    p.prompt.place(layout.prompt);
    this.#fixFocus();
    this.#syncCursors();
    const sessions = this.#sessionList();
    p.sessions.setLines(sessionsLines(sessions, this.sessionsCursor, layout.sessions.width, layout.sessions.height, this.focus === 'sessions', this.store.openSessions()));
    const fr = layout.frames;
    p.frames.setLines(frameLogLines(this.store, this.framesCursor, fr.width, fr.height, this.focus === 'frames', { newRows: this.#newRows() }));
    if (layout.held !== null) {
      p.held.setLines(heldLines(this.queue.held, this.heldCursor, layout.held.width, layout.held.height, this.focus === 'held', this.#now()));
    }
    if (layout.detail !== null) {
      const view = this.#detailView(layout.detail.width - 2);
      this.#detailScroll = clampScroll(this.#detailScroll, view.lines.length, layout.detail.height);
      p.detail.setLines(detailLines(view, this.#detailScroll, layout.detail.width, layout.detail.height, this.focus === 'detail', this.payloadView));
    }
    p.status.setLines([statusLine(this.#statusState(), layout.status.width)]);
    p.prompt.setLines([this.#promptLine(layout.prompt.width)]);
    this.#renderOverlay();
    this.screen.render();
    // Keep drawing under about a fifth of the time while traffic floods in.
    this.#interval = Math.max(this.#minInterval, Math.min(1000, (performance.now() - started) * 5));
  }

  #computeLayout(): Layout {
    return computeLayout({
      cols: this.screen.width as number,
      rows: this.screen.height as number,
      sessions: this.#sessionList().length,
      held: this.queue.size,
      detailOpen: this.detailOpen,
      detailFocused: this.focus === 'detail',
    });
  }

  #sessionList(): SessionEntry[] {
    if (this.#sessionsCache.version !== this.store.sessionsVersion) {
      this.#sessionsCache = { version: this.store.sessionsVersion, list: this.store.sessions() };
    }
    return this.#sessionsCache.list;
  }

  #fixFocus(): void {
    if (this.focus === 'held' && this.#layout.held === null) this.focus = 'frames';
    if (this.focus === 'detail' && this.#layout.detail === null) this.focus = this.#detailSource;
    if (this.#detailSource === 'held' && this.#layout.held === null) this.#detailSource = 'frames';
  }

  #rows(rect: Rect | null): number {
    return rect === null ? 1 : Math.max(1, rect.height - 1);
  }

  #syncCursors(): void {
    const view = this.store.view;
    this.framesCursor.sync(view.start, view.end, this.#rows(this.#layout.frames));
    this.sessionsCursor.sync(0, this.#sessionList().length, this.#rows(this.#layout.sessions));
    this.heldCursor.sync(0, this.queue.size, this.#rows(this.#layout.held));
  }

  #newRows(): number {
    if (this.framesCursor.follow) return 0;
    return Math.max(0, this.store.view.end - (this.framesCursor.top + this.#rows(this.#layout.frames)));
  }

  selectedRow(): Row | undefined {
    return this.store.view.at(this.framesCursor.selected);
  }

  selectedSession(): SessionEntry | undefined {
    return this.#sessionList()[this.sessionsCursor.selected];
  }

  selectedHeld(): HeldEntry | undefined {
    return this.queue.held[this.heldCursor.selected];
  }

  #detailView(width: number): DetailView {
    const source: ListFocus = this.focus === 'detail' ? this.#detailSource : this.focus;
    const view = this.payloadView;
    let identity: string;
    let key: string;
    let build: () => DetailView;
    if (source === 'sessions') {
      const s = this.selectedSession();
      if (s === undefined) return { title: 'Session', lines: [[seg('No session selected.', { fg: 'gray' })]] };
      identity = `s${s.id}`;
      key = `${identity}:${this.store.sessionsVersion}:${width}`;
      build = () => ({ title: `Session #${s.id}: handshake`, lines: sessionDetail(s, width) });
    } else if (source === 'held') {
      const h = this.selectedHeld();
      if (h === undefined) return { title: 'Held', lines: [[seg('Nothing is held.', { fg: 'gray' })]] };
      const now = this.#now();
      identity = `h${h.seq}`;
      key = `${identity}:${Math.floor((now - h.since) / 1000)}:${width}:${view}`;
      build = () => ({ title: `Held: session #${h.message.session}`, lines: heldDetail(h, view, width, now) });
    } else {
      const row = this.selectedRow();
      if (row === undefined) return { title: 'Detail', lines: [[seg('Select a frame (↑↓ j k) to see it decoded here.', { fg: 'gray' })]] };
      identity = `r${row.seq}`;
      const extra = row.type === 'frame' ? String(row.message !== null) : row.type === 'open' || row.type === 'close' ? String(this.store.sessionsVersion) : '';
      // A small detail pane that is only glanced at shows the header on one line.
      const compact = this.focus !== 'detail' && !this.#layout.wide && (this.#layout.detail?.height ?? 0) < 16;
      key = `${identity}:${extra}:${width}:${view}:${compact}`;
      const session = rowSession(row);
      build = () => ({
        title: row.type === 'frame' ? `Frame ${row.record.id}` : row.type === 'open' || row.type === 'close' ? `Session #${session}: handshake` : row.type === 'message' ? `Message ${row.record.id}` : row.type,
        lines: rowDetail(row, session === null ? undefined : this.store.session(session), view, width, compact),
      });
    }
    if (identity !== this.#detailIdentity) {
      this.#detailIdentity = identity;
      this.#detailScroll = 0;
    }
    if (this.#detailCache?.key !== key) {
      const built = build();
      this.#detailCache = { key, view: { title: built.title, lines: wrapAll(built.lines, width) } };
    }
    return this.#detailCache.view;
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
      following: this.framesCursor.follow,
      newRows: this.#newRows(),
      script: this.#options.scriptState?.() ?? null,
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

  #renderOverlay(): void {
    const overlay = this.#panes.overlay;
    const mode = this.mode;
    const cols = this.screen.width as number;
    const rows = this.screen.height as number;
    if (mode.type !== 'help' && mode.type !== 'editor' && mode.type !== 'inject') {
      overlay.place(null);
      return;
    }
    const width = Math.min(cols, Math.max(40, Math.min(110, cols - 4)));
    const height = Math.max(8, rows - 4);
    overlay.place({ top: Math.max(0, Math.floor((rows - 2 - height) / 2)), left: Math.floor((cols - width) / 2), width, height: Math.min(height, rows - 2) });
    overlay.box.setFront();
    const inner = overlay.inner;
    if (mode.type === 'help') {
      overlay.setLabel('Help: every key (Esc closes, ↑↓ PgUp PgDn scroll)');
      const all = helpContent(inner.width);
      mode.scroll = Math.max(0, Math.min(mode.scroll, all.length - inner.height));
      overlay.setLines(all.slice(mode.scroll, mode.scroll + inner.height));
      return;
    }
    if (mode.type === 'inject') {
      overlay.setLabel('Send a frame');
      overlay.setLines(injectFormLines(mode.form, inner.width, inner.height));
      return;
    }
    overlay.setLabel(editorTitle(mode));
    overlay.setLines(editorLines(mode, inner.width, inner.height));
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
        const contexts: KeyContext[] = [this.focus, 'list', 'global'];
        const action = resolveAction(contexts, name);
        if (action !== null) this.#act(action);
        return;
      }
    }
  }

  #act(action: Action): void {
    this.#syncCursors();
    switch (action) {
      case 'help':
        this.mode = { type: 'help', scroll: 0 };
        return;
      case 'quit':
        return this.requestQuit();
      case 'redraw':
        this.screen.realloc();
        return;
      case 'focus-next':
      case 'focus-prev':
        return this.#cycleFocus(action === 'focus-next' ? 1 : -1);
      case 'filter':
        return openPrompt(this, 'filter');
      case 'intercept-filter':
        return openPrompt(this, 'intercept');
      case 'write':
        return openPrompt(this, 'write');
      case 'intercept-toggle':
        return toggleIntercept(this);
      case 'held-forward':
      case 'held-drop':
      case 'held-edit':
        return heldAction(this, action);
      case 'held-forward-all':
        return forwardAll(this);
      case 'inject':
        return openInject(this);
      case 'resend':
        return resend(this);
      case 'session-close':
        return closeSession(this);
      case 'session-filter': {
        const s = this.selectedSession();
        if (s === undefined) return;
        const text = this.store.filter.source === `session:${s.id}` ? '' : `session:${s.id}`;
        applyFilterText(this, text);
        this.say(text === '' ? 'showing all sessions' : `showing session #${s.id} only (f again shows all)`);
        return;
      }
      case 'clear': {
        const n = this.store.size;
        this.store.clear();
        this.framesCursor.reset(null, this.store.view.start, this.store.view.end, this.#rows(this.#layout.frames));
        this.framesCursor.setFollow(true, this.store.view.start, this.store.view.end, this.#rows(this.#layout.frames));
        this.say(`cleared ${n} rows`);
        return;
      }
      case 'pause': {
        const v = this.store.view;
        this.framesCursor.setFollow(!this.framesCursor.follow, v.start, v.end, this.#rows(this.#layout.frames));
        this.say(this.framesCursor.follow ? 'following the tail' : 'paused: new frames are kept but the view stays (p or G to follow)');
        return;
      }
      case 'payload-view': {
        const order: PayloadView[] = ['auto', 'hex', 'text'];
        this.payloadView = order[(order.indexOf(this.payloadView) + 1) % order.length]!;
        this.say(`payload view: ${this.payloadView}`);
        return;
      }
      case 'detail':
        if (this.focus === 'detail') return;
        this.#detailSource = this.focus;
        if (!this.#layout.wide) this.detailOpen = true;
        this.focus = 'detail';
        return;
      case 'close-detail':
        if (this.focus === 'detail') this.focus = this.#detailSource;
        else if (!this.#layout.wide && this.detailOpen) this.detailOpen = false;
        return;
      case 'up':
      case 'down':
      case 'page-up':
      case 'page-down':
      case 'top':
      case 'bottom':
        return this.#navigate(action);
      case 'save':
      case 'cancel':
      case 'accept':
      case 'history-prev':
      case 'history-next':
      case 'next-field':
      case 'prev-field':
      case 'option-next':
      case 'option-prev':
      case 'yes':
      case 'no':
      case 'text':
        return;
    }
  }

  #cycleFocus(delta: number): void {
    const order: Focus[] = ['sessions', 'frames'];
    if (this.#layout.held !== null) order.push('held');
    if (this.#layout.detail !== null) order.push('detail');
    const i = order.indexOf(this.focus);
    const next = order[(i + delta + order.length) % order.length]!;
    if (next === 'detail' && this.focus !== 'detail') this.#detailSource = this.focus as ListFocus;
    this.focus = next;
  }

  #navigate(action: 'up' | 'down' | 'page-up' | 'page-down' | 'top' | 'bottom'): void {
    if (this.focus === 'detail') {
      const rows = this.#rows(this.#layout.detail);
      const delta = { up: -1, down: 1, 'page-up': -(rows - 1), 'page-down': rows - 1, top: -Infinity, bottom: Infinity }[action];
      this.#detailScroll = Math.max(0, Math.min(Number.MAX_SAFE_INTEGER, this.#detailScroll + (Number.isFinite(delta) ? delta : delta > 0 ? 1e9 : -1e9)));
      return;
    }
    const [cursor, start, end, rows] =
      this.focus === 'sessions'
        ? [this.sessionsCursor, 0, this.#sessionList().length, this.#rows(this.#layout.sessions)]
        : this.focus === 'held'
          ? [this.heldCursor, 0, this.queue.size, this.#rows(this.#layout.held)]
          : [this.framesCursor, this.store.view.start, this.store.view.end, this.#rows(this.#layout.frames)];
    switch (action) {
      case 'up':
        return cursor.moveBy(-1, start, end, rows);
      case 'down':
        return cursor.moveBy(1, start, end, rows);
      case 'page-up':
        return cursor.page(-1, start, end, rows);
      case 'page-down':
        return cursor.page(1, start, end, rows);
      case 'top':
        return cursor.home(start, end, rows);
      case 'bottom':
        return cursor.end(start, end, rows);
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
    if (filter.source === this.store.filter.source) return;
    const selected = this.selectedRow()?.seq ?? null;
    this.store.setFilter(filter);
    const v = this.store.view;
    const rows = this.#rows(this.#layout.frames);
    this.framesCursor.reset(selected === null ? null : Math.min(this.store.positionOfSeq(selected), v.end - 1), v.start, v.end, rows);
  }

  /** The held message keys act on: the one selected in the held list, else the oldest. */
  targetHeld(): HeldEntry | undefined {
    if (this.focus === 'held' || (this.focus === 'detail' && this.#detailSource === 'held')) return this.selectedHeld() ?? this.queue.held[0];
    return this.queue.held[0];
  }

  /** The session the user is pointing at: selected session, held message or log row. */
  targetSession(): SessionTarget | null {
    const source = this.focus === 'detail' ? this.#detailSource : this.focus;
    if (source === 'sessions') {
      const s = this.selectedSession();
      return s === undefined ? null : { id: s.id, hint: null };
    }
    if (source === 'held') {
      const h = this.selectedHeld();
      return h === undefined ? null : { id: h.message.session, hint: otherSide(h.message.from) };
    }
    const row = this.selectedRow();
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
    this.#syncCursors();
    if (action === 'wheelup' || action === 'wheeldown') {
      const before = this.focus;
      this.focus = hit;
      for (let i = 0; i < 3; i++) this.#navigate(action === 'wheelup' ? 'up' : 'down');
      this.focus = before;
      this.renderNow();
      return;
    }
    if (action !== 'mousedown') return;
    if (hit === 'detail') {
      if (this.focus !== 'detail') this.#detailSource = this.focus as ListFocus;
      this.focus = 'detail';
      this.renderNow();
      return;
    }
    this.focus = hit;
    const rect = hit === 'sessions' ? this.#layout.sessions : hit === 'held' ? this.#layout.held! : this.#layout.frames;
    const line = y - rect.top - 1;
    if (line >= 0) {
      const cursor = hit === 'sessions' ? this.sessionsCursor : hit === 'held' ? this.heldCursor : this.framesCursor;
      const [start, end] = hit === 'sessions' ? [0, this.#sessionList().length] : hit === 'held' ? [0, this.queue.size] : [this.store.view.start, this.store.view.end];
      const position = cursor.top + line;
      if (position < end) cursor.moveTo(position, start, end, this.#rows(rect));
    }
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

  #teardownScreen(): void {
    if (this.screen.destroyed === true) return;
    try {
      this.screen.destroy();
    } finally {
      this.screen.destroyed = true;
    }
  }

  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    if (this.#renderTimer !== null) clearTimeout(this.#renderTimer);
    if (this.#tick !== null) clearInterval(this.#tick);
    this.#unsubscribe();
    this.#removeInterceptor();
    this.queue.forwardAll();
    this.#removeSignals();
    this.#teardownScreen();
    this.#removeCrashRestore();
    this.#resolveClosed();
  }
}

interface MouseData {
  readonly x: number;
  readonly y: number;
  readonly action: string;
}

declare module 'blessed' {
  namespace Widgets {
    interface Screen {
      destroyed?: boolean;
    }
  }
}
