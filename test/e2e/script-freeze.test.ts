/**
 * A script cannot freeze the proxy: hooks run in a worker thread. A hook (or a timer) that never
 * returns is abandoned after --script-timeout, its thread replaced; other sessions, new upgrades
 * and signals go on meanwhile. A replacement larger than --max-message is refused.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { connect, delay, startLive, startTarget, until } from '../script/live.js';

const dir = mkdtempSync(join(tmpdir(), 'wsproxy-freeze-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Loops forever on the text "loop"; tags every other client message. */
const LOOPING = `import { defineScript } from 'wsproxy';
export default defineScript({
  onMessage(msg) {
    if (msg.from !== 'client') return;
    if (msg.text === 'loop') for (;;) {}
    return 'tagged:' + msg.text;
  },
});
`;

for (const failMode of ['open', 'closed'] as const) {
  test(`a hook that loops forever: other sessions keep relaying, new upgrades work, the message fails ${failMode}, the script comes back`, { timeout: 60_000 }, async () => {
    const file = join(dir, `looping-${failMode}.ts`);
    writeFileSync(file, LOOPING);
    const target = await startTarget();
    // Time enough to see the relay serve others while the hook is known to be still spinning.
    const live = await startLive(target.port, { script: { path: file, timeoutMs: 1500, failMode } });
    try {
      const a = await connect(`${live.url}/a`);
      const b = await connect(`${live.url}/b`);
      a.send('first');
      assert.equal((await a.inbox.next()).text, 'tagged:first');

      a.send('loop');
      a.send('after the loop');
      // While the script's thread spins, the relay's thread is free: b's frames that need no
      // decision (a ping: the script has no onFrame) are relayed at once, a new client upgrades,
      // and b's text message is decided by the new thread (it was never begun by the old one).
      await delay(50);
      const t0 = Date.now();
      const pong = new Promise<number>((resolve) => b.ws.once('pong', () => resolve(Date.now() - t0)));
      b.ws.ping('are you there');
      b.send('from b');
      const c = await connect(`${live.url}/c`);
      const upgraded = Date.now() - t0;
      const ponged = await pong;
      assert.doesNotMatch(live.logText(), /busy for/, `the hook was still spinning when b's pong came (${ponged} ms) and c upgraded (${upgraded} ms)`);
      assert.equal((await b.inbox.next(15_000)).text, 'tagged:from b');
      await c.close();

      // The looping message went on as configured; the thread was replaced and the user told.
      await until(() => /busy for \d+ ms, longer than --script-timeout \(1500 ms\).*new one started/.test(live.logText('error')), 5000, 'the restart log record');
      await until(() => /script looping-\w+\.ts restarted/.test(live.logText('info')), 15_000, 'the restarted record');
      assert.match(live.script!.state(), /^looping-\w+\.ts \(thread restarted 1×\)$/);
      const loopRecord = await until(() => live.messages.some((m) => m.from === 'client' && Buffer.from(m.payload).toString() === 'loop'), 3000, 'the looping message on the record').then(
        () => live.messages.find((m) => m.from === 'client' && Buffer.from(m.payload).toString() === 'loop')!,
      );
      assert.equal(loopRecord.fate, failMode === 'open' ? 'forwarded' : 'dropped');

      // The message queued behind the loop was decided by the new thread.
      await until(() => a.inbox.all.some((m) => m.text === 'tagged:after the loop'), 15_000, 'the message behind the loop, decided');
      assert.equal(a.inbox.all.some((m) => m.text === 'loop'), failMode === 'open');
      // The script works again, for old and new sessions.
      a.send('later');
      await until(() => a.inbox.all.some((m) => m.text === 'tagged:later'), 5000, 'a later message, decided');
      const d = await connect(`${live.url}/d`);
      d.send('new');
      assert.equal((await d.inbox.next(10_000)).text, 'tagged:new');
      await Promise.all([a.close(), b.close(), d.close()]);
    } finally {
      await live.close();
      await target.close();
    }
  });
}

