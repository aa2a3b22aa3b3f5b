/**
 * --cert/--key that cannot be used: one line that says what is wrong and what to do, naming the
 * files, with none of OpenSSL's codes and never any key material.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prepareTls } from '../../src/tls/setup.js';
import { TrustError } from '../../src/tls/trust.js';
import { hasOpenssl, makeTestPki } from '../helpers/test-pki.js';
import { tlsOptions } from '../helpers/tls-harness.js';

const skip = hasOpenssl() ? false : 'openssl not installed';

test('a mismatched pair, a swapped pair, an encrypted key, a missing file: each in words', { skip }, async () => {
  const pki = makeTestPki();
  const dir = mkdtempSync(join(tmpdir(), 'wsproxy-keypair-'));
  try {
    const one = pki.server(['DNS:localhost']);
    const other = pki.server(['DNS:localhost']);
    const file = (name: string, text: string): string => {
      const p = join(dir, name);
      writeFileSync(p, text, { mode: 0o600 });
      return p;
    };
    const cert = one.certPath;
    const key = file('key.pem', one.key);
    const otherKey = file('other.pem', other.key);
    const encrypted = file('enc.pem', execFileSync('openssl', ['pkey', '-aes256', '-passout', 'pass:secret'], { input: one.key }).toString());
    const refused = async (c: string, k: string): Promise<string> => {
      try {
        await prepareTls(tlsOptions({ listen: true, cert: c, key: k, caDir: join(dir, 'ca') }), { host: '127.0.0.1', port: 9, basePath: '' });
      } catch (e) {
        assert.ok(e instanceof TrustError, String(e));
        return e.message;
      }
      assert.fail('accepted');
    };
    assert.equal(await refused(cert, otherKey), `--cert ${cert} / --key ${otherKey}: the key does not match the certificate`);
    assert.equal(await refused(key, cert), `--cert ${key} / --key ${cert}: not the PEM data expected there (are --cert and --key the other way round?)`);
    assert.equal(await refused(cert, encrypted), `--cert ${cert} / --key ${encrypted}: the key is encrypted; give it unencrypted (openssl pkey -in KEY -out key.pem)`);
    assert.equal(await refused(cert, join(dir, 'nope.pem')), `--cert ${cert} / --key ${join(dir, 'nope.pem')}: no such file`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(pki.dir, { recursive: true, force: true });
  }
});
