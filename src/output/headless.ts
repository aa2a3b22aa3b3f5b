/** The headless printer: one readable line per frame, plus open, close, violation and log lines. */
import type { Writable } from 'node:stream';
import { subscribe, type FrameRecord, type ProxyBus, type ProxyHandlers } from '../proxy/events.js';
import { formatCloseLine, formatHttpLine, formatLogLine, formatMessageLine, formatOpenLine, formatViolationLine, writeFrameLine, type Style } from './format.js';
import { LineWriter } from './line-writer.js';
import type { LineBytes } from './line-bytes.js';
import { formatFaultLine, formatReconnectLine } from './fault-format.js';

export interface HeadlessOptions {
  readonly color: boolean;
  /** Characters of payload preview per line. */
  readonly previewChars?: number;
}

export interface Printer {
  /** Stops listening and flushes what is pending. */
  close(): Promise<void>;
}

/** Where a printer's lines go: frames as records (formatted there), everything else as text. */
export interface LineSink {
  frame(f: FrameRecord): void;
  line(text: string): void;
}

export const DROPPED_NOTE = (n: number): string => `… ${n} line(s) dropped: the terminal could not keep up`;

/** The bus events a printer shows, and their lines. */
export function printerHandlers(sink: LineSink, style: Style, chars: number): ProxyHandlers {
  /** Upgrades that did not open, until their close line. */
  const failed = new Set<number>();
  return {
    'session-open': (s) => {
      if (s.status !== 101) failed.add(s.session);
      sink.line(formatOpenLine(s, style));
    },
    frame: (f) => sink.frame(f),
    // A message line adds something only when it was decided on or reassembled from fragments.
    message: (m) => {
      if (m.fate !== 'forwarded' || m.frames > 1) sink.line(formatMessageLine(m, style, chars));
    },
    violation: (v) => sink.line(formatViolationLine(v, style)),
    'session-close': (c) => sink.line(formatCloseLine(c, style, !failed.delete(c.session))),
    log: (l) => sink.line(formatLogLine(l, style)),
    http: (r) => sink.line(formatHttpLine(r, style)),
    fault: (f) => sink.line(formatFaultLine(f, style)),
    reconnects: (r) => sink.line(formatReconnectLine(r, style)),
    error: (e, where) => sink.line(formatLogLine({ session: where.session, time: Date.now(), source: 'proxy', level: 'error', text: e.message }, style)),
  };
}

/** The printer on the relay's own thread, writing to a stream (see printer-thread.ts for the CLI's). */
export function attachHeadless(bus: ProxyBus, out: Writable, options: HeadlessOptions): Printer {
  const style: Style = { color: options.color };
  const chars = options.previewChars ?? 80;
  const writer = new LineWriter(out, { maxBuffered: 8 * 1024 * 1024, droppedNote: DROPPED_NOTE });
  // Made once: a closure per frame would be one more object per frame for the collector.
  const encodeFrame = (out: LineBytes, f: FrameRecord): void => writeFrameLine(out, f, style, chars);
  const sink: LineSink = { frame: (f) => writer.writeWith(encodeFrame, f), line: (text) => writer.write(text) };
  // A preview line shows at most `chars` characters: at most 4 bytes each (format.ts preview()).
  const unsubscribe = subscribe(bus, printerHandlers(sink, style, chars), { previewBytes: chars * 4, eventfulMessages: true });
  return {
    async close() {
      unsubscribe();
      await writer.end(false);
    },
  };
}
