/** The kinds of row the TUI's log holds (store.ts keeps them; rows.ts draws them). */
import type { CloseRecord, LogRecord, MessageRecord, SessionInfo, ViolationRecord } from '../proxy/events.js';
import type { FrameRow } from './frame-row.js';

/** A message the decision path changed or dropped: shown because its frames alone do not say so. */
export interface MessageRow {
  readonly type: 'message';
  readonly seq: number;
  readonly record: MessageRecord;
}

export interface OpenRow {
  readonly type: 'open';
  readonly seq: number;
  readonly info: SessionInfo;
}

export interface CloseRow {
  readonly type: 'close';
  readonly seq: number;
  readonly record: CloseRecord;
  /** The session was a WebSocket (false after a failed upgrade: no handshake to be clean). */
  readonly opened: boolean;
}

export interface LogRow {
  readonly type: 'log';
  readonly seq: number;
  readonly record: LogRecord;
}

export interface ViolationRow {
  readonly type: 'violation';
  readonly seq: number;
  readonly record: ViolationRecord;
}

export type Row = FrameRow | MessageRow | OpenRow | CloseRow | LogRow | ViolationRow;
