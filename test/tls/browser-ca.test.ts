/**
 * `wsproxy ca` text and the browser launcher's pieces: where Chromium is looked for, and the flags
 * it is given (the real browser runs in test/e2e/tls-chromium.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BrowserError, chromiumArgs, findChromium, launchChromium } from '../../src/tls/browser.js';
import { describeCa } from '../../src/tls/ca-command.js';

test('wsproxy ca names the files, the fingerprints and how to trust it in each client', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wsproxy-cacmd-'));
  try {
    const { ca, text } = await describeCa(dir);
    assert.match(text, /\(created now\)/);
    for (const want of [ca.certPath, ca.keyPath, ca.fingerprint256, ca.spkiSha256, '--ignore-certificate-errors-spki-list=' + ca.spkiSha256, 'certutil -d sql:$HOME/.pki/nssdb -A -t C,, -n wsproxy -i', 'Firefox', `NODE_EXTRA_CA_CERTS=${ca.certPath}`, `curl --cacert ${ca.certPath}`, `SSL_CERT_FILE=${ca.certPath}`]) {
      assert.ok(text.includes(want), want);
    }
    assert.ok(!text.includes('PRIVATE KEY'), 'the key itself is never printed');
    const again = await describeCa(dir);
    assert.doesNotMatch(again.text, /created now/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('Chromium is found from --chromium, then CHROME_PATH, then PATH; a clear error when none', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wsproxy-findchrome-'));
  try {
    const fake = join(dir, 'chromium-browser');
    writeFileSync(fake, '#!/bin/sh\n');
    chmodSync(fake, 0o755);
    assert.equal(findChromium(fake, {}), fake);
    assert.equal(findChromium(null, { CHROME_PATH: fake, PATH: '' }), fake);
    assert.equal(findChromium(null, { PATH: `/nonexistent:${dir}` }), fake);
    assert.throws(() => findChromium(null, { PATH: '/nonexistent' }), (e: Error) => e instanceof BrowserError && /no Chromium found: install chromium, or pass --chromium PATH or set CHROME_PATH/.test(e.message));
    assert.throws(() => findChromium(join(dir, 'nope'), {}), /--chromium .*nope: not an executable file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the browser gets a throwaway profile, the proxy for loopback too, and the CA by key hash; the profile goes when it exits', async () => {
  assert.deepEqual(chromiumArgs({ proxy: '127.0.0.1:8080', spki: 'abc=', profileDir: '/p', url: 'https://app.test/' }), [
    '--user-data-dir=/p',
    '--proxy-server=http://127.0.0.1:8080',
    '--proxy-bypass-list=<-loopback>',
    '--ignore-certificate-errors-spki-list=abc=',
    '--disable-quic',
    '--no-first-run',
    '--no-default-browser-check',
    'https://app.test/',
  ]);
  const dir = mkdtempSync(join(tmpdir(), 'wsproxy-fakechrome-'));
  try {
    // A stand-in browser that writes down its arguments and exits.
    const fake = join(dir, 'chromium');
    const out = join(dir, 'args.txt');
    writeFileSync(fake, `#!/bin/sh\nfor a in "$@"; do echo "$a"; done > ${out}\nexit 3\n`);
    chmodSync(fake, 0o755);
    const launched = launchChromium(fake, { proxy: '127.0.0.1:9', spki: 'k=', url: null });
    assert.equal(await launched.exited, 3);
    const args = readFileSync(out, 'utf8').trim().split('\n');
    const profile = args[0]!.replace('--user-data-dir=', '');
    assert.ok(profile.includes('wsproxy-browser-'));
    assert.equal(existsSync(profile), false, 'profile removed');
    assert.ok(args.includes('--proxy-server=http://127.0.0.1:9'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
