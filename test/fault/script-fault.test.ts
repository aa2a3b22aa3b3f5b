/** ctx.fault from a script: rules on one session (gone when it ends) or on every session. */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { faultEngineFor } from '../../src/fault/engine.js';
import { connect, startLive, startTarget, until } from '../script/live.js';

const dir = mkdtempSync(join(tmpdir(), 'wsproxy-ctx-fault-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('ctx.fault adds a rule for its session; it goes when the session ends; a bad rule is a one-line error', async () => {
  const script = join(dir, 'faults.ts');
  writeFileSync(
    script,
    `export default {
  onOpen(session, ctx) {
    if (session.path === '/scoped') {
      const f = ctx.fault('server: drop match /hidden/');
      ctx.log('added', f.id, f.rule);
    }
    if (session.path === '/bad') {
      try { ctx.fault('server: dely 1s'); } catch (e) { ctx.log('refused:', e.message); }
    }
  },
  onMessage(msg, ctx) {
    if (msg.from === 'client' && msg.text === 'slow down') ctx.fault({ direction: 'server', action: 'delay', args: [250] });
  },
};
`,
  );
  const target = await startTarget({}, (ws) => ws.on('message', (d, binary) => ws.send(d, { binary })));
  const live = await startLive(target.port, { script: { path: script } });
  try {
    const scoped = await connect(`${live.url}/scoped`);
    const other = await connect(`${live.url}/other`);
    scoped.send('hidden one');
    scoped.send('visible');
    other.send('hidden two');
    assert.equal((await scoped.inbox.next()).text, 'visible');
    assert.equal((await other.inbox.next()).text, 'hidden two', 'the other session is not affected');
    assert.match(live.logText(), /added \d+ server: drop match \/hidden\//);
    const engine = faultEngineFor(live.proxy);
    assert.equal(engine.rules().length, 1);
    assert.equal(engine.rules()[0]!.source, 'script');

    // A rule added from onMessage acts on what follows in that session.
    other.send('slow down');
    const t0 = Date.now();
    await other.inbox.next();
    assert.ok(Date.now() - t0 >= 200, 'the echo of "slow down" waited');

    scoped.ws.close();
    other.ws.close();
    await until(() => engine.rules().length === 0, 3000, 'session rules removed with their sessions');

    const bad = await connect(`${live.url}/bad`);
    await until(() => /refused: ctx\.fault: unknown action "dely"/.test(live.logText()), 3000, 'the error line');
    bad.ws.close();
  } finally {
    await live.close();
    await target.close();
  }
});
