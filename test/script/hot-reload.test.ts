import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { startScript, ScriptLoadError } from '../../src/script/index.js';
import { FakeProxy, text, until } from './fake-proxy.js';

const root = mkdtempSync(join(tmpdir(), 'wsproxy-reload-'));
after(() => rmSync(root, { recursive: true, force: true }));

const version = (tag: string, extra = ''): string =>
  `import { defineScript } from 'wsproxy';\n${extra}\nexport default defineScript({\n  initState: () => ({ n: 0 }),\n  onMessage(msg, ctx) { ctx.state.n++; return '${tag}:' + ctx.state.n + ':' + msg.text; },\n});\n`;

test('editing the script reloads it within a second; sessions and their state stay; a broken edit keeps the previous version', async () => {
  const file = join(root, 'rewrite.ts');
  writeFileSync(file, version('v1'));
  const proxy = new FakeProxy();
  const handle = await startScript(proxy, { path: file, timeoutMs: 1000, failMode: 'open', watch: true });
  try {
    assert.equal(handle.state(), 'rewrite.ts');
    proxy.open(1);
    assert.deepEqual(text(await proxy.decide(1, 'client', 'text', 'a')), ['v1:1:a']);

    // An ordinary write.
    const t0 = Date.now();
    writeFileSync(file, version('v2'));
    await until(() => proxy.logText().includes('script rewrite.ts reloaded'), 1000, 'the reload');
    const took = Date.now() - t0;
    assert.ok(took < 1000, `reload took ${took} ms`);
    assert.deepEqual(text(await proxy.decide(1, 'client', 'text', 'b')), ['v2:2:b'], 'new code, same session state');
    assert.equal(handle.state(), 'rewrite.ts (reloaded 1×)');

    // A broken edit: logged with file and line, the previous version keeps deciding.
    writeFileSync(file, version('v3', 'const broken: number = ;'));
    await until(() => proxy.logText('error').includes('reload of rewrite.ts failed'), 2000, 'the failed reload');
    assert.match(proxy.logText('error'), new RegExp(`the previous version keeps running: ${file.replace(/[.\\/]/g, '\\$&')}:2:24: Unexpected ";"`));
    assert.match(handle.state(), /^rewrite\.ts: reload failed \(rewrite\.ts:2: Unexpected ";"\), previous version running$/);
    assert.deepEqual(text(await proxy.decide(1, 'client', 'text', 'c')), ['v2:3:c']);

    // Saved the way many editors do: a new file renamed over the old one; it now imports a helper.
    writeFileSync(join(root, 'helper.ts'), "export const tag = 'h1';\n");
    writeFileSync(`${file}.tmp`, version('v4', "import { tag } from './helper.js';").replace("'v4:'", "tag + ':'"));
    renameSync(`${file}.tmp`, file);
    await until(() => handle.state() === 'rewrite.ts (reloaded 2×)', 2000, 'the reload after the rename');
    assert.deepEqual(text(await proxy.decide(1, 'client', 'text', 'd')), ['h1:4:d']);

    // Editing only the helper reloads too.
    writeFileSync(join(root, 'helper.ts'), "export const tag = 'h2';\n");
    await until(() => handle.state() === 'rewrite.ts (reloaded 3×)', 2000, 'the reload after the helper changed');
    assert.deepEqual(text(await proxy.decide(1, 'client', 'text', 'e')), ['h2:5:e']);
    assert.equal(proxy.sessions()[0]!.state, 'open');
  } finally {
    await handle.close();
  }
  assert.equal(proxy.interceptors.length, 0, 'close() leaves the chain');
});

test('a script that fails to load is a ScriptLoadError before anything starts', async () => {
  const file = join(root, 'broken.mjs');
  writeFileSync(file, 'export default {\n  onMessage( {\n};\n');
  const proxy = new FakeProxy();
  await assert.rejects(startScript(proxy, { path: file, timeoutMs: 1000, failMode: 'open', watch: false }), (error: unknown) => {
    assert.ok(error instanceof ScriptLoadError);
    assert.equal(error.file, file);
    assert.equal(error.line, 3);
    return true;
  });
  assert.equal(proxy.interceptors.length, 0);
});

test('reload() forces a reload; onUnload runs for the replaced version', async () => {
  // The script runs in its own thread: it counts its unloads in a file.
  const file = join(root, 'unload.mjs');
  const count = join(root, 'unloads.txt');
  writeFileSync(count, '');
  writeFileSync(file, `import { appendFileSync } from 'node:fs';\nexport default { onMessage: () => 'x', onUnload() { appendFileSync(${JSON.stringify(count)}, 'u'); } };\n`);
  const proxy = new FakeProxy();
  const handle = await startScript(proxy, { path: file, timeoutMs: 1000, failMode: 'open', watch: false });
  try {
    assert.equal(await handle.reload(), true);
    assert.equal(readFileSync(count, 'utf8'), 'u');
  } finally {
    await handle.close();
  }
  assert.equal(readFileSync(count, 'utf8'), 'uu');
});
