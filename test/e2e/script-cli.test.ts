/**
 * The scripting flags of the real command: --script, --script-timeout, --script-fail, --replace.
 * Runs src/cli/main.ts in a child process (no build needed).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { connect, startTarget, until } from '../script/live.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = pathToFileURL(join(ROOT, 'src/cli/main.ts')).href;
/** tsx by URL: the child runs in a temporary folder, where the bare name would not resolve. */
const TSX = import.meta.resolve('tsx');

const dir = mkdtempSync(join(tmpdir(), 'wsproxy-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  readonly child: ChildProcess;
  stdout: string;
  stderr: string;
  readonly exited: Promise<number | null>;
}

function wsproxy(args: string[]): Run {
  const child = spawn(process.execPath, ['--import', TSX, '--input-type=module', '-e', `import { main } from ${JSON.stringify(MAIN)}; await main(process.argv);`, 'wsproxy', ...args], {
    cwd: dir,
    env: { ...process.env, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const run: Run = {
    child,
    stdout: '',
    stderr: '',
    exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))),
  };
  child.stdout!.on('data', (d: Buffer) => (run.stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (run.stderr += d.toString()));
  return run;
}

async function stop(run: Run): Promise<void> {
  if (run.child.exitCode === null) run.child.kill('SIGTERM');
  await Promise.race([run.exited, new Promise((r) => setTimeout(r, 5000))]);
  if (run.child.exitCode === null) run.child.kill('SIGKILL');
}

test('a script that does not load stops the command before it listens, with file and line', { timeout: 30_000 }, async () => {
  const file = join(dir, 'broken.ts');
  writeFileSync(file, "import { defineScript } from 'wsproxy';\nexport default defineScript({\n  onMessage(msg) { return msg.text +; },\n});\n");
  const run = wsproxy(['--listen', '127.0.0.1:0', '--target', '127.0.0.1:9', '--headless', '--script', file]);
  try {
    assert.equal(await run.exited, 1);
    assert.match(run.stderr, new RegExp(`broken\\.ts:3:\\d+: Unexpected ";"`));
    assert.match(run.stderr, /> 3 \|/);
    assert.doesNotMatch(run.stderr, /listening on/);
  } finally {
    await stop(run);
  }
});

test('a bad --replace rule is a one-line error', { timeout: 30_000 }, async () => {
  const run = wsproxy(['--listen', '127.0.0.1:0', '--target', '127.0.0.1:9', '--headless', '--replace', '/(/x/']);
  try {
    assert.notEqual(await run.exited, 0);
    assert.match(run.stderr, /--replace '\/\(\/x\/': invalid regular expression/);
    assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
  } finally {
    await stop(run);
  }
});

test('--script and --replace rewrite live traffic, visibly in the headless output', { timeout: 60_000 }, async () => {
  const file = join(dir, 'rewrite.ts');
  writeFileSync(
    file,
    "import { defineScript } from 'wsproxy';\nexport default defineScript({\n  onMessage(msg, ctx) {\n    if (msg.text === 'slow') return new Promise(() => {});\n    if (msg.from === 'client') { ctx.log('seen', msg.text); return msg.text + ' (script)'; }\n  },\n});\n",
  );
  const target = await startTarget();
  const run = wsproxy(['--listen', '127.0.0.1:0', '--target', `127.0.0.1:${target.port}`, '--headless', '--script', file, '--script-timeout', '200', '--script-fail', 'closed', '--replace', 'client:/secret/[redacted]/g']);
  try {
    await until(() => /listening on \S+:(\d+)/.test(run.stderr), 25_000, 'the listening line');
    const port = /listening on \S+:(\d+)/.exec(run.stderr)![1];
    const client = await connect(`ws://127.0.0.1:${port}/`);
    client.send('my secret');
    assert.equal((await client.inbox.next()).text, 'my [redacted] (script)');
    client.send('slow');
    client.send('after');
    assert.equal((await client.inbox.next()).text, 'after (script)', '--script-fail closed dropped the timed-out message');
    await client.close();
    await until(() => /\[script\] seen after/.test(run.stdout), 5000, 'the script log line');
    assert.match(run.stdout, /\[modified by script\]/);
    assert.match(run.stdout, /\[dropped by script\]/);
    assert.match(run.stdout, /\[script\] onMessage did not finish within 200 ms/);
  } finally {
    await stop(run);
    await target.close();
  }
});
