/**
 * What the TUI knows, fed from the bus: a bounded ring of recent rows (frames, decided messages,
 * session and log lines), per-session statistics, rates, and the filtered view of the ring.
 * Pure and synchronous: no blessed, no timers, so it is tested directly.
 */
import { closeCodeName } from '../protocol/close-codes.js';
import type { SessionState } from '../proxy/control.js';
import type { CloseRecord, FrameRecord, LogRecord, MessageRecord, SessionInfo, Side, ViolationRecord, FaultRecord } from '../proxy/events.js';
import { SessionStatsBuilder } from '../export/stats.js';
import { Deque } from './deque.js';
import { MATCH_ALL, matches, type Filter, type FilterSubject, type Mark } from './filter.js';
import { RateMeter } from './rates.js';
import { TRIMMED_PAYLOAD, compactFrame, compactMessage, trimFrame, trimMessage } from './row-payloads.js';
import { FrameRow, FrameTable } from './frame-row.js';
import { RowView, seqOf, type HeldRow } from './row-view.js';

export { FrameRow } from './frame-row.js';
import type { Row } from './row-types.js';

export { TRIMMED_PAYLOAD } from './row-payloads.js';

export type { CloseRow, LogRow, MessageRow, OpenRow, Row, ViolationRow } from './row-types.js';

export interface SessionEntry {
  readonly id: number;
  /** null for a connection whose handshake never completed (only its close was seen). */
  readonly info: SessionInfo | null;
  state: SessionState;
  /** Close code of the first close frame, then of the close record. */
  closeCode: number | null;
  closeReason: string;
  closedBy: Side | 'proxy' | null;
  clean: boolean | null;
  readonly frames: { client: number; server: number };
  readonly bytes: { client: number; server: number };
  /** Time of the last frame either way. */
  lastActivity: number;
  /** Live per-session numbers (export/stats.ts); null when the handshake never completed. */
  readonly stats: SessionStatsBuilder | null;
}

function newSession(id: number, info: SessionInfo | null, state: SessionState, time: number): SessionEntry {
  return { id, info, state, closeCode: null, closeReason: '', closedBy: null, clean: null, frames: { client: 0, server: 0 }, bytes: { client: 0, server: 0 }, lastActivity: time, stats: info === null ? null : new SessionStatsBuilder(info.time) };
}

interface Lane {
  kind: 'text' | 'binary' | null;
  /** Frame rows, or the numbers of small frames' rows (frame-row.ts). */
  readonly pending: (FrameRow | number)[];
}

export interface StoreOptions {
  /** Rows kept (frames and the lines between them). */
  readonly history: number;
  /** Payload bytes kept per row. */
  readonly maxPreview: number;
  /** Closed sessions kept in the sessions list. */
  readonly maxClosedSessions?: number;
  /**
   * Frame payload bytes kept across the whole ring. Past it the oldest frames keep only their first
   * TRIMMED_PAYLOAD bytes, so a flood of large messages costs bounded memory, not history × preview.
   */
  readonly maxPayloadBytes?: number;
}

export function decodeText(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf8');
}

function payloadText(bytes: Uint8Array, kind: string): string {
  const text = decodeText(bytes);
  if (kind === 'text') return text;
  // Binary payloads are searchable as text and as hex digits.
  return `${text}\n${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex')}`;
}

export function frameMarks(record: FrameRecord): Mark[] {
  const marks: Mark[] = [];
  if (record.violations.length > 0) marks.push('violation');
  if (record.origin === 'injected') marks.push('injected');
  if (record.origin === 'modified') marks.push('modified');
  if (record.compressed) marks.push('compressed');
  return marks;
}

export function subjectOf(row: Row): FilterSubject {
  switch (row.type) {
    case 'frame': {
      const r = row.record;
      return {
        session: r.session,
        from: r.from,
        kind: r.kind,
        messageKind: row.messageKind,
        marks: row.fault === undefined ? frameMarks(r) : [...frameMarks(r), 'fault'],
        text: () => (r.close !== null ? `${r.close.code ?? ''} ${r.close.code === null ? '' : closeCodeName(r.close.code)} ${r.close.reason}` : payloadText(r.payload, r.kind)),
      };
    }
    case 'message': {
      const r = row.record;
      const marks: Mark[] = [];
      if (r.fate === 'dropped') marks.push('dropped');
      if (r.fate === 'modified') marks.push('modified');
      if (r.compressed) marks.push('compressed');
      return { session: r.session, from: r.from, kind: r.kind, messageKind: null, marks, text: () => payloadText(r.payload, r.kind) };
    }
    case 'open': {
      const i = row.info;
      return { session: i.session, from: null, kind: null, messageKind: null, marks: [], text: () => `${i.client} ${i.path} ${i.protocol ?? ''} ${i.extensions ?? ''}` };
    }
    case 'close': {
      const r = row.record;
      return { session: r.session, from: null, kind: null, messageKind: null, marks: [], text: () => `${r.code ?? ''} ${r.reason} ${r.by}` };
    }
    case 'log': {
      const r = row.record;
      return { session: r.session, from: null, kind: null, messageKind: null, marks: [], text: () => `${r.source} ${r.text}` };
    }
    case 'violation': {
      const r = row.record;
      return { session: r.session, from: r.from, kind: null, messageKind: null, marks: ['violation'], text: () => `${r.violation.code} ${r.violation.message}` };
    }
  }
}

