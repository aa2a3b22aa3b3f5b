/**
 * The TLS parts of the command line, run as a user runs them: `wsproxy ca`, CA problems as one
 * line before listening, --insecure announced at start, `wsproxy browser` with a stand-in browser
 * (the real one is driven in tls-chromium.test.ts), and no browser at all.
 */
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { until } from '../helpers/raw-peer.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'bin/wsproxy.js');

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function wsproxy(args: readonly string[], env: NodeJS.ProcessEnv = {}, whileRunning?: (stderr: () => string) => Promise<void>): Promise<Run> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const exited = new Promise<Run>((resolve) =>
    child.once('close', (code) => {
      clearTimeout(killer);
      resolve({ code, stdout, stderr });
    }),
  );
  if (whileRunning !== undefined) void whileRunning(() => stderr).finally(() => child.kill('SIGTERM'));
  return exited;
}

function skipUnlessBuilt(t: TestContext): boolean {
  if (existsSync(path.join(ROOT, 'dist/cli/main.js'))) return false;
  t.skip('dist/ is missing: run `npm run build` first');
  return true;
}

const tmp = (): string => mkdtempSync(path.join(os.tmpdir(), 'wsproxy-tls-cli-'));

describe('TLS on the command line', { timeout: 120_000 }, () => {
  test('wsproxy ca creates the CA (key 0600, directory 0700) and prints paths, fingerprints and how to trust it; --pem prints the certificate', async (t) => {
    if (skipUnlessBuilt(t)) return;
    const dir = tmp();
    try {
      const caDir = path.join(dir, 'home');
      const run = await wsproxy(['ca'], { WSPROXY_HOME: caDir });
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, new RegExp(`certificate +${path.join(caDir, 'ca.pem').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
      assert.match(run.stdout, /SHA-256 +([0-9A-F]{2}:){31}[0-9A-F]{2}/);
      assert.match(run.stdout, /SPKI SHA-256 +[A-Za-z0-9+/]{43}=/);
      assert.match(run.stdout, /NODE_EXTRA_CA_CERTS=/);
      assert.equal(statSync(caDir).mode & 0o777, 0o700);
      assert.equal(statSync(path.join(caDir, 'ca-key.pem')).mode & 0o777, 0o600);
      const pem = await wsproxy(['ca', '--ca-dir', caDir, '--pem']);
      assert.equal(pem.stdout, readFileSync(path.join(caDir, 'ca.pem'), 'utf8'));
      assert.doesNotMatch(run.stdout + pem.stdout, /PRIVATE KEY/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('an unwritable CA directory or a corrupt ca.pem: one line naming it, exit 1, before listening', async (t) => {
    if (skipUnlessBuilt(t)) return;
    const dir = tmp();
    try {
      writeFileSync(path.join(dir, 'file'), '');
      const bad = path.join(dir, 'file', 'ca');
      const run = await wsproxy(['--listen', '127.0.0.1:0', '--headless', '--ca-dir', bad]);
      assert.equal(run.code, 1);
      assert.deepEqual(run.stderr.trim().split('\n'), [`wsproxy: cannot create the CA directory ${bad}: ENOTDIR (a path component is not a directory); pass --ca-dir DIR or set WSPROXY_HOME`]);
      const corrupt = path.join(dir, 'corrupt');
      await wsproxy(['ca', '--ca-dir', corrupt]);
      writeFileSync(path.join(corrupt, 'ca.pem'), 'garbage\n');
      const run2 = await wsproxy(['--listen', '127.0.0.1:0', '--headless', '--ca-dir', corrupt]);
      assert.equal(run2.code, 1);
      assert.equal(run2.stderr.trim().split('\n').length, 1);
      assert.match(run2.stderr, new RegExp(`^wsproxy: ${path.join(corrupt, 'ca.pem').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: not a PEM certificate`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('--insecure is said in the startup line', async (t) => {
    if (skipUnlessBuilt(t)) return;
    const listener = net.createServer((s) => s.destroy());
    await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
    try {
      const port = (listener.address() as net.AddressInfo).port;
      const run = await wsproxy(['--listen', '127.0.0.1:0', '--headless', '--target', `wss://127.0.0.1:${port}`, '--insecure'], {}, async (stderr) => {
        await until(() => /listening on/.test(stderr()) || undefined, 10_000, 'the startup line');
      });
      assert.match(run.stderr, /^wsproxy: listening on 127\.0\.0\.1:\d+, relaying to wss:\/\/127\.0\.0\.1:\d+ \(--insecure: target certificates NOT verified\)$/m);
      assert.equal(run.stderr.match(/NOT verified/g)?.length, 1, `said once: ${run.stderr}`);
    } finally {
      listener.close();
    }
  });

  test('wsproxy browser: launches the browser through the forward proxy trusting the CA, and stops when it closes', async (t) => {
    if (skipUnlessBuilt(t)) return;
    const dir = tmp();
    try {
      const args = path.join(dir, 'args.txt');
      const fake = path.join(dir, 'fake-chromium');
      // A stand-in browser: writes down its arguments, stays a moment, exits.
      writeFileSync(fake, `#!/bin/sh\nfor a in "$@"; do echo "$a"; done > ${args}\nsleep 1\n`);
      chmodSync(fake, 0o755);
      const caDir = path.join(dir, 'ca');
      const run = await wsproxy(['browser', 'https://app.test/', '--listen', '127.0.0.1:0', '--headless', '--ca-dir', caDir], { CHROME_PATH: fake });
      assert.equal(run.code, 0, run.stderr);
      const got = readFileSync(args, 'utf8').trim().split('\n');
      const port = /listening on 127\.0\.0\.1:(\d+), a forward/.exec(run.stderr)?.[1];
      assert.ok(port, run.stderr);
      assert.ok(got.includes(`--proxy-server=http://127.0.0.1:${port}`), got.join(' '));
      assert.ok(got.includes('--proxy-bypass-list=<-loopback>'));
      const spki = /SPKI SHA-256 +(\S+)/.exec((await wsproxy(['ca', '--ca-dir', caDir])).stdout)?.[1];
      assert.ok(got.includes(`--ignore-certificate-errors-spki-list=${spki}`));
      assert.equal(got.at(-1), 'https://app.test/');
      const profile = got.find((a) => a.startsWith('--user-data-dir='))!.slice('--user-data-dir='.length);
      assert.equal(existsSync(profile), false, 'the throwaway profile is gone');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('wsproxy browser whose Chromium fails at once: says so with its last words, and exits 1', async (t) => {
    if (skipUnlessBuilt(t)) return;
    const dir = tmp();
    try {
      const fake = path.join(dir, 'fake-chromium');
      writeFileSync(fake, `#!/bin/sh\necho 'some start-up noise' >&2\necho 'Running as root without --no-sandbox is not supported.' >&2\nexit 1\n`);
      chmodSync(fake, 0o755);
      const run = await wsproxy(['browser', '--listen', '127.0.0.1:0', '--headless', '--ca-dir', path.join(dir, 'ca')], { CHROME_PATH: fake });
      assert.equal(run.code, 1, run.stderr);
      assert.match(run.stderr, /^wsproxy: \S+fake-chromium exited with code 1 after \d+\.\d s: Running as root without --no-sandbox is not supported\.$/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('wsproxy browser offers no --tls, --cert or --key: its listener is a forward proxy', async (t) => {
    if (skipUnlessBuilt(t)) return;
    const help = await wsproxy(['browser', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--chromium <path>/);
    assert.doesNotMatch(help.stdout, /--tls\b|--cert\b|--key\b/);
    const run = await wsproxy(['browser', '--tls']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /unknown option '--tls'/);
  });

  test('wsproxy browser without any Chromium: a clear one-line error', async (t) => {
    if (skipUnlessBuilt(t)) return;
    const run = await wsproxy(['browser', '--listen', '127.0.0.1:0', '--headless'], { PATH: '/nonexistent', CHROME_PATH: '' });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^wsproxy: no Chromium found: install chromium, or pass --chromium PATH or set CHROME_PATH/);
    assert.equal(run.stderr.trim().split('\n').length, 1);
  });
});
