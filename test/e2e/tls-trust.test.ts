/**
 * The "Trusting the CA" steps of docs/tls.md and of `wsproxy ca`, run as written against a real
 * `wsproxy --tls` listener (its CA in a throwaway directory, a plain HTTP/ws target started here):
 * Python with SSL_CERT_FILE, and NSS `certutil` into a throwaway database (the Chromium and
 * Firefox store). Only the paths are put in: `~/.wsproxy` and `$HOME` become temporary directories.
 */
import { describe, test, after, before, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { WebSocketServer } from 'ws';
import { until } from '../helpers/raw-peer.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'bin/wsproxy.js');
const PAGE = 'plain page through wsproxy';

const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;

/** The command in the "Trusting the CA" table row of docs/tls.md whose client column starts with `client`. */
function docsCommand(client: string, starts = ''): string {
  const docs = readFileSync(path.join(ROOT, 'docs/tls.md'), 'utf8');
  const row = docs.split('\n').find((l) => l.startsWith(`| ${client}`));
  assert.ok(row, `docs/tls.md has a "${client}" row`);
  const cmd = [...row.matchAll(/`([^`]+)`/g)].map((m) => m[1]!).find((c) => c.startsWith(starts));
  assert.ok(cmd, `docs/tls.md's "${client}" row gives a command`);
  return cmd;
}

/** A line of docs/tls.md that starts with `prefix` inside backticks (the removal step). */
function docsInline(prefix: string): string {
  const docs = readFileSync(path.join(ROOT, 'docs/tls.md'), 'utf8');
  const m = new RegExp('`(' + prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') + '[^`]*)`').exec(docs);
  assert.ok(m, `docs/tls.md gives \`${prefix}…\``);
  return m[1]!;
}

interface Ran {
  readonly code: number | null;
  readonly out: string;
}

/** `cmd` through sh, as a user would paste it (asynchronously: the target lives in this process). */
function sh(cmd: string, cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', cmd], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (out += s));
    const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(killer);
      resolve({ code, out });
    });
  });
}

