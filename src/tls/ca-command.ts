/**
 * `wsproxy ca`: where the local CA is, how to recognise it, and how to make each kind of client
 * trust it. Creates the CA first when there is none yet.
 */
import { openCa, type LocalCa } from './ca.js';

export async function describeCa(dir: string): Promise<{ readonly ca: LocalCa; readonly text: string }> {
  const ca = await openCa(dir);
  return { ca, text: caText(ca) };
}

export function caText(ca: LocalCa): string {
  const pem = ca.certPath;
  return `wsproxy local certificate authority${ca.created ? ' (created now)' : ''}
  certificate   ${pem}
  private key   ${ca.keyPath} (mode 0600: never share it; anyone with it can impersonate any site to you)
  subject       ${ca.subject}
  valid until   ${ca.validTo}
  SHA-256       ${ca.fingerprint256}
  SPKI SHA-256  ${ca.spkiSha256}   (base64, for --ignore-certificate-errors-spki-list)
${ca.keyModeWarning === null ? '' : `  warning       ${ca.keyModeWarning}\n`}
Trust it (only on machines you debug from):
  wsproxy browser URL      Chromium with the proxy and this CA already set up, nothing to install
  Chromium/Chrome, once    chromium --proxy-server=http://127.0.0.1:8080 --ignore-certificate-errors-spki-list=${ca.spkiSha256}
  Chromium/Chrome, always  certutil -d sql:$HOME/.pki/nssdb -A -t C,, -n wsproxy -i ${pem}   (Linux NSS database; libnss3-tools)
  Firefox                  Settings > Privacy & Security > Certificates > View Certificates > Authorities > Import ${pem},
                           tick "Trust this CA to identify websites" (or certutil -d sql:PROFILE_DIR -A -t C,, -n wsproxy -i ${pem})
  Node.js                  NODE_EXTRA_CA_CERTS=${pem} node app.js
  curl                     curl --cacert ${pem} --proxy http://127.0.0.1:8080 https://HOST/
  Python                   SSL_CERT_FILE=${pem} python3 app.py   (replaces the default bundle; requests reads REQUESTS_CA_BUNDLE)
Remove trust again with certutil -D -n wsproxy (NSS), or delete the authority in Firefox.
`;
}
