/**
 * Every script in docs/examples, run by the real proxy between real `ws` peers, and type-checked
 * against the package's public types the way an editor sees them.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import type { WebSocket } from 'ws';
import { connect, delay, startLive, startTarget, until, type Live, type Target } from '../script/live.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const EXAMPLES = join(ROOT, 'docs/examples');
const example = (name: string): string => join(EXAMPLES, name);
const tmp = mkdtempSync(join(tmpdir(), 'wsproxy-examples-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

async function withLive(target: Target, script: string, body: (live: Live) => Promise<void>): Promise<void> {
  const live = await startLive(target.port, { script: { path: script } });
  try {
    await body(live);
  } finally {
    await live.close();
    await target.close();
  }
}

describe('docs/examples', () => {
  test('json-rewrite.ts: a JSON field is rewritten, everything else passes untouched', async () => {
    const target = await startTarget({}, (ws) => {
      ws.on('message', (data, binary) => ws.send(data, { binary }));
      ws.send(JSON.stringify({ user: { name: 'ann', role: 'user' }, seq: 1 }));
      ws.send('not json');
      ws.send(JSON.stringify({ role: 'guest', seq: 3 }));
      ws.send(JSON.stringify({ seq: 4 }));
      ws.send(JSON.stringify({ role: 'admin', seq: 5 }));
    });
    await withLive(target, example('json-rewrite.ts'), async (live) => {
      const client = await connect(live.url);
      const got = await client.inbox.texts(5);
      assert.deepEqual(got.slice(0, 2), ['{"user":{"name":"ann","role":"admin"},"seq":1}', 'not json']);
      assert.deepEqual(JSON.parse(got[2]!), { role: 'admin', seq: 3 });
      assert.deepEqual(got.slice(3), ['{"seq":4}', '{"role":"admin","seq":5}']);
      client.send(JSON.stringify({ role: 'user' }));
      assert.equal((await client.inbox.next()).text, '{"role":"admin"}', 'the echo of a client message is rewritten on its way back');
      assert.equal(target.peers[0]!.inbox.all[0]!.text, '{"role":"user"}', 'client messages are not touched');
      await until(() => live.messages.length >= 7);
      const fromServer = live.messages.filter((m) => m.from === 'server').map((m) => `${m.fate}:${m.by ?? '-'}`);
      assert.deepEqual(fromServer, ['modified:script', 'forwarded:-', 'modified:script', 'forwarded:-', 'forwarded:-', 'modified:script']);
      assert.match(live.logText('info'), /role: "user" → "admin"/);
      await client.close();
    });
  });

  test('drop-heartbeats.ts: ping frames and heartbeat messages are dropped, the rest flows', async () => {
    let serverPings = 0;
    let serverSocket: WebSocket | null = null;
    const target = await startTarget({}, (ws, inbox) => {
      serverSocket = ws;
      ws.on('ping', () => serverPings++);
      ws.on('message', () => void inbox);
      ws.ping('are you there');
      ws.send(JSON.stringify({ type: 'heartbeat' }));
      ws.send('real 1');
      ws.send('ping');
      ws.send(JSON.stringify({ op: 'PING', d: 1 }));
      ws.send('real 2');
    });
    await withLive(target, example('drop-heartbeats.ts'), async (live) => {
      const client = await connect(live.url);
      let clientPings = 0;
      client.ws.on('ping', () => clientPings++);
      assert.deepEqual(await client.inbox.texts(2), ['real 1', 'real 2']);
      client.ws.ping();
      client.send('{"type":"keepalive"}');
      client.send('hello');
      await until(() => target.peers[0]!.inbox.all.length === 1);
      await delay(100);
      assert.deepEqual(target.peers[0]!.inbox.all.map((m) => m.text), ['hello']);
      assert.equal(clientPings, 0, 'the server ping never reached the client');
      assert.equal(serverPings, 0, 'the client ping never reached the server');
      assert.equal(client.inbox.all.length, 2);
      assert.ok(serverSocket !== null);
      await client.close();
      await until(() => live.logText().includes('dropped 2 ping frames and 4 heartbeat messages'), 3000, 'the summary at close').catch((e) => {
        throw new Error(`${e.message}\n${live.logText()}`);
      });
      const dropped = live.messages.filter((m) => m.fate === 'dropped');
      assert.equal(dropped.length, 4);
      assert.ok(dropped.every((m) => m.by === 'script'));
    });
  });

  test('inject-every.ts: a message is injected on a timer while the session is open', async () => {
    process.env['INJECT_EVERY_MS'] = '100';
    const target = await startTarget();
    await withLive(target, example('inject-every.ts'), async (live) => {
      const client = await connect(live.url);
      const first = JSON.parse((await client.inbox.next(2000)).text);
      client.send('echo me');
      const rest = [];
      for (let i = 0; i < 3; i++) rest.push((await client.inbox.next(2000)).text);
      assert.equal(first.type, 'injected');
      assert.equal(first.n, 1);
      assert.ok(rest.includes('echo me'), 'ordinary traffic goes on around the injections');
      const ns = rest.filter((t) => t !== 'echo me').map((t) => JSON.parse(t).n);
      assert.deepEqual(ns, [2, 3].slice(0, ns.length));
      assert.equal(target.peers[0]!.inbox.all.length, 1, 'injections go to the client only');
      await until(() => live.messages.filter((m) => m.fate === 'injected').length >= 3);
      await client.close();
      await until(() => live.closes.length === 1);
      const count = live.messages.filter((m) => m.fate === 'injected').length;
      await delay(300);
      assert.equal(live.messages.filter((m) => m.fate === 'injected').length, count, 'the timer stopped with the session');
      assert.equal(live.logText('warn'), '');
    });
  });

  test('fuzz-json-field.ts: one field mutated per client message, repeatable with a seed', async () => {
    process.env['FUZZ_FIELD'] = 'amount';
    process.env['FUZZ_SEED'] = '42';
    const run = async (): Promise<{ received: any[]; log: string }> => {
      const target = await startTarget();
      let received: any[] = [];
      let log = '';
      await withLive(target, example('fuzz-json-field.ts'), async (live) => {
        const client = await connect(live.url);
        for (let id = 1; id <= 20; id++) client.send(JSON.stringify({ id, amount: 10, note: 'keep' }));
        client.send(JSON.stringify({ id: 21, other: 1 }));
        client.send('plain text');
        await client.inbox.count(22);
        received = target.peers[0]!.inbox.all.map((m) => (m.text.startsWith('{') ? JSON.parse(m.text) : m.text));
        log = live.logText('info');
        // Server→client is not fuzzed: the echo comes back as the server sent it.
        assert.deepEqual(
          client.inbox.all.map((m) => m.text),
          target.peers[0]!.inbox.all.map((m) => m.text),
        );
        await client.close();
      });
      return { received, log };
    };
    const one = await run();
    const fuzzed = one.received.slice(0, 20);
    assert.deepEqual(fuzzed.map((m) => [m.id, m.note]), Array.from({ length: 20 }, (_, i) => [i + 1, 'keep']));
    assert.ok(fuzzed.every((m) => m.amount !== 10), 'every amount was mutated');
    assert.ok(new Set(fuzzed.map((m) => JSON.stringify(m.amount))).size > 5, 'with a variety of values');
    assert.deepEqual(one.received.slice(20), [{ id: 21, other: 1 }, 'plain text']);
    assert.equal(one.log.match(/fuzz message \d+: amount 10 → /g)?.length, 20);
    const two = await run();
    assert.deepEqual(two.received, one.received, 'the same seed replays the same mutations');
  });

  test('recorder.ts: every message in both directions ends up in the JSONL file', async () => {
    const file = join(tmp, 'recording.jsonl');
    process.env['RECORD_FILE'] = file;
    const target = await startTarget();
    await withLive(target, example('recorder.ts'), async (live) => {
      const client = await connect(`${live.url}/room?x=1`);
      client.send('hello');
      await client.inbox.count(1);
      client.send(Buffer.from([0, 1, 2, 255]));
      await client.inbox.count(2);
      assert.equal(client.inbox.all[0]!.text, 'hello');
      assert.deepEqual([...client.inbox.all[1]!.data], [0, 1, 2, 255]);
      await client.close();
      await until(() => live.closes.length === 1);
      await delay(50);
    });
    // live.close() unloaded the script, which closed the file.
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(
      lines.map((l) => [l.event, l.from ?? null, l.kind ?? null, l.text ?? l.base64 ?? null]),
      [
        ['open', null, null, null],
        ['message', 'client', 'text', 'hello'],
        ['message', 'server', 'text', 'hello'],
        ['message', 'client', 'binary', 'AAEC/w=='],
        ['message', 'server', 'binary', 'AAEC/w=='],
        ['close', null, null, null],
      ],
    );
    assert.equal(lines[0].path, '/room?x=1');
    assert.equal(lines[5].code, 1000);
    assert.ok(lines.every((l) => typeof l.time === 'string' && l.session === lines[0].session));
  });

  test('the examples type-check against the public types of the package', () => {
    const files = readdirSync(EXAMPLES)
      .filter((f) => f.endsWith('.ts'))
      .map((f) => join(EXAMPLES, f));
    assert.ok(files.length >= 5);
    const options: ts.CompilerOptions = {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      strict: true,
      exactOptionalPropertyTypes: true,
      noEmit: true,
      skipLibCheck: true,
      types: ['node'],
      lib: ['lib.es2023.d.ts'],
      // What an editor resolves 'wsproxy' to once the package is installed (its exported types).
      baseUrl: ROOT,
      paths: { wsproxy: ['src/index.ts'] },
    };
    const program = ts.createProgram(files, options);
    const diagnostics = ts.getPreEmitDiagnostics(program).filter((d) => d.file === undefined || files.includes(d.file.fileName));
    const text = ts.formatDiagnostics(diagnostics, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => ROOT, getNewLine: () => '\n' });
    assert.equal(text, '');
  });
});