describe('trusting the wsproxy CA, as docs/tls.md says', { timeout: 120_000 }, () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wsproxy-trust-'));
  const home = path.join(dir, 'home');
  const caDir = path.join(home, '.wsproxy');
  const caPem = path.join(caDir, 'ca.pem');
  /** Paths put into a documented command: the rest is left as written. */
  const fill = (cmd: string): string => cmd.replaceAll('~/.wsproxy', caDir).replaceAll('$HOME', home);
  let target: http.Server | null = null;
  let proxy: ChildProcess | null = null;
  let port = 0;
  let caText = '';
  const built = existsSync(path.join(ROOT, 'dist/cli/main.js'));

  before(async () => {
    if (!built) return;
    mkdirSync(home, { recursive: true });
    // The target: plain HTTP pages and a ws endpoint.
    target = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(PAGE);
    });
    new WebSocketServer({ server: target }).on('connection', (ws) => ws.on('message', (d) => ws.send(d)));
    await new Promise<void>((r) => target!.listen(0, '127.0.0.1', r));
    const targetPort = (target.address() as { port: number }).port;
    const child = spawn(process.execPath, [BIN, '--listen', '127.0.0.1:0', '--tls', '--target', `ws://127.0.0.1:${targetPort}`, '--ca-dir', caDir, '--headless'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    proxy = child;
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.stdout!.resume();
    port = Number(await until(() => /listening on \S*?127\.0\.0\.1:(\d+)/.exec(stderr)?.[1], 15_000, `the startup line (${stderr})`));
    const ca = spawnSync(process.execPath, [BIN, 'ca', '--ca-dir', caDir], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(ca.status, 0, ca.stderr);
    caText = ca.stdout;
  });

  after(async () => {
    if (proxy !== null && proxy.exitCode === null) {
      const exited = new Promise((r) => proxy!.once('exit', r));
      proxy.kill('SIGTERM');
      const t = setTimeout(() => proxy!.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    }
    if (target !== null) {
      target.closeAllConnections();
      await new Promise((r) => target!.close(r));
    }
    rmSync(dir, { recursive: true, force: true });
  });

  const skipped = (t: TestContext, tool: string): boolean => {
    if (!built) {
      t.skip('dist/ is missing: run `npm run build` first');
      return true;
    }
    if (!has(tool)) {
      t.skip(`${tool} is not installed (${tool === 'certutil' ? 'Debian package libnss3-tools' : 'install Python 3'}): the documented ${tool} step is not checked`);
      return true;
    }
    return false;
  };

  test('Python: SSL_CERT_FILE=ca.pem makes urllib trust the --tls listener; without it, a certificate error', async (t) => {
    if (skipped(t, 'python3')) return;
    const app = path.join(dir, 'app.py');
    writeFileSync(app, `import urllib.request\nprint(urllib.request.urlopen("https://localhost:${port}/", timeout=10).read().decode())\n`);
    const env = { ...process.env };
    delete env.SSL_CERT_FILE;
    delete env.SSL_CERT_DIR;
    // The docs table, then the same step as `wsproxy ca` prints it.
    const fromCa = /^ {2}Python +(.+?) {3}\(/m.exec(caText)?.[1];
    assert.ok(fromCa, caText);
    for (const cmd of [fill(docsCommand('Python')), fromCa]) {
      assert.match(cmd, /^SSL_CERT_FILE=\S+ca\.pem python3 app\.py$/);
      const ok = await sh(cmd, dir, env);
      assert.equal(ok.code, 0, `${cmd}\n${ok.out}`);
      assert.equal(ok.out.trim(), PAGE);
    }
    const bare = await sh('python3 app.py', dir, env);
    assert.notEqual(bare.code, 0, bare.out);
    assert.match(bare.out, /CERTIFICATE_VERIFY_FAILED/);
  });

  test('NSS certutil (Chromium, Firefox): the documented -A trusts the CA, a wsproxy leaf then validates; -D removes it', async (t) => {
    if (skipped(t, 'certutil')) return;
    // The leaf the --tls listener presents for localhost, to validate against the database.
    const leafDer = await new Promise<Buffer>((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false }, () => {
        resolve(s.getPeerCertificate().raw);
        s.end();
      });
      s.on('error', reject);
    });
    const leafPem = path.join(dir, 'leaf.pem');
    writeFileSync(leafPem, `-----BEGIN CERTIFICATE-----\n${leafDer.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`);
    const fromCa = (label: string): string => {
      const m = new RegExp(`^ {2}${label} +(certutil [^\\n]+?)(?: {3}\\(|$)`, 'm').exec(caText) ?? new RegExp(`\\(or (certutil [^)]+)\\)`).exec(caText);
      assert.ok(m, `wsproxy ca gives the ${label} certutil line:\n${caText}`);
      return m[1]!;
    };
    const steps: { name: string; db: string; add: string }[] = [
      { name: 'docs, Chromium', db: path.join(home, '.pki/nssdb'), add: fill(docsCommand('Chromium, Chrome (always', 'certutil ')) },
      { name: 'wsproxy ca, Chromium', db: path.join(home, '.pki/nssdb'), add: fill(fromCa('Chromium/Chrome, always')) },
      { name: 'docs, Firefox', db: path.join(dir, 'firefox-profile'), add: fill(docsCommand('Firefox', 'certutil ')).replace('PROFILE_DIR', path.join(dir, 'firefox-profile')) },
      { name: 'wsproxy ca, Firefox', db: path.join(dir, 'firefox-profile'), add: fromCa('Firefox').replace('PROFILE_DIR', path.join(dir, 'firefox-profile')) },
    ];
    const remove = fill(docsInline('certutil -D '));
    for (const step of steps) {
      assert.match(step.add, /^certutil -d sql:\S+ -A -t "?C,,"? -n wsproxy -i \S+ca\.pem$/, step.name);
      rmSync(step.db, { recursive: true, force: true });
      mkdirSync(step.db, { recursive: true });
      const db = `sql:${step.db}`;
      const made = await sh(`certutil -N --empty-password -d ${db}`, dir);
      assert.equal(made.code, 0, made.out);
      assert.equal((await sh(`certutil -A -d ${db} -t ,, -n leaf -i ${leafPem}`, dir)).code, 0);
      const before = await sh(`certutil -V -u V -n leaf -d ${db}`, dir);
      assert.notEqual(before.code, 0, `${step.name}: the leaf validates before the CA is trusted:\n${before.out}`);
      assert.match(before.out, /issuer is not recognized/);

      const added = await sh(step.add, dir);
      assert.equal(added.code, 0, `${step.name}: ${step.add}\n${added.out}`);
      const list = await sh(`certutil -L -d ${db}`, dir);
      assert.match(list.out, /^wsproxy +C,,\s*$/m, `${step.name}: listed as a trusted CA for websites:\n${list.out}`);
      const ca = await sh(`certutil -V -u L -n wsproxy -d ${db}`, dir);
      assert.equal(ca.code, 0, `${step.name}: the CA validates as an SSL CA:\n${ca.out}`);
      const leaf = await sh(`certutil -V -u V -n leaf -d ${db}`, dir);
      assert.equal(leaf.code, 0, `${step.name}: wsproxy's leaf validates as an SSL server:\n${leaf.out}`);
      assert.match(leaf.out, /certificate is valid/);

      if (step.db === path.join(home, '.pki/nssdb')) {
        const gone = await sh(remove, dir);
        assert.equal(gone.code, 0, `${remove}\n${gone.out}`);
        assert.doesNotMatch((await sh(`certutil -L -d ${db}`, dir)).out, /^wsproxy /m);
        assert.notEqual((await sh(`certutil -V -u V -n leaf -d ${db}`, dir)).code, 0, 'the leaf no longer validates once the CA is removed');
      }
    }
    assert.equal(readFileSync(caPem, 'utf8').startsWith('-----BEGIN CERTIFICATE-----'), true);
  });
});
