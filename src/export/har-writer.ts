/**
 * --har FILE: a bus observer that keeps each session's messages (payloads capped at --max-preview
 * by the relay already, and in all at `maxBytes`) and rewrites the HAR file atomically (a
 * temporary file renamed over it) whenever a session closes and at exit, so a crash loses at most
 * the sessions still open. Writing happens off the relay's path, one write at a time.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Entry } from 'har-format';
import { subscribe, type ProxyBus, type SessionInfo } from '../proxy/events.js';
import { harDocument, HarSessionBuilder, type HarSessionHead } from './har.js';

export interface HarWriterOptions {
  readonly path: string;
  readonly control: boolean;
  readonly version: string;
  /** Payload bytes kept across all sessions; past it messages are counted, not kept. */
  readonly maxBytes?: number;
  readonly now?: () => number;
}

export interface HarWriter {
  /** Writes the file now (open sessions included) and waits for it. */
  flush(): Promise<void>;
  /** Stops listening and writes the final file. */
  close(): Promise<void>;
}

export function headOf(s: SessionInfo): HarSessionHead {
  return {
    session: s.session,
    time: s.time,
    client: s.client,
    target: s.target,
    path: s.path,
    status: s.status,
    requestLine: s.request.startLine,
    statusLine: s.response.startLine,
    requestHeaders: s.request.headers,
    responseHeaders: s.response.headers,
    protocol: s.protocol,
    extensions: s.extensions,
    url: s.url,
  };
}

/** Writes `text` to `file` atomically: readers see the old file or the new one, never half of one. */
export async function writeAtomic(file: string, text: string): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  await fs.writeFile(tmp, text, 'utf8');
  await fs.rename(tmp, file);
}

export async function attachHar(bus: ProxyBus, options: HarWriterOptions): Promise<HarWriter> {
  const now = options.now ?? Date.now;
  const maxBytes = options.maxBytes ?? 256 * 1024 * 1024;
  // Fail at start, not at the first close, when the file cannot be written.
  await writeAtomic(options.path, JSON.stringify(harDocument([], options.version), null, 1));
  const open = new Map<number, HarSessionBuilder>();
  const closed: Entry[] = [];
  let kept = 0;
  let warned = false;
  const room = (): boolean => {
    if (kept < maxBytes) return true;
    if (!warned) {
      warned = true;
      bus.emit('log', { session: null, time: now(), source: 'har', level: 'warn', text: `HAR holds ${maxBytes} payload bytes already: further messages are counted (_wsproxy.droppedMessages), not kept` });
    }
    return false;
  };

  let writing: Promise<void> | null = null;
  let again = false;
  const write = (): Promise<void> => {
    if (writing !== null) {
      again = true;
      return writing;
    }
    const run = async (): Promise<void> => {
      do {
        again = false;
        const entries = [...closed, ...[...open.values()].map((b) => b.entry(now()))];
        try {
          await writeAtomic(options.path, JSON.stringify(harDocument(entries, options.version), null, 1));
        } catch (error) {
          bus.emit('log', { session: null, time: now(), source: 'har', level: 'error', text: `cannot write ${options.path}: ${(error as Error).message}` });
        }
      } while (again);
    };
    writing = run().finally(() => (writing = null));
    return writing;
  };

  const unsubscribe = subscribe(bus, {
    'session-open': (s) => void open.set(s.session, new HarSessionBuilder(headOf(s), { control: options.control })),
    frame: (f) => {
      const b = open.get(f.session);
      if (b !== undefined) kept += b.frame(f, room());
    },
    message: (m) => {
      const b = open.get(m.session);
      if (b !== undefined) kept += b.message(m, room());
    },
    violation: (v) => {
      if (v.frame === null) open.get(v.session)?.violations.push({ frame: null, code: v.violation.code });
    },
    'session-close': (c) => {
      const b = open.get(c.session);
      if (b === undefined) return;
      open.delete(c.session);
      b.close = c;
      closed.push(b.entry(c.time));
      void write();
    },
  });

  return {
    flush: async () => {
      await write();
      // A write that was already running when this was asked for does not include what came since.
      if (writing !== null) await writing;
    },
    async close() {
      unsubscribe();
      await write();
      if (writing !== null) await writing;
    },
  };
}
