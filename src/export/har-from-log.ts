/** A JSONL log read back (log-reader.ts) → HAR entries, the same as --har writes live. */
import type { Entry } from 'har-format';
import type { RecordedSession } from './log-reader.js';
import { HarSessionBuilder, type HarOptions } from './har.js';

export function harEntryFromLog(s: RecordedSession, options: HarOptions): Entry {
  const b = new HarSessionBuilder(s, options);
  for (const e of s.events) {
    if ('frame' in e) b.frame(e.frame);
    else b.message(e.message);
  }
  b.close = s.close;
  // A session without a close record ends at its last event.
  const last = s.events.length === 0 ? s.time : Math.max(...s.events.map((e) => ('frame' in e ? e.frame.time : e.message.time)));
  return b.entry(last);
}
