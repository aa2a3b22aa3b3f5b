import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { loadScript, ScriptLoadError } from '../../src/script/loader.js';
import { defineScript } from '../../src/script/define-script.js';

// Scripts live outside the project, in folders with no node_modules and no package.json.
const root = mkdtempSync(join(tmpdir(), 'wsproxy-loader-'));
after(() => rmSync(root, { recursive: true, force: true }));

let n = 0;
function dir(files: Record<string, string>): string {
  const d = join(root, `case${++n}`);
  for (const [name, body] of Object.entries(files)) {
    mkdirSync(join(d, name, '..'), { recursive: true });
    writeFileSync(join(d, name), body);
  }
  return d;
}

async function loadError(d: string, file: string): Promise<ScriptLoadError> {
  try {
    await loadScript(file, d);
  } catch (error) {
    assert.ok(error instanceof ScriptLoadError, `expected a ScriptLoadError, got ${String(error)}`);
    return error;
  }
  assert.fail('the script loaded');
}

describe('loading', () => {
  test("a TypeScript script anywhere on disk: 'wsproxy' is the running package, local .js imports find .ts", async () => {
    const d = dir({
      'rewrite.ts': [
        "import { defineScript, type ScriptMessage } from 'wsproxy';",
        "import { shout } from './lib/util.js';",
        'interface State { n: number }',
        'export default defineScript<State>({',
        '  initState: () => ({ n: 0 }),',
        '  onMessage(msg: ScriptMessage, ctx) { ctx.state.n++; return shout(msg.text); },',
        '  defineScriptFn: defineScript,',
        '} as any);',
      ].join('\n'),
      'lib/util.ts': 'export const shout = (s: string): string => s.toUpperCase() + "!";\n',
    });
    const loaded = await loadScript('rewrite.ts', d);
    assert.equal(loaded.path, join(d, 'rewrite.ts'));
    assert.deepEqual(loaded.files, [join(d, 'rewrite.ts'), join(d, 'lib/util.ts')]);
    assert.deepEqual(loaded.warnings, []);
    const script = loaded.script as Record<string, any>;
    assert.equal(script['defineScriptFn'], defineScript, "the script's 'wsproxy' is this very module instance");
    assert.equal(script['onMessage']({ text: 'hi' }, { state: { n: 0 } }), 'HI!');
  });

  test('.mjs, and .js even where package.json says commonjs, load as ES modules', async () => {
    const d = dir({
      'package.json': '{ "type": "commonjs" }',
      'a.js': "import { defineScript } from 'wsproxy';\nimport { two } from './b.mjs';\nexport default defineScript({ onMessage: () => String(two) });\n",
      'b.mjs': 'export const two = 2;\n',
    });
    const loaded = await loadScript('a.js', d);
    assert.equal((loaded.script.onMessage as () => string)(), '2');
  });

  test('named hook exports work without a default export', async () => {
    const d = dir({ 's.mjs': 'export function onMessage(msg) { return msg.text; }\n' });
    const loaded = await loadScript(join(d, 's.mjs'));
    assert.equal(typeof loaded.script.onMessage, 'function');
  });

  test('each load is a fresh version of the script and its local imports', async () => {
    const d = dir({
      's.ts': "import { value } from './v.js';\nexport default { onMessage: () => value, loadedAt: Math.random() };\n",
      'v.ts': "export const value = 'one';\n",
    });
    const first = await loadScript('s.ts', d);
    writeFileSync(join(d, 'v.ts'), "export const value = 'two';\n");
    const second = await loadScript('s.ts', d);
    assert.notEqual(first.version, second.version);
    assert.equal((first.script.onMessage as () => string)(), 'one');
    assert.equal((second.script.onMessage as () => string)(), 'two');
  });

  test('unknown hook names are warned about, with a suggestion', async () => {
    const d = dir({ 's.mjs': 'export default { onmessage() {}, onOpen() {}, other: 1 };\n' });
    const loaded = await loadScript('s.mjs', d);
    assert.equal(loaded.warnings.length, 1);
    assert.match(loaded.warnings[0]!, /unknown hook "onmessage" \(did you mean onMessage\?\)/);
  });
});

