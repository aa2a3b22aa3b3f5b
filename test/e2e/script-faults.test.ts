/**
 * Faults in a script, end to end: a throwing hook, a hook over --script-timeout and a bad return
 * value are logged with where they happened, the message is forwarded (fail open) or dropped
 * (--script-fail closed), and the proxy keeps relaying. Also: what the headless output and the
 * JSONL log show of rewrites, drops, injections and script logs, and messages over --max-message.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, test } from 'node:test';
import { attachHeadless } from '../../src/output/headless.js';
import { attachJsonl } from '../../src/output/jsonl.js';
import { connect, delay, startLive, startTarget, until } from '../script/live.js';

const dir = mkdtempSync(join(tmpdir(), 'wsproxy-faults-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const FAULTY = join(dir, 'faulty.ts');
writeFileSync(
  FAULTY,
  `import { defineScript } from 'wsproxy';

function explode(what: string): never {
  throw new Error('script exploded on ' + what);
}

export default defineScript({
  onMessage(msg) {
    if (msg.from !== 'client') return;
    switch (msg.text) {
      case 'throw':
        return explode(msg.text);
      case 'hang':
        return new Promise<string>(() => {});
      case 'bad':
        return 42 as unknown as string;
      case 'reject':
        return Promise.reject('a string, not an Error');
      default:
        return msg.text + '!';
    }
  },
});
`,
);

for (const failMode of ['open', 'closed'] as const) {
  test(`fail ${failMode}: throw, time-out, bad value and rejection are logged; the proxy keeps running`, async () => {
    const target = await startTarget();
    const live = await startLive(target.port, { script: { path: FAULTY, timeoutMs: 300, failMode } });
    try {
      const client = await connect(live.url);
      for (const m of ['throw', 'hang', 'ok', 'bad', 'reject', 'last']) client.send(m);
      const expected = failMode === 'open' ? ['throw', 'hang', 'ok!', 'bad', 'reject', 'last!'] : ['ok!', 'last!'];
      assert.deepEqual(await client.inbox.texts(expected.length, 5000), expected);
      await delay(100);
      assert.equal(client.inbox.all.length, expected.length);

      const errors = live.logs.filter((l) => l.source === 'script' && l.level === 'error').map((l) => l.text);
      const outcome = failMode === 'open' ? 'forwarded unchanged' : 'dropped \\(--script-fail closed\\)';
      assert.equal(errors.length, 4, errors.join('\n---\n'));
      // The stack points into the script file, at the throwing line, without the proxy's frames.
      assert.match(errors[0]!, new RegExp(`^onMessage threw on message \\d+ client→server; ${outcome}: Error: script exploded on throw\\n\\s+at explode \\(${FAULTY.replace(/[./]/g, '\\$&')}:4:9\\)`));
      assert.doesNotMatch(errors[0]!, /src\/script|node:internal/);
      assert.match(errors[1]!, new RegExp(`^onMessage did not finish within 300 ms \\(--script-timeout\\) on message \\d+ client→server; ${outcome}$`));
      assert.match(errors[2]!, new RegExp(`^onMessage on message \\d+ client→server: returned a number \\(42\\).*; ${outcome}$`));
      assert.match(errors[3]!, /^onMessage threw on message \d+ client→server.*: non-Error value thrown: "a string, not an Error"$/);
      if (failMode === 'closed') {
        const dropped = live.messages.filter((m) => m.fate === 'dropped');
        assert.equal(dropped.length, 4);
        assert.ok(dropped.every((m) => m.by === 'script'));
      }
      await client.close();

      // A new session works as before.
      const again = await connect(live.url);
      again.send('fresh');
      assert.equal((await again.inbox.next()).text, 'fresh!');
      await again.close();
    } finally {
      await live.close();
      await target.close();
    }
  });
}

test('rewrites, drops, injections and script logs show as such in the headless output and the JSONL log', async () => {
  const script = join(dir, 'visible.mjs');
  writeFileSync(
    script,
    `export default {
  onOpen(session, ctx) { ctx.send({ to: 'client', text: 'injected hello' }); },
  onMessage(msg, ctx) {
    if (msg.text === 'drop me') return ctx.drop();
    if (msg.text === 'change me') { ctx.log('changing', msg.id); return 'changed'; }
  },
};
`,
  );
  const target = await startTarget();
  const jsonlPath = join(dir, 'log.jsonl');
  const out = new PassThrough();
  let printed = '';
  out.on('data', (chunk: Buffer) => (printed += chunk.toString()));
  let printer: ReturnType<typeof attachHeadless> | undefined;
  let jsonl: ReturnType<typeof attachJsonl> | undefined;
  const live = await startLive(target.port, {
    script: { path: script },
    beforeScript: (proxy) => {
      printer = attachHeadless(proxy.bus, out, { color: false });
      jsonl = attachJsonl(proxy.bus, jsonlPath);
    },
  });
  try {
    const client = await connect(live.url);
    assert.equal((await client.inbox.next()).text, 'injected hello');
    client.send('drop me');
    client.send('change me');
    client.send('keep me');
    assert.deepEqual(await client.inbox.texts(2), ['changed', 'keep me']);
    await client.close();
    await until(() => live.closes.length === 1);
  } finally {
    await live.close();
    await target.close();
    await printer?.close();
    await (await jsonl)?.close();
  }
  assert.match(printed, /message \d+ text 1 frame 14 B \[injected\] "?injected hello/);
  assert.match(printed, /\[dropped by script\] "?drop me/);
  assert.match(printed, /\[modified by script\] "?change me/);
  assert.match(printed, /script.*changing \d+/);
  const lines = readFileSync(jsonlPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const messages = lines.filter((l) => l.type === 'message');
  assert.ok(messages.some((m) => m.fate === 'injected' && m.injected === true && m.payload === 'injected hello'));
  assert.ok(messages.some((m) => m.fate === 'dropped' && m.by === 'script' && m.payload === 'drop me'));
  assert.ok(messages.some((m) => m.fate === 'modified' && m.by === 'script' && m.payload === 'change me'));
  assert.ok(lines.some((l) => l.type === 'log' && l.source === 'script' && /^changing \d+$/.test(l.text)));
  const frames = lines.filter((l) => l.type === 'frame');
  assert.ok(frames.some((f) => f.modified === true && f.payload === 'changed'), 'the rewritten frame is marked modified');
  assert.ok(frames.some((f) => f.injected === true && f.payload === 'injected hello'), 'the injected frame is marked injected');
});

const BIG_SCRIPT = join(dir, 'big.mjs');
writeFileSync(
  BIG_SCRIPT,
  `export default {
  onMessage(msg) { return msg.text.toUpperCase(); },
  onStreamed(info, ctx) { ctx.log('streamed', info.kind, info.from, info.length >= 1024); },
};
`,
);

for (const shape of ['fragments arriving one by one', 'one frame arriving at once'] as const) {
  test(`a message over --max-message streams through unmodified and the script is told (${shape})`, async () => {
    const target = await startTarget();
    const live = await startLive(target.port, { script: { path: BIG_SCRIPT }, maxMessage: 1024 });
    try {
      const client = await connect(live.url);
      const big = 'x'.repeat(5000);
      client.send('small');
      if (shape === 'one frame arriving at once') client.send(big);
      else {
        for (let i = 0; i < 5; i++) {
          await new Promise<void>((resolve) => client.ws.send(big.slice(i * 1000, (i + 1) * 1000), { fin: i === 4 }, () => resolve()));
          await delay(20);
        }
      }
      client.send('small again');
      // The target echoes: small ones are changed both ways (already upper case on the way back).
      assert.deepEqual(await client.inbox.texts(3), ['SMALL', big, 'SMALL AGAIN']);
      assert.deepEqual(target.peers[0]!.inbox.all.map((m) => m.text), ['SMALL', big, 'SMALL AGAIN']);
      await until(() => live.logs.filter((l) => l.source === 'script' && l.text.startsWith('streamed')).length === 2);
      const notes = live.logs.filter((l) => l.source === 'script').map((l) => l.text);
      assert.ok(notes.includes('streamed text client true'));
      assert.ok(notes.includes('streamed text server true'));
      assert.ok(notes.some((t) => /a text message client→server of \d+\+ bytes is over --max-message: streamed through unmodified, onMessage not called/.test(t)));
      assert.equal(live.messages.filter((m) => m.fate === 'streamed').length, 2);
      await client.close();
    } finally {
      await live.close();
      await target.close();
    }
  });
}
