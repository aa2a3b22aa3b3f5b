/**
 * --control PORT: a small JSON HTTP API for CI, on 127.0.0.1 unless --control-host says otherwise.
 * A plain node:http handler: five routes do not need a router.
 *
 *   GET    /rules               the rules: [{ id, rule, enabled, hits, source, session }]
 *   POST   /rules               add one: a rule string, or a JSON rule object (docs/faults.md)
 *   PATCH  /rules/ID            { "enabled": true|false }
 *   DELETE /rules/ID            remove it
 *   POST   /kill                kill all now: optional { "code": 1012, "reason": "...", "refuse": "5s" }
 *   GET    /reconnects          the reconnect report of the last storm so far
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ActiveRule, FaultEngine } from './engine.js';
import { FaultRuleError, parseDuration } from './rule.js';

const MAX_BODY = 64 * 1024;

export interface ControlServer {
  readonly port: number;
  readonly host: string;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function ruleJson(r: ActiveRule): Record<string, unknown> {
  return { id: r.id, rule: r.rule.text, enabled: r.enabled, hits: r.hits, source: r.source, session: r.session };
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new HttpError(413, `body over ${MAX_BODY} bytes`));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** A body is JSON, or (for POST /rules) a rule as plain text, which never starts with { or [. */
function parseBody(text: string, plainRule: boolean): unknown {
  const t = text.trim();
  if (t === '') return undefined;
  try {
    return JSON.parse(t);
  } catch (error) {
    if (plainRule && !/^[{[]/.test(t)) return t;
    throw new HttpError(400, `the body is not JSON: ${(error as Error).message}`);
  }
}

async function handle(engine: FaultEngine, req: http.IncomingMessage): Promise<{ status: number; body: unknown }> {
  const url = new URL(req.url ?? '/', 'http://control');
  const parts = url.pathname.split('/').filter((p) => p !== '');
  const method = req.method ?? 'GET';
  if (parts[0] === 'rules' && parts.length === 1) {
    if (method === 'GET') return { status: 200, body: engine.rules().map(ruleJson) };
    if (method === 'POST') {
      const value = parseBody(await readBody(req), true);
      if (value === undefined) throw new HttpError(400, 'no rule in the body');
      const list = Array.isArray(value) ? value : [value];
      const added = list.map((v, i) => engine.addJson(v, 'control', list.length > 1 ? `rule ${i + 1}` : 'rule'));
      return { status: 201, body: Array.isArray(value) ? added.map(ruleJson) : ruleJson(added[0]!) };
    }
    throw new HttpError(405, `${method} /rules: use GET or POST`);
  }
  if (parts[0] === 'rules' && parts.length === 2) {
    const id = /^\d+$/.test(parts[1]!) ? Number(parts[1]) : NaN;
    const rule = engine.rules().find((r) => r.id === id);
    if (rule === undefined) throw new HttpError(404, `no rule ${parts[1]}`);
    if (method === 'GET') return { status: 200, body: ruleJson(rule) };
    if (method === 'DELETE') {
      engine.remove(id);
      return { status: 200, body: ruleJson(rule) };
    }
    if (method === 'PATCH') {
      const value = parseBody(await readBody(req), false) as { enabled?: unknown } | undefined;
      if (typeof value?.enabled !== 'boolean') throw new HttpError(400, 'expected { "enabled": true | false }');
      engine.setEnabled(id, value.enabled);
      return { status: 200, body: ruleJson(rule) };
    }
    throw new HttpError(405, `${method} /rules/${id}: use GET, PATCH or DELETE`);
  }
  if (parts[0] === 'kill' && parts.length === 1) {
    if (method !== 'POST') throw new HttpError(405, 'use POST /kill');
    const value = (parseBody(await readBody(req), false) ?? {}) as { code?: unknown; reason?: unknown; refuse?: unknown };
    let close: { code: number; reason: string } | null = null;
    if (value.code !== undefined) {
      if (typeof value.code !== 'number' || !((value.code >= 1000 && value.code <= 1003) || (value.code >= 1007 && value.code <= 1014) || (value.code >= 3000 && value.code <= 4999))) {
        throw new HttpError(400, `"code": ${JSON.stringify(value.code)} is not a close code that may be sent`);
      }
      close = { code: value.code, reason: typeof value.reason === 'string' ? value.reason : '' };
    }
    const refuse = value.refuse === undefined ? 0 : typeof value.refuse === 'number' ? value.refuse : parseDuration(String(value.refuse));
    if (refuse === null || refuse < 0) throw new HttpError(400, `"refuse": ${JSON.stringify(value.refuse)} is not a duration (like 5s, or milliseconds)`);
    return { status: 200, body: { killed: engine.killAll(close, refuse) } };
  }
  if (parts[0] === 'reconnects' && parts.length === 1 && method === 'GET') return { status: 200, body: engine.reconnects() };
  throw new HttpError(404, `no route ${method} ${url.pathname} (GET/POST /rules, PATCH/DELETE /rules/ID, POST /kill, GET /reconnects)`);
}

export async function startControl(engine: FaultEngine, host: string, port: number): Promise<ControlServer> {
  const server = http.createServer((req, res) => {
    const reply = (status: number, body: unknown): void => {
      const text = `${JSON.stringify(body)}\n`;
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    };
    handle(engine, req).then(
      (r) => reply(r.status, r.body),
      (error: unknown) => {
        if (error instanceof HttpError) reply(error.status, { error: error.message });
        else if (error instanceof FaultRuleError) reply(400, { error: error.message });
        else reply(500, { error: error instanceof Error ? error.message : String(error) });
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  return {
    port: address.port,
    host: address.address,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
