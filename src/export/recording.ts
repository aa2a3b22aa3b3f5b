/**
 * A recorded session as replay needs it, from a JSONL log or a HAR (ours, or Chrome's): the
 * upgrade request, what the client sent and what the server sent, each with its time.
 */
import fs from 'node:fs/promises';
import type { Har } from 'har-format';
import { LogReadError, LogSessions, type RecordedSession } from './log-reader.js';

export type ReplayKind = 'text' | 'binary' | 'ping' | 'pong' | 'close';

export interface ReplayItem {
  /** Milliseconds since the session opened. */
  readonly at: number;
  readonly kind: ReplayKind;
  readonly payload: Buffer;
  /** The recording kept only the first bytes (--max-preview). */
  readonly truncated: boolean;
  /** The whole length, when known. */
  readonly length: number;
}

export interface ReplayRecording {
  readonly session: number;
  /** Request target: path and query. */
  readonly path: string;
  readonly headers: readonly (readonly [string, string])[];
  readonly client: readonly ReplayItem[];
  readonly server: readonly ReplayItem[];
}

const KIND_OF_OPCODE: Record<number, ReplayKind> = { 1: 'text', 2: 'binary', 8: 'close', 9: 'ping', 10: 'pong' };

function fromLog(s: RecordedSession): ReplayRecording {
  const client: ReplayItem[] = [];
  const server: ReplayItem[] = [];
  for (const e of s.events) {
    if ('message' in e) {
      const m = e.message;
      // What the peers themselves sent: the proxy's own messages are not part of the recording to replay.
      if (m.fate === 'injected') continue;
      (m.from === 'client' ? client : server).push({ at: m.time - s.time, kind: m.kind, payload: m.payload, truncated: m.truncated, length: m.length });
    } else {
      const f = e.frame;
      if (f.origin !== 'peer' || (f.kind !== 'ping' && f.kind !== 'pong' && f.kind !== 'close')) continue;
      (f.from === 'client' ? client : server).push({ at: f.time - s.time, kind: f.kind, payload: f.payload, truncated: f.truncated, length: f.length });
    }
  }
  return { session: s.session, path: s.path, headers: s.requestHeaders, client, server };
}

function fromHar(har: Har): ReplayRecording[] {
  return har.log.entries
    .filter((e) => Array.isArray(e._webSocketMessages))
    .map((e, i) => {
      const start = Date.parse(e.startedDateTime);
      const client: ReplayItem[] = [];
      const server: ReplayItem[] = [];
      for (const m of e._webSocketMessages!) {
        const kind = KIND_OF_OPCODE[m.opcode];
        if (kind === undefined) continue;
        const extra = m as unknown as Record<string, unknown>;
        const base64 = m.opcode !== 1 || extra['_encoding'] === 'base64';
        const payload = Buffer.from(m.data, base64 ? 'base64' : 'utf8');
        const item: ReplayItem = { at: m.time * 1000 - start, kind, payload, truncated: extra['_truncated'] === true, length: typeof extra['_length'] === 'number' ? extra['_length'] : payload.length };
        if (extra['_injected'] === true) continue;
        (m.type === 'send' ? client : server).push(item);
      }
      const meta = e['_wsproxy'] as { session?: number } | undefined;
      let path = '/';
      try {
        const url = new URL(e.request.url);
        path = url.pathname + url.search;
      } catch {
        // keep "/"
      }
      return { session: meta?.session ?? i + 1, path, headers: e.request.headers.map((h) => [h.name, h.value] as const), client, server };
    });
}

/** Reads every session of a JSONL log or a HAR file. */
export async function readRecording(file: string): Promise<ReplayRecording[]> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    throw new LogReadError(`${file}: ${(error as Error).message}`);
  }
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{') && !trimmed.startsWith('{"type"')) {
    try {
      const doc = JSON.parse(text) as Partial<Har>;
      if (doc.log !== undefined && Array.isArray(doc.log.entries)) return fromHar(doc as Har);
    } catch {
      // Not one JSON document: a JSONL log.
    }
  }
  const sessions = new LogSessions();
  text.split('\n').forEach((line, n) => {
    if (line.trim() === '') return;
    let o: unknown;
    try {
      o = JSON.parse(line);
    } catch {
      throw new LogReadError(`${file}:${n + 1}: neither a HAR nor a JSONL log line`);
    }
    if (o !== null && typeof o === 'object') sessions.add(o as Record<string, unknown>);
  });
  return [...sessions.sessions.values()].filter((s) => s.status === 101).map(fromLog);
}
