/**
 * The local certificate authority: `ca.pem` and `ca-key.pem` in $WSPROXY_HOME (default
 * ~/.wsproxy) or --ca-dir, created on first need. The key is written 0600 in a 0700 directory and
 * never leaves this module except as the signing key handed to the leaf issuer.
 */
import { X509Certificate, createHash, createPrivateKey, createPublicKey, randomBytes, webcrypto, type KeyObject } from 'node:crypto';
type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { EC_P256, loadX509, toPem } from './x509.js';

/** A CA problem the user can act on; the message is one line naming the file or directory. */
export class CaError extends Error {
  override readonly name = 'CaError';
}

export interface LocalCa {
  readonly dir: string;
  readonly certPath: string;
  readonly keyPath: string;
  readonly certPem: string;
  /** Whether this call created the files. */
  readonly created: boolean;
  readonly subject: string;
  readonly validTo: string;
  /** SHA-256 of the certificate, colon-separated hex (as browsers show it). */
  readonly fingerprint256: string;
  /** base64 SHA-256 of the SubjectPublicKeyInfo: what --ignore-certificate-errors-spki-list takes. */
  readonly spkiSha256: string;
  /** Group or world bits found on an existing key file, to warn about (null when 0600 or stricter). */
  readonly keyModeWarning: string | null;
  /** For the leaf issuer only. */
  readonly signingKey: CryptoKey;
}

const CA_NAME = 'CN=wsproxy local CA,O=wsproxy';
const CA_YEARS = 10;

export function defaultCaDir(env: NodeJS.ProcessEnv = process.env): string {
  const home = env['WSPROXY_HOME'];
  return home !== undefined && home !== '' ? home : join(homedir(), '.wsproxy');
}

/** Opens the CA in `dir`, creating directory and files when there are none. */
export async function openCa(dir: string): Promise<LocalCa> {
  const certPath = join(dir, 'ca.pem');
  const keyPath = join(dir, 'ca-key.pem');
  const existing = await readIfThere(certPath);
  if (existing === null) return create(dir, certPath, keyPath);
  const keyPem = await readIfThere(keyPath);
  if (keyPem === null) throw new CaError(`${keyPath}: missing (the CA key that goes with ${certPath}); move ${certPath} away to create a new CA`);
  return load(dir, certPath, keyPath, existing, keyPem, false);
}

async function readIfThere(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // ENOTDIR: a file where the directory should be; creating it says so in words.
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw new CaError(`${path}: cannot read (${code ?? (error as Error).message})`);
  }
}

async function load(dir: string, certPath: string, keyPath: string, certPem: string, keyPem: string, created: boolean): Promise<LocalCa> {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch {
    throw new CaError(`${certPath}: not a PEM certificate (corrupt?); move it and ca-key.pem away to create a new CA`);
  }
  if (!cert.ca) throw new CaError(`${certPath}: not a CA certificate (basicConstraints CA:FALSE)`);
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch {
    throw new CaError(`${keyPath}: not a PEM private key (corrupt?)`);
  }
  const spki = (k: KeyObject): Buffer => k.export({ type: 'spki', format: 'der' });
  if (!spki(createPublicKey(key)).equals(spki(cert.publicKey))) throw new CaError(`${keyPath}: does not match the certificate in ${certPath}`);
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new CaError(`${keyPath}: expected an ECDSA P-256 key (as wsproxy creates), got ${key.asymmetricKeyType ?? 'unknown'}`);
  }
  const der = key.export({ type: 'pkcs8', format: 'der' });
  const signingKey = await webcrypto.subtle.importKey('pkcs8', der, EC_P256, false, ['sign']);
  const mode = (await stat(keyPath)).mode & 0o777;
  return {
    dir,
    certPath,
    keyPath,
    certPem,
    created,
    subject: cert.subject.replace(/\n/g, ', '),
    validTo: cert.validTo,
    fingerprint256: cert.fingerprint256,
    spkiSha256: createHash('sha256').update(spki(cert.publicKey)).digest('base64'),
    keyModeWarning: (mode & 0o077) === 0 ? null : `${keyPath} is readable by others (mode ${mode.toString(8).padStart(4, '0')}); run chmod 600 ${keyPath}`,
    signingKey,
  };
}

async function create(dir: string, certPath: string, keyPath: string): Promise<LocalCa> {
  const x509 = await loadX509();
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new CaError(`cannot create the CA directory ${dir}: ${describe(error)}; pass --ca-dir DIR or set WSPROXY_HOME`);
  }
  const keys = (await webcrypto.subtle.generateKey(EC_P256, true, ['sign', 'verify'])) as CryptoKeyPair;
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: CA_NAME,
    notBefore: new Date(now - 24 * 3600_000),
    notAfter: new Date(now + CA_YEARS * 365 * 24 * 3600_000),
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const keyPem = toPem(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY');
  const certPem = cert.toString('pem') + '\n';
  try {
    // The key first, born 0600 ('wx': never over an existing file, whatever umask says it can only remove bits).
    await writeFile(keyPath, keyPem, { mode: 0o600, flag: 'wx' });
    await chmod(keyPath, 0o600);
    await writeFile(certPath, certPem, { mode: 0o644, flag: 'wx' });
  } catch (error) {
    throw new CaError(`cannot write the CA into ${dir}: ${describe(error)}; pass --ca-dir DIR or set WSPROXY_HOME`);
  }
  return load(dir, certPath, keyPath, certPem, keyPem, true);
}

/** A positive 128-bit serial (RFC 5280 §4.1.2.2: positive, unique per issuer, at most 20 octets). */
export function serial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return bytes.toString('hex');
}

function describe(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  const words: Record<string, string> = { EACCES: 'permission denied', EROFS: 'read-only file system', ENOTDIR: 'a path component is not a directory', EEXIST: 'a file is in the way', ENOSPC: 'no space left' };
  return e.code !== undefined ? `${e.code}${words[e.code] !== undefined ? ` (${words[e.code]})` : ''}` : e.message;
}
