/**
 * Hot reload and TypeScript loading end to end: a TypeScript script in a folder with no
 * node_modules, edited while a real session runs through the real proxy.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { INTERCEPTOR_ORDER } from '../../src/proxy/control.js';
import { prepareScript, replaceInterceptor, ScriptLoadError } from '../../src/script/index.js';
import { connect, startLive, startTarget, until } from '../script/live.js';

const dir = mkdtempSync(join(tmpdir(), 'wsproxy-e2e-reload-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const script = (tag: string, broken = false): string => `import { defineScript, type ScriptMessage, type ScriptContext } from 'wsproxy';
import { Tagger, Mode } from './lib/tagger.js';

interface State { count: number }
const tagger = new Tagger<string>('${tag}', Mode.Suffix);
${broken ? 'const oops: number = ;' : ''}
export default defineScript<State>({
  initState: () => ({ count: 0 }),
  onOpen(session, ctx) {
    ctx.log('open', session.path, session.protocol ?? '-');
  },
  onMessage(msg: ScriptMessage, ctx: ScriptContext<State>) {
    if (msg.from !== 'client') return;
    ctx.state.count += 1;
    return tagger.tag(msg.text, ctx.state.count);
  },
});
`;

test('a TypeScript script with local imports loads from a bare folder and hot-reloads under a live session', async () => {
  mkdirSync(join(dir, 'lib'));
  writeFileSync(
    join(dir, 'lib/tagger.ts'),
    `export enum Mode { Prefix, Suffix }
export class Tagger<T extends string> {
  constructor(private readonly name: T, private readonly mode: Mode) {}
  tag(text: string, n: number): string {
    return this.mode === Mode.Prefix ? \`\${this.name}#\${n} \${text}\` : \`\${text} [\${this.name}#\${n}]\`;
  }
}
`,
  );
  const file = join(dir, 'rewrite.ts');
  writeFileSync(file, script('v1'));
  const target = await startTarget({ handleProtocols: () => 'chat' });
  const live = await startLive(target.port, { script: { path: file, watch: true } });
  try {
    const client = await connect(`${live.url}/feed`, {}, ['chat']);
    client.send('a');
    assert.equal((await client.inbox.next()).text, 'a [v1#1]');
    await until(() => live.logText().includes('open /feed chat')).catch((e) => {
      throw new Error(`${e.message}\n${live.logText()}`);
    });

    const t0 = Date.now();
    writeFileSync(file, script('v2'));
    await until(() => live.logText().includes('reloaded'), 1000, 'the reload');
    assert.ok(Date.now() - t0 < 1000);
    client.send('b');
    assert.equal((await client.inbox.next()).text, 'b [v2#2]', 'same session, new code, state kept');

    writeFileSync(file, script('v3', true));
    await until(() => live.logText('error').includes('reload of rewrite.ts failed'), 2000, 'the failed reload');
    assert.match(live.logText('error'), /rewrite\.ts:6:22: Unexpected ";"/);
    client.send('c');
    assert.equal((await client.inbox.next()).text, 'c [v2#3]', 'the previous version keeps running');
    assert.match(live.script!.state(), /reload failed/);

    writeFileSync(file, script('v4'));
    await until(() => live.script!.state() === 'rewrite.ts (reloaded 2×)', 2000, 'the fixed reload');
    client.send('d');
    assert.equal((await client.inbox.next()).text, 'd [v4#4]');

    assert.equal(client.ws.readyState, client.ws.OPEN, 'the session was never dropped');
    assert.equal(live.closes.length, 0);
    await client.close();
  } finally {
    await live.close();
    await target.close();
  }
});

test('--replace rules run before the script, on the same decision path', async () => {
  const file = join(dir, 'after-rules.mjs');
  writeFileSync(file, "export default { onMessage(msg) { if (msg.from === 'client' && msg.text.includes('REDACTED')) return msg.text + ' (seen by script)'; } };\n");
  const prepared = await prepareScript({ path: file, timeoutMs: 1000, failMode: 'open', watch: false });
  const target = await startTarget();
  const live = await startLive(target.port, {
    beforeScript: (proxy) => {
      proxy.use(replaceInterceptor(['client:/password=\\w+/password=REDACTED/g', 'server:/(\\d+)/<$1>/g']), INTERCEPTOR_ORDER.replace);
    },
  });
  const handle = prepared.start(live.proxy);
  try {
    const client = await connect(live.url);
    client.send('login password=hunter2 try 1');
    assert.equal(target.peers.length, 1);
    assert.equal((await client.inbox.next()).text, 'login password=REDACTED try <1> (seen by script)');
    assert.equal(target.peers[0]!.inbox.all[0]!.text, 'login password=REDACTED try 1 (seen by script)');
    client.send('nothing to see');
    assert.equal((await client.inbox.next()).text, 'nothing to see');
    await until(() => live.messages.length >= 4);
    const fates = live.messages.map((m) => `${m.from}:${m.fate}:${m.by ?? '-'}`);
    assert.deepEqual(fates.slice(0, 2), ['client:modified:script', 'server:modified:replace']);
    await client.close();
  } finally {
    await handle.close();
    await live.close();
    await target.close();
  }
});

test('a script that fails to load is reported before the proxy would listen', async () => {
  const file = join(dir, 'broken.ts');
  writeFileSync(file, "import { defineScript } from 'wsproxy';\nexport default defineScript({\n  onMessage(msg) {\n    return msg.text +;\n  },\n});\n");
  await assert.rejects(prepareScript({ path: file, timeoutMs: 1000, failMode: 'open', watch: false }), (error: unknown) => {
    assert.ok(error instanceof ScriptLoadError);
    assert.equal(`${error.file}:${error.line}`, `${file}:4`);
    assert.match(error.message, /^.*broken\.ts:4:\d+: Unexpected ";"\n/);
    return true;
  });
});
