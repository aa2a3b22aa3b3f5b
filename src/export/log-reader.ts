/**
 * Reads a JSONL log (docs/log-format.md) back into sessions: the input of `wsproxy har`,
 * `wsproxy stats` and `wsproxy replay`. Lines it does not know are skipped; a line that is not
 * JSON is an error with its line number.
 */
import fs from 'node:fs';
import readline from 'node:readline';
import type { Side } from '../proxy/events.js';
import type { SessionStats } from './stats.js';
import { LogReadError } from './log-read-error.js';
import type { HarClose, HarMessageFacts, HarSessionHead } from './har.js';

export interface RecordedFrame {
  readonly id: number;
  readonly time: number;
  readonly from: Side;
  readonly kind: string;
  readonly opcode: number;
  readonly fin: boolean;
  readonly masked: boolean;
  readonly length: number;
  /** Header bytes on the wire; derived from length and mask bit for logs older than the field. */
  readonly headerLength: number;
  readonly payload: Buffer;
  readonly truncated: boolean;
  readonly compressed: boolean;
  readonly closeCode: number | null;
  readonly closeReason: string;
  readonly origin: 'peer' | 'modified' | 'injected';
  readonly violations: readonly string[];
}

/** The HAR builder's message, its payload a Buffer. */
export interface RecordedMessage extends HarMessageFacts {
  readonly payload: Buffer;
}

/** The HAR builder's close, with who closed and the stats as a log always has them. */
export interface RecordedClose extends HarClose {
  readonly by: Side | 'proxy';
  readonly stats: SessionStats | null;
}

/**
 * The HAR builder's session head (requestLine rebuilt from the path for logs older than the
 * field; url only in logs with it), and what the session carried.
 */
export interface RecordedSession extends HarSessionHead {
  readonly url: string | undefined;
  readonly frames: RecordedFrame[];
  readonly messages: RecordedMessage[];
  /** Frames and messages in the order of the log. */
  readonly events: ({ readonly frame: RecordedFrame } | { readonly message: RecordedMessage })[];
  close: RecordedClose | null;
  /** Actions of the `fault` records of this session, in order. */
  readonly faults: string[];
}

type Obj = Record<string, unknown>;

const str = (v: unknown, d = ''): string => (typeof v === 'string' ? v : d);
const num = (v: unknown, d = 0): number => (typeof v === 'number' ? v : d);
const numOrNull = (v: unknown): number | null => (typeof v === 'number' ? v : null);
const side = (v: unknown): Side => (v === 'server' ? 'server' : 'client');
const time = (v: unknown): number => (typeof v === 'string' ? Date.parse(v) : num(v));

function payloadOf(o: Obj): Buffer {
  return Buffer.from(str(o['payload']), o['encoding'] === 'base64' ? 'base64' : 'utf8');
}

/** Header object of a log line back to ordered pairs (a repeated name's values stay together). */
export function headerPairs(v: unknown): [string, string][] {
  if (v === null || typeof v !== 'object') return [];
  const out: [string, string][] = [];
  for (const [name, value] of Object.entries(v as Obj)) {
    if (Array.isArray(value)) for (const item of value) out.push([name, String(item)]);
    else out.push([name, String(value)]);
  }
  return out;
}

/** §5.2: 2 bytes, plus 2 or 8 for the extended length, plus 4 for a mask key. */
function derivedHeaderLength(length: number, masked: boolean): number {
  return 2 + (length < 126 ? 0 : length <= 0xffff ? 2 : 8) + (masked ? 4 : 0);
}

export class LogSessions {
  /**
   * Every session in the order of its open record. Keyed by that order, not by the log's session
   * id: --log-file appends, and a proxy started again counts from 1 again, so one file may hold
   * several sessions with the same id, each its own.
   */
  readonly sessions = new Map<number, RecordedSession>();
  /** `reconnects` records (reports after storms, docs/faults.md), as they are in the log. */
  readonly reconnects: Obj[] = [];
  /** The latest session opened under each id: where that id's later records belong. */
  readonly #byId = new Map<number, RecordedSession>();

