/** --control: the JSON HTTP API adds, lists, toggles and removes rules mid-session and kills all. */
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RawData } from 'ws';
import { FaultEngine } from '../../src/fault/engine.js';
import { startControl } from '../../src/fault/control-api.js';
import { closed, echo, nextMessage, openWs, startProxy, startWsEcho, toBuffer } from '../helpers/proxy-harness.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function call(base: string, method: string, path: string, body?: unknown, raw = false): Promise<{ status: number; json: unknown }> {
  const res = await fetch(base + path, { method, ...(body === undefined ? {} : { body: raw ? String(body) : JSON.stringify(body) }), signal: AbortSignal.timeout(3000) });
  return { status: res.status, json: await res.json() };
}

test('the control API adds a rule mid-session, toggles and removes it, and kills all', async () => {
  const target = await startWsEcho();
  cleanups.push(() => target.close());
  const h = await startProxy(target.port);
  cleanups.push(() => h.close());
  const engine = new FaultEngine(1);
  engine.attach(h.proxy);
  cleanups.push(() => engine.close());
  const control = await startControl(engine, '127.0.0.1', 0);
  cleanups.push(() => control.close());
  assert.equal(control.host, '127.0.0.1');
  const base = `http://127.0.0.1:${control.port}`;

  const ws = await openWs(h.url);
  cleanups.push(() => ws.terminate());
  assert.equal((await echo(ws, 'before')).data.toString(), 'before');

  // Plain text body: a rule in the --fault grammar.
  const added = await call(base, 'POST', '/rules', 'server: drop match /secret/', true);
  assert.equal(added.status, 201);
  const rule = added.json as { id: number; rule: string; enabled: boolean };
  assert.deepEqual(rule, { id: 1, rule: 'server: drop match /secret/', enabled: true, hits: 0, source: 'control', session: null });

  const got: string[] = [];
  ws.on('message', (d: RawData) => got.push(toBuffer(d).toString()));
  ws.send('secret one');
  ws.send('public');
  await nextMessage(ws);
  assert.deepEqual(got, ['public'], 'the echo of the secret was dropped');

  assert.equal((await call(base, 'PATCH', `/rules/${rule.id}`, { enabled: false })).status, 200);
  const reply = nextMessage(ws);
  ws.send('secret two');
  assert.equal((await reply).data.toString(), 'secret two', 'disabled: passes');

  const list = await call(base, 'GET', '/rules');
  assert.deepEqual(list.json, [{ id: 1, rule: 'server: drop match /secret/', enabled: false, hits: 1, source: 'control', session: null }]);

  // A JSON object rule, then removal.
  const obj = await call(base, 'POST', '/rules', { direction: 'client', action: 'delay', args: ['10ms'] });
  assert.equal(obj.status, 201);
  assert.equal((obj.json as { rule: string }).rule, 'client: delay 10ms');
  assert.equal((await call(base, 'DELETE', '/rules/1')).status, 200);
  assert.equal((await call(base, 'DELETE', '/rules/1')).status, 404);

  const bad = await call(base, 'POST', '/rules', 'server: dely 200ms', true);
  assert.equal(bad.status, 400);
  assert.match((bad.json as { error: string }).error, /unknown action "dely"/);
  // A JSON object cut short is not taken for a rule's text.
  const broken = await call(base, 'POST', '/rules', '{"direction":', true);
  assert.equal(broken.status, 400);
  assert.match((broken.json as { error: string }).error, /^the body is not JSON: /);
  assert.equal((await call(base, 'POST', '/kill', { code: 1006 })).status, 400);
  assert.equal((await call(base, 'GET', '/nothing')).status, 404);

  const wsClosed = closed(ws);
  const kill = await call(base, 'POST', '/kill', { code: 1012, reason: 'restart' });
  assert.deepEqual(kill.json, { killed: 1 });
  assert.deepEqual(await wsClosed, { code: 1012, reason: 'restart' });
  assert.deepEqual((await call(base, 'GET', '/reconnects')).json, []);
});