export function rowSession(row: Row): number | null {
  switch (row.type) {
    case 'frame':
      return row.session;
    case 'message':
    case 'close':
    case 'log':
    case 'violation':
      return row.record.session;
    case 'open':
      return row.info.session;
  }
}

export class TuiStore {
  readonly history: number;
  readonly maxPreview: number;
  readonly #maxClosed: number;
  readonly maxPayloadBytes: number;
  /** Frame rows in the ring with more than TRIMMED_PAYLOAD bytes of payload, oldest first, and their bytes. */
  readonly #heavy = new Deque<FrameRow>();
  /** Small frames, kept as columns rather than objects (frame-row.ts). */
  readonly #table: FrameTable;
  #heavyBytes = 0;
  #seq = 0;
  readonly #rows = new Deque<HeldRow>();
  #view = new Deque<HeldRow>();
  #viewRows: RowView;
  #filter: Filter = MATCH_ALL;
  /** Bumped when the view is rebuilt (filter change, clear): positions restart. */
  #viewGeneration = 0;
  readonly #sessions = new Map<number, SessionEntry>();
  /** Per session and direction: the data message in progress and its frames without a record yet. */
  readonly #lanes = new Map<number, { readonly client: Lane; readonly server: Lane }>();
  readonly #rates = new RateMeter();
  #framesSeen = 0;
  /** Fault records seen (the status bar's count). */
  faultsApplied = 0;
  #evicted = 0;
  /** Bumped on every change, so a renderer can tell whether anything happened. */
  version = 0;
  sessionsVersion = 0;

  constructor(options: StoreOptions) {
    if (!Number.isInteger(options.history) || options.history < 1) throw new RangeError('history must be a positive integer');
    this.history = options.history;
    this.maxPreview = Math.max(0, options.maxPreview);
    this.#maxClosed = options.maxClosedSessions ?? 1000;
    this.maxPayloadBytes = options.maxPayloadBytes ?? 64 * 1024 * 1024;
    this.#table = new FrameTable(this.history);
    this.#viewRows = new RowView(this.#view, this.#table);
  }

  /** Payload bytes held by frames that have not been trimmed. */
  get payloadBytes(): number {
    return this.#heavyBytes;
  }

  get filter(): Filter {
    return this.#filter;
  }

  /** The rows that pass the filter, oldest first, at absolute positions. */
  get view(): RowView {
    return this.#viewRows;
  }

  get viewGeneration(): number {
    return this.#viewGeneration;
  }

  /** Rows held in the ring (before filtering). */
  get size(): number {
    return this.#rows.length;
  }

  /** Frames seen since start (not reset by clear). */
  get framesSeen(): number {
    return this.#framesSeen;
  }

  /** Rows dropped from the ring because it was full. */
  get evicted(): number {
    return this.#evicted;
  }

  /**
   * The frame row with this id, if still in the ring. Searched from the newest row back: the
   * records that name a frame (its violations, a fault on its message) follow it closely, and a
   * map by id, updated for every frame, cost the ring more than all the rest of its bookkeeping.
   */
  frame(id: number): FrameRow | undefined {
    const row = this.#find(id);
    return typeof row === 'number' ? this.#hold(row) : row;
  }

  /** The frame row with this id as held (a small frame's row number), without making it an object. */
  #find(id: number): FrameRow | number | undefined {
    const rows = this.#rows;
    for (let p = rows.end - 1; p >= rows.start; p--) {
      const row = rows.at(p)!;
      if (typeof row === 'number') {
        if (this.#table.id(row) === id) return row;
      } else if (row.type === 'frame' && row.id === id) return row;
    }
    return undefined;
  }