describe('load errors name the file and line', () => {
  test('TypeScript syntax error', async () => {
    const d = dir({ 'bad.ts': "import { defineScript } from 'wsproxy';\nconst a = 1;\nconst x: number = ;\nexport default defineScript({});\n" });
    const e = await loadError(d, 'bad.ts');
    assert.equal(e.file, join(d, 'bad.ts'));
    assert.equal(e.line, 3);
    assert.equal(e.column, 19);
    assert.match(e.message, new RegExp(`^${escape(join(d, 'bad.ts'))}:3:19: Unexpected ";"\n`));
    assert.match(e.message, /> 3 \| const x: number = ;\n\s+\|\s+\^/);
  });

  test('JavaScript syntax error', async () => {
    const d = dir({ 'bad.mjs': 'const a = 1;\nconst x = ;\nexport default {};\n' });
    const e = await loadError(d, 'bad.mjs');
    assert.equal(e.line, 2);
    assert.equal(e.column, 11);
    assert.match(e.reason, /SyntaxError: Unexpected token ';'/);
  });

  test('a syntax error in an imported helper points at the helper', async () => {
    const d = dir({ 'main.ts': "import { h } from './helper.js';\nexport default { onMessage: () => h };\n", 'helper.ts': 'export const h = {;\n' });
    const e = await loadError(d, 'main.ts');
    assert.equal(e.file, join(d, 'helper.ts'));
    assert.equal(e.line, 1);
  });

  test('an exception while the module runs points at the throwing line (source-mapped for TypeScript)', async () => {
    const d = dir({ 'throws.ts': "const a: number = 1;\ninterface X { y: string }\nthrow new Error('no config: ' + a);\nexport default {};\n" });
    const e = await loadError(d, 'throws.ts');
    assert.equal(e.line, 3);
    assert.match(e.reason, /^Error: no config: 1$/);
  });

  test('a missing module or package points at the import', async () => {
    const d = dir({
      'a.mjs': "import { defineScript } from 'wsproxy';\n\nimport { x } from './nothere.js';\nexport default defineScript({ x });\n",
      'b.mjs': "import _ from 'no-such-package-xyz';\nexport default {};\n",
    });
    const a = await loadError(d, 'a.mjs');
    assert.equal(a.line, 3);
    assert.match(a.reason, /cannot find module .*nothere\.js/);
    const b = await loadError(d, 'b.mjs');
    assert.equal(b.line, 1);
    assert.match(b.reason, /cannot find package 'no-such-package-xyz'/);
  });

  test("importing something 'wsproxy' does not export", async () => {
    const d = dir({ 's.mjs': "import { defineScript, nope } from 'wsproxy';\nexport default defineScript({});\n" });
    const e = await loadError(d, 's.mjs');
    assert.equal(e.line, 1);
    assert.match(e.reason, /does not provide an export named 'nope'/);
  });

  test('bad exports, missing files and unsupported types', async () => {
    const d = dir({
      'none.mjs': 'export const x = 1;\n',
      'num.mjs': 'export default 42;\n',
      'hook.mjs': 'export default { onMessage: "not a function" };\n',
      'script.py': 'print(1)\n',
    });
    assert.match((await loadError(d, 'none.mjs')).message, /none\.mjs: no default export/);
    assert.match((await loadError(d, 'num.mjs')).message, /num\.mjs: the default export must be an object with hooks .* got number/);
    assert.match((await loadError(d, 'hook.mjs')).message, /hook\.mjs: onMessage must be a function, got string/);
    assert.match((await loadError(d, 'missing.ts')).message, /missing\.ts: no such file/);
    assert.match((await loadError(d, 'script.py')).message, /unsupported file type "\.py"/);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
