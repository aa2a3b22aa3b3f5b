/**
 * The package as a user gets it: a fresh copy of the sources without dist/ is packed with
 * `npm pack` (prepack builds), the tarball is installed globally into a temporary prefix, and the
 * installed `wsproxy` runs --help, --version, `demo --rounds 1` and a script that imports
 * `defineScript` from 'wsproxy'.
 *
 * The install prefers the shared npm cache (--offline, then --prefer-offline); the test is skipped,
 * with the reason, when neither the cache nor the registry can provide the dependencies.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { closed, echo, openWs, startWsEcho } from '../helpers/proxy-harness.js';
import { until } from '../helpers/raw-peer.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const NPM_BIN = process.platform === 'win32' ? 'npm.cmd' : 'npm';

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to its end (killed after `limitMs`), node's own folder first on PATH. */
function run(command: string, args: readonly string[], cwd: string, limitMs: number, onStderr?: (text: string) => void): { exited: Promise<Run>; kill(): void } {
  const env = { ...process.env, PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env['PATH'] ?? ''}`, NO_COLOR: '1', npm_config_update_notifier: 'false' };
  const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => {
    stderr += s;
    onStderr?.(stderr);
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), limitMs);
  const exited = new Promise<Run>((resolve) =>
    child.once('close', (code) => {
      clearTimeout(killer);
      resolve({ code, stdout, stderr });
    }),
  );
  return { exited, kill: () => void (child.exitCode === null && child.signalCode === null && child.kill('SIGKILL')) };
}

const dir = mkdtempSync(path.join(tmpdir(), 'wsproxy-package-'));
const prefix = path.join(dir, 'prefix');
/** The installed command (a link npm made in the prefix). */
const WSPROXY = path.join(prefix, 'bin', 'wsproxy');
let skipReason: string | null = null;

describe('the packed and installed package', { timeout: 300_000 }, () => {
  before(async () => {
    // A fresh clone: sources and docs, no dist/ (the shared node_modules only to build with).
    const clone = path.join(dir, 'clone');
    mkdirSync(clone);
    for (const entry of ['bin', 'src', 'docs', 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'README.md']) {
      if (existsSync(path.join(ROOT, entry))) cpSync(path.join(ROOT, entry), path.join(clone, entry), { recursive: true });
    }
    symlinkSync(path.join(ROOT, 'node_modules'), path.join(clone, 'node_modules'), 'dir');
    const packed = await run(NPM_BIN, ['pack', '--silent', '--pack-destination', dir], clone, 180_000).exited;
    assert.equal(packed.code, 0, `npm pack failed: ${packed.stderr}`);
    const tarball = path.join(dir, packed.stdout.trim().split('\n').pop()!);
    assert.ok(existsSync(tarball), `npm pack names ${tarball}`);
    const list = await run('tar', ['-tzf', tarball], dir, 30_000).exited;
    assert.match(list.stdout, /^package\/dist\/cli\/main\.js$/m, 'the tarball ships dist/ (prepack built it)');
    assert.match(list.stdout, /^package\/dist\/index\.d\.ts$/m, 'the tarball ships the types');

    const install = (mode: string): Promise<Run> =>
      run(NPM_BIN, ['install', '--global', '--prefix', prefix, mode, '--no-audit', '--no-fund', '--loglevel=error', tarball], dir, 180_000).exited;
    let installed = await install('--offline');
    if (installed.code !== 0) installed = await install('--prefer-offline');
    if (installed.code !== 0 && /ENOTCACHED|ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|network/i.test(installed.stderr)) {
      skipReason = `the dependencies are neither in the npm cache nor reachable: ${installed.stderr.split('\n').find((l) => /error/i.test(l)) ?? installed.stderr.trim()}`;
      return;
    }
    assert.equal(installed.code, 0, `npm install -g of the tarball failed: ${installed.stderr}`);
    assert.ok(existsSync(WSPROXY), `npm linked ${WSPROXY}`);
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  test('wsproxy --help and --version', { timeout: 30_000 }, async (t) => {
    if (skipReason !== null) return t.skip(skipReason);
    const help = await run(WSPROXY, ['--help'], dir, 20_000).exited;
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /--listen <addr>/);
    assert.match(help.stdout, /Exit status:/);
    const version = await run(WSPROXY, ['--version'], dir, 20_000).exited;
    assert.equal(version.code, 0, version.stderr);
    assert.equal(version.stdout.trim(), (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version);
  });

  test('wsproxy demo --rounds 1 relays every kind of frame and exits 0', { timeout: 30_000 }, async (t) => {
    if (skipReason !== null) return t.skip(skipReason);
    const demo = await run(WSPROXY, ['demo', '--rounds', '1', '--listen', '127.0.0.1:0', '--headless'], dir, 25_000).exited;
    assert.equal(demo.code, 0, demo.stderr);
    assert.match(demo.stderr, /listening on 127\.0\.0\.1:\d+/);
    for (const kind of ['text', 'binary', 'ping', 'pong', 'close']) assert.match(demo.stdout, new RegExp(`\\b${kind}\\b`), `a ${kind} line`);
  });

  test("a script importing defineScript from 'wsproxy' runs in the installed command", { timeout: 30_000 }, async (t) => {
    if (skipReason !== null) return t.skip(skipReason);
    // A folder of its own: no node_modules, no package.json; 'wsproxy' is the running package.
    const scripts = path.join(dir, 'scripts');
    mkdirSync(scripts);
    const file = path.join(scripts, 'shout.ts');
    writeFileSync(
      file,
      [
        "import { defineScript, type ScriptMessage } from 'wsproxy';",
        'export default defineScript({',
        '  onMessage(msg: ScriptMessage) {',
        "    if (msg.from === 'client' && msg.kind === 'text') return msg.text.toUpperCase();",
        '  },',
        '});',
        '',
      ].join('\n'),
    );
    assert.deepEqual(readdirSync(scripts), ['shout.ts']);
    const target = await startWsEcho();
    let stderr = '';
    const cli = run(WSPROXY, ['--listen', '127.0.0.1:0', '--target', `127.0.0.1:${target.port}`, '--headless', '--script', file], scripts, 25_000, (s) => (stderr = s));
    let ws: WebSocket | null = null;
    try {
      const port = Number((await until(() => /listening on 127\.0\.0\.1:(\d+)/.exec(stderr), 15_000, `the listening line (stderr: ${JSON.stringify(stderr)})`))[1]);
      ws = await openWs(`ws://127.0.0.1:${port}/`);
      const back = await echo(ws, 'hello from an installed script');
      assert.equal(back.data.toString(), 'HELLO FROM AN INSTALLED SCRIPT');
      ws.close(1000);
      await closed(ws);
    } finally {
      ws?.terminate();
      cli.kill();
      await cli.exited;
      await target.close();
    }
  });
});
