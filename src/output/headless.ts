/** The headless printer: one readable line per frame, plus open, close, violation and log lines. */
import type { Writable } from 'node:stream';
import { subscribe, type ProxyBus } from '../proxy/events.js';
import { formatCloseLine, formatHttpLine, formatLogLine, formatMessageLine, formatOpenLine, formatViolationLine, writeFrameLine, type Style } from './format.js';
import { LineWriter } from './line-writer.js';
import type { LineBytes } from './line-bytes.js';
import type { FrameRecord } from '../proxy/events.js';
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

export function attachHeadless(bus: ProxyBus, out: Writable, options: HeadlessOptions): Printer {
  const style: Style = { color: options.color };
  const chars = options.previewChars ?? 80;
  const writer = new LineWriter(out, { maxBuffered: 8 * 1024 * 1024, droppedNote: (n) => `… ${n} line(s) dropped: the terminal could not keep up` });
  // Made once: a closure per frame would be one more object per frame for the collector.
  const encodeFrame = (out: LineBytes, f: FrameRecord): void => writeFrameLine(out, f, style, chars);
  const unsubscribe = subscribe(bus, {
    'session-open': (s) => writer.write(formatOpenLine(s, style)),
    frame: (f) => writer.writeWith(encodeFrame, f),
    // A message line adds something only when it was decided on or reassembled from fragments.
    message: (m) => {
      if (m.fate !== 'forwarded' || m.frames > 1) writer.write(formatMessageLine(m, style, chars));
    },
    violation: (v) => writer.write(formatViolationLine(v, style)),
    'session-close': (c) => writer.write(formatCloseLine(c, style)),
    log: (l) => writer.write(formatLogLine(l, style)),
    http: (r) => writer.write(formatHttpLine(r, style)),
    fault: (f) => writer.write(formatFaultLine(f, style)),
    reconnects: (r) => writer.write(formatReconnectLine(r, style)),
    error: (e, where) => writer.write(formatLogLine({ session: where.session, time: Date.now(), source: 'proxy', level: 'error', text: e.message }, style)),
    // A preview line shows at most `chars` characters: at most 4 bytes each (format.ts preview()).
  }, { previewBytes: chars * 4 });
  return {
    async close() {
      unsubscribe();
      await writer.end(false);
    },
  };
}
