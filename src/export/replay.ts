/**
 * `wsproxy replay`: opens the recorded upgrade again against a target, sends the client's side of
 * the recording with its timing, collects what the server sends, and compares it with what the
 * server sent then, as a test failure reads.
 */
import { WebSocket, type RawData } from 'ws';
import { formatPath, jsonDiff, parsePath, showValue, tryJson } from './json-diff.js';
import { escapeForTerminal } from '../output/terminal-text.js';
import type { ReplayItem, ReplayKind, ReplayRecording } from './recording.js';

export type ReplaySpeed = '1' | '0' | 'wait';

export interface ReplayOptions {
  /** ws://HOST:PORT (a running wsproxy works too: the replay then shows in its UI). */
  readonly target: string;
  readonly speed: ReplaySpeed;
  /** Send the recorded pings, pongs and close too, and compare the server's. */
  readonly control: boolean;
  readonly ignore: readonly string[];
  /** How long to wait for an answer that does not come. */
  readonly timeoutMs: number;
}

export interface ReplayResult {
  readonly ok: boolean;
  /** Lines for the terminal. */
  readonly report: string[];
}

export class ReplayError extends Error {
  override readonly name = 'ReplayError';
}

/** Request headers the client library writes itself, or that belong to one hop (RFC 9110 §7.6.1). */
const NOT_REPLAYED = new Set(['host', 'connection', 'upgrade', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'content-length', 'sec-websocket-key', 'sec-websocket-version', 'sec-websocket-extensions', 'sec-websocket-protocol']);

const DATA: ReadonlySet<ReplayKind> = new Set(['text', 'binary']);

function headerValue(headers: ReplayRecording['headers'], name: string): string | null {
  const found = headers.filter(([n]) => n.toLowerCase() === name);
  return found.length === 0 ? null : found.map(([, v]) => v).join(', ');
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)).unref());

