/**
 * SSLKEYLOGFILE: both legs' TLS secrets appended in the NSS key log format (the lines OpenSSL
 * hands Node's 'keylog' event), as browsers and curl do, so a capture of the real TLS bytes can be
 * decrypted in Wireshark. The file holds secrets: it is created 0600.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import type { TLSSocket } from 'node:tls';

export interface KeyLog {
  readonly path: string;
  /** Appends every secret of this connection as it is derived. */
  attach(socket: TLSSocket): void;
  close(): Promise<void>;
}

export function openKeyLog(path: string | undefined): KeyLog | null {
  if (path === undefined || path === '') return null;
  let stream: WriteStream | null = null;
  const out = (): WriteStream => {
    if (stream === null) {
      stream = createWriteStream(path, { flags: 'a', mode: 0o600 });
      stream.on('error', (error) => process.emitWarning(`SSLKEYLOGFILE ${path}: ${error.message}`));
    }
    return stream;
  };
  return {
    path,
    attach(socket: TLSSocket): void {
      socket.on('keylog', (line: Buffer) => out().write(line));
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (stream === null) resolve();
        else stream.end(() => resolve());
      }),
  };
}