test('a timer callback that loops forever is caught the same way', { timeout: 30_000 }, async () => {
  const file = join(dir, 'timer.ts');
  writeFileSync(
    file,
    `import { defineScript } from 'wsproxy';
export default defineScript({
  onOpen(session, ctx) { if (session.path === '/spin') ctx.setTimeout(() => { for (;;) {} }, 10); },
  onMessage(msg) { if (msg.from === 'client') return 'seen:' + msg.text; },
});
`,
  );
  const target = await startTarget();
  const live = await startLive(target.port, { script: { path: file, timeoutMs: 300, failMode: 'open' } });
  try {
    const spin = await connect(`${live.url}/spin`);
    await until(() => /busy for \d+ ms/.test(live.logText('error')), 5000, 'the restart record');
    await until(() => /restarted/.test(live.logText('info')), 15_000, 'the restarted record');
    const other = await connect(`${live.url}/other`);
    other.send('x');
    assert.equal((await other.inbox.next(10_000)).text, 'seen:x');
    await Promise.all([spin.close(), other.close()]);
  } finally {
    await live.close();
    await target.close();
  }
});

test('a replacement larger than --max-message is refused with a log record', { timeout: 30_000 }, async () => {
  const file = join(dir, 'huge.ts');
  writeFileSync(
    file,
    `import { defineScript } from 'wsproxy';
export default defineScript({
  onMessage(msg, ctx) {
    if (msg.from !== 'client') return;
    if (msg.text === 'inflate') return Buffer.alloc(2 * 1024 * 1024, 0x61).toString();
    if (msg.text === 'send') { ctx.send({ to: 'client', data: Buffer.alloc(2 * 1024 * 1024) }); return; }
    return 'small:' + msg.text;
  },
});
`,
  );
  const target = await startTarget({ maxPayload: 64 * 1024 * 1024 });
  for (const failMode of ['open', 'closed'] as const) {
    const live = await startLive(target.port, { maxMessage: 1024 * 1024, script: { path: file, timeoutMs: 2000, failMode, maxMessage: 1024 * 1024 } });
    try {
      const client = await connect(live.url, { maxPayload: 64 * 1024 * 1024 });
      client.send('inflate');
      client.send('send');
      client.send('next');
      const got = await client.inbox.texts(failMode === 'open' ? 3 : 2, 5000);
      assert.deepEqual(got, failMode === 'open' ? ['inflate', 'send', 'small:next'] : ['send', 'small:next']);
      await until(() => /returned a 2097152-byte text message, larger than --max-message \(1048576 bytes\): replacement refused/.test(live.logText('error')), 3000, 'the refusal record');
      await until(() => /ctx.send of a 2097152-byte binary message refused: larger than --max-message/.test(live.logText('error')), 3000, 'the ctx.send refusal record');
      assert.ok(client.inbox.all.every((m) => m.data.length < 1024), 'nothing oversize reached the client');
      await client.close();
    } finally {
      await live.close();
    }
  }
  await target.close();
});

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = pathToFileURL(join(ROOT, 'src/cli/main.ts')).href;
const TSX = import.meta.resolve('tsx');

test('SIGTERM stops the real command within 2 s while a hook loops forever', { timeout: 60_000 }, async () => {
  const file = join(dir, 'sigterm.ts');
  writeFileSync(file, LOOPING);
  const target = await startTarget();
  // A long --script-timeout: the hook is still looping when the signal comes.
  const child = spawn(
    process.execPath,
    ['--import', TSX, '--input-type=module', '-e', `import { main } from ${JSON.stringify(MAIN)}; await main(process.argv);`, 'wsproxy', '--listen', '127.0.0.1:0', '--target', `127.0.0.1:${target.port}`, '--headless', '--script', file, '--script-timeout', '60000'],
    { cwd: dir, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    await until(() => /listening on \S+:(\d+)/.test(stderr), 25_000, 'the listening line');
    const port = /listening on \S+:(\d+)/.exec(stderr)![1];
    const a = await connect(`ws://127.0.0.1:${port}/`);
    a.send('loop');
    await delay(500);
    // The relay still serves while the hook spins.
    const b = await connect(`ws://127.0.0.1:${port}/`);
    b.ws.terminate();
    const t0 = Date.now();
    child.kill('SIGTERM');
    const code = await Promise.race([exited, delay(5000).then(() => 'still running' as const)]);
    const took = Date.now() - t0;
    assert.notEqual(code, 'still running', `the command ignored SIGTERM (stderr: ${stderr})`);
    assert.equal(code, 0);
    assert.ok(took < 2000, `SIGTERM took ${took} ms`);
    a.ws.terminate();
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    await target.close();
  }
});