function describe(item: ReplayItem): string {
  if (item.kind === 'text') {
    const text = item.payload.toString('utf8');
    return JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}…` : text);
  }
  if (item.kind === 'close') return item.payload.length >= 2 ? `${item.payload.readUInt16BE(0)} ${JSON.stringify(item.payload.subarray(2).toString('utf8'))}` : '(no status)';
  const hex = item.payload.subarray(0, 32).toString('hex');
  return `${item.payload.length} B ${hex}${item.payload.length > 32 ? '…' : ''}`;
}

/** The differences between one recorded server message and the one that came now; [] when they match. */
export function compareItems(expected: ReplayItem, actual: ReplayItem, ignore: ReturnType<typeof parsePath>[]): string[] {
  if (expected.kind !== actual.kind) return [`expected a ${expected.kind} message, got a ${actual.kind} message`, `expected: ${describe(expected)}`, `actual:   ${describe(actual)}`];
  if (expected.kind === 'text') {
    const e = tryJson(expected.payload.toString('utf8'));
    const a = tryJson(actual.payload.toString('utf8'));
    if (e.ok && a.ok && !expected.truncated) return jsonDiff(e.value, a.value, ignore).map((d) => `${formatPath(d.path)}: expected ${showValue(d.expected)}, actual ${showValue(d.actual)}`);
  }
  // The recording may hold only the first bytes: compare those.
  const actualPart = expected.truncated ? actual.payload.subarray(0, expected.payload.length) : actual.payload;
  if (Buffer.compare(expected.payload, actualPart) === 0 && (!expected.truncated || actual.payload.length === expected.length)) return [];
  return [`expected: ${describe(expected)}${expected.truncated ? ` (recorded: first ${expected.payload.length} of ${expected.length} B)` : ''}`, `actual:   ${describe(actual)}`];
}

export async function replay(rec: ReplayRecording, options: ReplayOptions): Promise<ReplayResult> {
  const ignore = options.ignore.map(parsePath);
  let url: URL;
  try {
    url = new URL(rec.path, options.target);
  } catch {
    throw new ReplayError(`--target: not a ws:// or wss:// URL: ${options.target}`);
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw new ReplayError(`--target: expected ws:// or wss://, got ${url.protocol}//`);
  const headers: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [name, value] of rec.headers) {
    if (NOT_REPLAYED.has(name.toLowerCase())) continue;
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  const protocols = (headerValue(rec.headers, 'sec-websocket-protocol') ?? '').split(',').map((p) => p.trim()).filter((p) => p !== '');
  const deflate = /permessage-deflate/i.test(headerValue(rec.headers, 'sec-websocket-extensions') ?? '');
  // A recording without control frames (a HAR written without --har-control) has none to compare.
  const recordedControl = rec.client.some((i) => !DATA.has(i.kind)) || rec.server.some((i) => !DATA.has(i.kind));
  const control = options.control && recordedControl;
  const keep = (kind: ReplayKind): boolean => DATA.has(kind) || control;
  const toSend = rec.client.filter((i) => keep(i.kind));
  const expected = rec.server.filter((i) => keep(i.kind));

  const ws = new WebSocket(url, protocols, { headers, perMessageDeflate: deflate, handshakeTimeout: options.timeoutMs, autoPong: !control, rejectUnauthorized: false });
  const received: ReplayItem[] = [];
  let start = 0;
  let wake: (() => void) | null = null;
  const got = (kind: ReplayKind, payload: Buffer): void => {
    if (!keep(kind)) return;
    received.push({ at: Date.now() - start, kind, payload, truncated: false, length: payload.length });
    wake?.();
  };
  ws.on('message', (data: RawData, isBinary) => got(isBinary ? 'binary' : 'text', Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data)));
  ws.on('ping', (data) => got('ping', data));
  ws.on('pong', (data) => got('pong', data));
  const closed = new Promise<void>((resolve) =>
    ws.once('close', (code, reason) => {
      if (code !== 1005 && code !== 1006) got('close', Buffer.concat([Buffer.from([code >> 8, code & 0xff]), reason]));
      else if (code === 1005) got('close', Buffer.alloc(0));
      resolve();
    }),
  );
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => reject(new ReplayError(`${url.href}: the server answered ${res.statusCode} ${res.statusMessage ?? ''} instead of 101`)));
    ws.once('error', (e) => reject(new ReplayError(`${url.href}: ${e.message}`)));
  });
  ws.on('error', () => undefined);
  start = Date.now();

  /** Resolves when `n` items have come, or after the time-out without a new one. */
  const waitFor = async (n: number): Promise<void> => {
    while (received.length < n && ws.readyState === WebSocket.OPEN) {
      const before = received.length;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, options.timeoutMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = null;
      if (received.length === before) return;
    }
  };

  const notes: string[] = options.control && !recordedControl ? ['--control: the recording has no ping, pong or close frames (a HAR needs --har-control for them): data messages only are compared'] : [];
  let closeSent = false;
  for (const [i, item] of toSend.entries()) {
    if (options.speed === '1') await sleep(start + item.at - Date.now());
    else if (options.speed === 'wait') await waitFor(expected.filter((e) => e.at <= item.at).length);
    if (ws.readyState !== WebSocket.OPEN) {
      notes.push(`the connection closed before client message ${i + 1} of ${toSend.length} was sent`);
      break;
    }
    if (item.truncated) notes.push(`client message ${i + 1} was cut at --max-preview in the recording: sent its first ${item.payload.length} of ${item.length} B`);
    switch (item.kind) {
      case 'text':
      case 'binary':
        ws.send(item.payload, { binary: item.kind === 'binary' });
        break;
      case 'ping':
        ws.ping(item.payload);
        break;
      case 'pong':
        ws.pong(item.payload);
        break;
      case 'close':
        closeSent = true;
        if (item.payload.length >= 2) ws.close(item.payload.readUInt16BE(0), item.payload.subarray(2));
        else ws.close();
        break;
    }
  }
  await waitFor(expected.length);
  if (!closeSent && ws.readyState === WebSocket.OPEN) ws.close(1000);
  await Promise.race([closed, sleep(options.timeoutMs)]);
  ws.terminate();

  const report: string[] = [`replayed session ${rec.session} against ${url.href} (speed ${options.speed}): sent ${toSend.length}, expected ${expected.length}, received ${received.length}`, ...notes];
  let differing = 0;
  for (let i = 0; i < Math.max(expected.length, received.length); i++) {
    const e = expected[i];
    const a = received[i];
    const when = `${e === undefined ? 'not recorded' : `recorded +${Math.round(e.at)} ms`}, ${a === undefined ? 'not received' : `now +${Math.round(a.at)} ms`}`;
    let verdict = 'differs';
    let lines: string[];
    if (e === undefined) {
      verdict = `unexpected ${a!.kind} message`;
      lines = [`actual:   ${describe(a!)}`];
    } else if (a === undefined) {
      verdict = `missing: no ${e.kind} message came`;
      lines = [`expected: ${describe(e)}`];
    } else lines = compareItems(e, a, ignore);
    if (lines.length === 0) continue;
    differing++;
    report.push(`server message ${i + 1} (${when}): ${verdict}`, ...lines.map((l) => `    ${l}`));
  }
  report.push(differing === 0 ? `all ${expected.length} server messages match` : `${differing} of ${Math.max(expected.length, received.length)} server messages differ`);
  // What the peers sent reaches the terminal escaped (its JSON escapes kept as they are).
  return { ok: differing === 0, report: report.map((line) => escapeForTerminal(line, { keepBackslash: true })) };
}