  /**
   * The small frame row `seq` as an object from now on (a message record or a fault is about to
   * be attached to it), in the ring and in the view; undefined when it has left the ring.
   */
  #hold(seq: number): FrameRow | undefined {
    const position = seq - 1;
    const held = this.#rows.at(position);
    if (held === undefined) return undefined;
    if (typeof held !== 'number') return held as FrameRow;
    const row = this.#table.row(seq);
    this.#rows.replace(position, row);
    const v = this.#view.lowerBound((item) => seqOf(item) >= seq);
    if (this.#view.at(v) === seq) this.#view.replace(v, row);
    return row;
  }

  session(id: number): SessionEntry | undefined {
    return this.#sessions.get(id);
  }

  /** Sessions by id, oldest first. */
  sessions(): SessionEntry[] {
    return [...this.#sessions.values()].sort((a, b) => a.id - b.id);
  }

  openSessions(): number {
    let n = 0;
    for (const s of this.#sessions.values()) if (s.state !== 'closed') n++;
    return n;
  }

  rates(now: number): { readonly frames: number; readonly bytes: number } {
    return this.#rates.read(now);
  }

  setFilter(filter: Filter): void {
    this.#filter = filter;
    this.#rebuildView();
  }

  /** Empties the log. Sessions and their statistics stay. */
  clear(): void {
    while (this.#rows.length > 0) this.#rows.shift();
    while (this.#heavy.length > 0) this.#heavy.shift();
    this.#heavyBytes = 0;
    for (const lanes of this.#lanes.values()) {
      lanes.client.pending.length = 0;
      lanes.server.pending.length = 0;
    }
    this.#rebuildView();
  }

  addSession(info: SessionInfo): void {
    const entry = newSession(info.session, info, 'open', info.time);
    this.#sessions.set(info.session, entry);
    this.#touchSessions();
    this.#push({ type: 'open', seq: ++this.#seq, info });
  }

  /** Returns the row's number (its seq). */
  addFrame(record: FrameRecord): number {
    this.#sessions.get(record.session)?.stats?.frame(record);
    const lane = this.#lane(record.session, record.from);
    let messageKind: 'text' | 'binary' | null = null;
    if (record.kind === 'text' || record.kind === 'binary') {
      messageKind = record.kind;
      lane.kind = record.fin ? null : record.kind;
    } else if (record.kind === 'continuation') {
      messageKind = lane.kind;
      if (record.fin) lane.kind = null;
    }
    const seq = ++this.#seq;
    const row: FrameRow | number = this.#table.add(seq, record, messageKind, this.maxPreview) ? seq : new FrameRow(seq, compactFrame(record, this.maxPreview), messageKind);
    if (record.origin === 'peer' && (record.kind === 'text' || record.kind === 'binary' || record.kind === 'continuation')) {
      if (lane.pending.length < 10_000) lane.pending.push(row);
    }
    this.#framesSeen++;
    const wire = record.headerLength + record.length;
    this.#rates.add(record.time, wire);
    const s = this.#sessions.get(record.session);
    if (s !== undefined) {
      s.frames[record.from]++;
      s.bytes[record.from] += wire;
      s.lastActivity = record.time;
      if (record.kind === 'close' && s.state === 'open') {
        s.state = 'closing';
        s.closeCode = record.close?.code ?? null;
        s.closeReason = record.close?.reason ?? '';
        s.closedBy = record.origin === 'injected' ? 'proxy' : record.from;
      }
      this.#touchSessions();
    }
    this.#push(row);
    if (typeof row !== 'number' && row.payloadLength > TRIMMED_PAYLOAD) {
      this.#heavy.push(row);
      this.#heavyBytes += row.payloadLength;
      this.#trimOldest();
    }
    return seq;
  }

  /** Cuts the oldest large payloads down until what is left fits the budget. */
  #trimOldest(): void {
    while (this.#heavyBytes > this.maxPayloadBytes && this.#heavy.length > 1) {
      const row = this.#heavy.shift()!;
      this.#heavyBytes -= row.payloadLength;
      row.record = trimFrame(row.record);
      if (row.message !== null) row.message = trimMessage(row.message);
    }
  }

  addMessage(input: MessageRecord): void {
    this.#sessions.get(input.session)?.stats?.message(input);
    const shown = input.fate === 'modified' || input.fate === 'dropped';
    // A one-frame message says nothing its frame does not: keep it only when it is shown.
    const record = shown || input.frames > 1 ? compactMessage(input, this.maxPreview) : null;
    if (input.fate !== 'injected') {
      const pending = this.#lane(input.session, input.from).pending;
      // Messages of one direction complete in order, and later messages' frames may already be
      // here (queued behind a held one): this message owns the first `frames` of them.
      const n = Math.min(input.frames, pending.length);
      if (record !== null) {
        for (let i = 0; i < n; i++) {
          const p = pending[i]!;
          const row = typeof p === 'number' ? this.#hold(p) : p;
          if (row !== undefined) row.message = record;
        }
      }
      // (A one-frame message, the usual case, pops its frame: setting an array's length is a
      // runtime call.)
      if (n === pending.length) {
        if (n === 1) pending.pop();
        else pending.length = 0;
      } else pending.splice(0, n);
    }
    if (shown) this.#push({ type: 'message', seq: ++this.#seq, record: record! });
    else this.version++;
  }

  /** A fault rule acted: its frame is marked, and the fault gets a row of its own. */
  addFault(record: FaultRecord): void {
    this.faultsApplied++;
    const row = record.frame === null ? undefined : this.frame(record.frame);
    if (row !== undefined) row.fault = row.fault === undefined ? record.action : `${row.fault},${record.action}`;
    const on = record.frame === null ? '' : ` frame ${record.frame}`;
    this.addLog({ session: record.session, time: record.time, source: 'fault', level: 'warn', text: `rule ${record.ruleId} ${record.action}${on}: ${record.detail}  [${record.rule}]` });
  }

  addViolation(record: ViolationRecord): void {
    // A violation about a frame is shown on the frame's row.
    if (record.frame !== null && this.#find(record.frame) !== undefined) return;
    this.#push({ type: 'violation', seq: ++this.#seq, record });
  }

  closeSession(record: CloseRecord): void {
    let s = this.#sessions.get(record.session);
    if (s === undefined) {
      s = newSession(record.session, null, 'closed', record.time);
      this.#sessions.set(record.session, s);
    }
    s.state = 'closed';
    s.closeCode = record.code;
    s.closeReason = record.reason;
    s.closedBy = record.by;
    s.clean = record.clean;
    s.stats?.close(record);
    this.#lanes.delete(record.session);
    this.#pruneSessions();
    this.#touchSessions();
    this.#push({ type: 'close', seq: ++this.#seq, record, opened: s.info === null || s.info.status === 101 });
  }

  addLog(record: LogRecord): void {
    this.#push({ type: 'log', seq: ++this.#seq, record });
  }

  /** Position in the view of the first row at or after `seq` (view.end when there is none). */
  positionOfSeq(seq: number): number {
    return this.#view.lowerBound((row) => seqOf(row) >= seq);
  }

  #lane(session: number, from: Side): Lane {
    let lanes = this.#lanes.get(session);
    if (lanes === undefined) {
      lanes = { client: { kind: null, pending: [] }, server: { kind: null, pending: [] } };
      this.#lanes.set(session, lanes);
    }
    return lanes[from];
  }

  #touchSessions(): void {
    this.sessionsVersion++;
    this.version++;
  }

  #pruneSessions(): void {
    let closed = 0;
    for (const s of this.#sessions.values()) if (s.state === 'closed') closed++;
    if (closed <= this.#maxClosed) return;
    // Map iteration is insertion order: the oldest closed sessions go first.
    for (const [id, s] of this.#sessions) {
      if (closed <= this.#maxClosed) break;
      if (s.state === 'closed') {
        this.#sessions.delete(id);
        closed--;
      }
    }
  }

  #push(row: HeldRow): void {
    this.version++;
    this.#rows.push(row);
    if (this.#filter.terms.length === 0 || matches(this.#filter, subjectOf(typeof row === 'number' ? this.#table.row(row) : row))) this.#view.push(row);
    while (this.#rows.length > this.history) {
      const old = this.#rows.shift()!;
      this.#evicted++;
      if (this.#view.first() === old) this.#view.shift();
      if (typeof old !== 'number' && old.type === 'frame') {
        // Both are in arrival order: a large frame leaving the ring is the oldest large one held.
        if (this.#heavy.first() === old) {
          this.#heavy.shift();
          this.#heavyBytes -= old.payloadLength;
        }
      }
    }
  }

  /** Every row of these sessions still in the ring, filter or not, oldest first. */
  rowsOfSessions(ids: ReadonlySet<number>): Row[] {
    const out: Row[] = [];
    for (const held of this.#rows) {
      const row = typeof held === 'number' ? this.#table.row(held) : held;
      if (ids.has(rowSession(row) ?? -1)) out.push(row);
    }
    return out;
  }

  #rebuildView(): void {
    const view = new Deque<HeldRow>();
    const all = this.#filter.terms.length === 0;
    for (const row of this.#rows) if (all || matches(this.#filter, subjectOf(typeof row === 'number' ? this.#table.row(row) : row))) view.push(row);
    this.#view = view;
    this.#viewRows = new RowView(view, this.#table);
    this.#viewGeneration++;
    this.version++;
  }
}
