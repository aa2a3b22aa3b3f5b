/**
 * A throwaway PKI made at test time with openssl (no certificate files are committed, so none
 * expire): a test CA and server certificates signed by it for given names, valid or expired.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestPki {
  readonly dir: string;
  readonly caPath: string;
  readonly caPem: string;
  /** A server certificate (PEM) and key for these SAN entries ("DNS:localhost", "IP:127.0.0.1"). */
  server(sans: readonly string[], opts?: { readonly expired?: boolean; readonly selfSigned?: boolean }): { readonly cert: string; readonly key: string; readonly certPath: string };
  remove(): void;
}

export function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'wsproxy-pki-'));
  const run = (args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const caPath = join(dir, 'test-ca.pem');
  run(['req', '-x509', ...EC, '-keyout', 'test-ca.key', '-out', caPath, '-subj', '/CN=wsproxy test CA', '-days', '2', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  let n = 0;
  return {
    dir,
    caPath,
    caPem: readFileSync(caPath, 'utf8'),
    server(sans, opts = {}) {
      const base = `server-${++n}`;
      const ext = join(dir, `${base}.ext`);
      writeFileSync(ext, `subjectAltName=${sans.join(',')}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`);
      const cn = sans[0]!.replace(/^[A-Z]+:/, '');
      if (opts.selfSigned === true) {
        run(['req', '-x509', ...EC, '-keyout', `${base}.key`, '-out', `${base}.pem`, '-subj', `/CN=${cn}`, '-days', '2', '-addext', `subjectAltName=${sans.join(',')}`]);
      } else {
        run(['req', ...EC, '-keyout', `${base}.key`, '-out', `${base}.csr`, '-subj', `/CN=${cn}`]);
        // -days -1: notAfter lies in the past, so verification says "certificate has expired".
        run(['x509', '-req', '-in', `${base}.csr`, '-CA', caPath, '-CAkey', 'test-ca.key', '-CAcreateserial', '-out', `${base}.pem`, '-days', opts.expired === true ? '-1' : '2', '-extfile', ext]);
      }
      const certPath = join(dir, `${base}.pem`);
      return { cert: readFileSync(certPath, 'utf8'), key: readFileSync(join(dir, `${base}.key`), 'utf8'), certPath };
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