  /** Adds one parsed log line. */
  add(o: Obj): void {
    const id = num(o['session'], -1);
    switch (o['type']) {
      case 'open': {
        const path = str(o['path'], '/');
        const status = num(o['status'], 0);
        const session: RecordedSession = {
          session: id,
          time: time(o['time']),
          client: str(o['client']),
          target: str(o['target']),
          path,
          status,
          // The request as the client sent it: clientRequest* when the proxy rewrote it (Host, ...).
          requestLine: str(o['clientRequestLine'], str(o['requestLine'], `GET ${path} HTTP/1.1`)),
          statusLine: str(o['statusLine'], `HTTP/1.1 ${status}`),
          requestHeaders: headerPairs(o['clientRequestHeaders'] ?? o['requestHeaders']),
          responseHeaders: headerPairs(o['responseHeaders']),
          protocol: typeof o['protocol'] === 'string' ? o['protocol'] : null,
          extensions: typeof o['extensions'] === 'string' ? o['extensions'] : null,
          url: typeof o['url'] === 'string' ? o['url'] : undefined,
          frames: [],
          messages: [],
          events: [],
          close: null,
          faults: [],
        };
        this.sessions.set(this.sessions.size, session);
        this.#byId.set(id, session);
        break;
      }
      case 'frame': {
        const s = this.#byId.get(id);
        if (s === undefined) return;
        const length = num(o['length']);
        const masked = o['masked'] === true;
        const frame: RecordedFrame = {
          id: num(o['id']),
          time: time(o['time']),
          from: side(o['from']),
          kind: str(o['kind']),
          opcode: num(o['opcode']),
          fin: o['fin'] === true,
          masked,
          length,
          headerLength: typeof o['headerLength'] === 'number' ? o['headerLength'] : derivedHeaderLength(length, masked),
          payload: payloadOf(o),
          truncated: o['truncated'] === true,
          compressed: o['compressed'] === true,
          closeCode: numOrNull(o['closeCode']),
          closeReason: str(o['closeReason']),
          origin: o['injected'] === true ? 'injected' : o['modified'] === true ? 'modified' : 'peer',
          violations: Array.isArray(o['violations']) ? o['violations'].map((v) => str((v as Obj)['code'])) : [],
        };
        s.frames.push(frame);
        s.events.push({ frame });
        break;
      }
      case 'message': {
        const s = this.#byId.get(id);
        if (s === undefined) return;
        const message: RecordedMessage = {
          id: num(o['id']),
          time: time(o['time']),
          from: side(o['from']),
          kind: o['kind'] === 'binary' ? 'binary' : 'text',
          length: num(o['length']),
          payload: payloadOf(o),
          truncated: o['truncated'] === true,
          frames: num(o['frames'], 1),
          compressed: o['compressed'] === true,
          fate: str(o['fate'], 'forwarded'),
          by: typeof o['by'] === 'string' ? o['by'] : null,
        };
        s.messages.push(message);
        s.events.push({ message });
        break;
      }
      case 'reconnects':
        this.reconnects.push(o);
        break;
      case 'fault': {
        this.#byId.get(id)?.faults.push(str(o['action'], 'fault'));
        break;
      }
      case 'close': {
        const s = this.#byId.get(id);
        if (s === undefined) return;
        const by = o['by'] === 'server' || o['by'] === 'client' ? o['by'] : 'proxy';
        s.close = { time: time(o['time']), code: numOrNull(o['code']), reason: str(o['reason']), by, clean: o['clean'] === true, stats: (o['stats'] as SessionStats | undefined) ?? null };
        break;
      }
    }
  }
}

export { LogReadError };

/** Reads a whole log; sessions in order of their open records. */
export async function readLog(path: string): Promise<RecordedSession[]> {
  return [...(await readLogParts(path)).sessions.values()];
}

/** Reads a whole log: its sessions and the records that belong to none (reconnect reports). */
export async function readLogParts(path: string): Promise<LogSessions> {
  const input = fs.createReadStream(path);
  const opened = new Promise<void>((resolve, reject) => {
    input.once('open', () => resolve());
    input.once('error', (e) => reject(new LogReadError(`${path}: ${e.message}`)));
  });
  await opened;
  const lines = readline.createInterface({ input, crlfDelay: Infinity });
  const out = new LogSessions();
  let n = 0;
  for await (const line of lines) {
    n++;
    if (line.trim() === '') continue;
    let o: unknown;
    try {
      o = JSON.parse(line);
    } catch {
      throw new LogReadError(`${path}:${n}: not a JSON line`);
    }
    if (o !== null && typeof o === 'object') out.add(o as Obj);
  }
  return out;
}
