/**
 * `wsproxy browser [URL]`: Chromium with a throwaway profile, pointed at the forward proxy and
 * trusting the local CA by its key hash, so a page's wss:// traffic shows with no trust step.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, isAbsolute, join } from 'node:path';

export class BrowserError extends Error {
  override readonly name = 'BrowserError';
}

const NAMES = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable', 'chrome'];

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** --chromium PATH, else CHROME_PATH, else the first of chromium, chromium-browser, google-chrome on PATH. */
export function findChromium(explicit: string | null, env: NodeJS.ProcessEnv = process.env): string {
  if (explicit !== null) {
    if (!executable(explicit)) throw new BrowserError(`--chromium ${explicit}: not an executable file`);
    return explicit;
  }
  const fromEnv = env['CHROME_PATH'];
  if (fromEnv !== undefined && fromEnv !== '') {
    if (!executable(fromEnv)) throw new BrowserError(`CHROME_PATH=${fromEnv}: not an executable file`);
    return fromEnv;
  }
  const dirs = (env['PATH'] ?? '').split(delimiter).filter((d) => d !== '' && isAbsolute(d));
  for (const name of NAMES) {
    for (const dir of dirs) {
      const path = join(dir, name);
      if (executable(path)) return path;
    }
  }
  throw new BrowserError(`no Chromium found: install chromium, or pass --chromium PATH or set CHROME_PATH (looked for ${NAMES.join(', ')} on PATH)`);
}

export interface BrowserArgs {
  /** host:port of the forward proxy. */
  readonly proxy: string;
  /** base64 SHA-256 of the CA's SubjectPublicKeyInfo. */
  readonly spki: string;
  readonly profileDir: string;
  readonly url: string | null;
}

/** The flags that make Chromium use the proxy for everything, loopback included, and trust the CA. */
export function chromiumArgs(a: BrowserArgs): string[] {
  return [
    `--user-data-dir=${a.profileDir}`,
    `--proxy-server=http://${a.proxy}`,
    // Chromium never proxies localhost unless told to (the "<-loopback>" rule removes the implicit bypass).
    '--proxy-bypass-list=<-loopback>',
    `--ignore-certificate-errors-spki-list=${a.spki}`,
    // HTTP/3 would go around an HTTP proxy.
    '--disable-quic',
    '--no-first-run',
    '--no-default-browser-check',
    ...(a.url === null ? [] : [a.url]),
  ];
}

export interface LaunchedBrowser {
  readonly child: ChildProcess;
  /** Resolves with the exit code when the browser is gone (and its profile removed). */
  readonly exited: Promise<number | null>;
  /** The last line the browser wrote to stderr (why it stopped, when it failed), or ''. */
  lastWords(): string;
  stop(): void;
}

/** Stderr kept from the browser: enough for its last lines, however much it writes. */
const STDERR_TAIL = 4096;

export function launchChromium(path: string, options: Omit<BrowserArgs, 'profileDir'>, extraArgs: readonly string[] = []): LaunchedBrowser {
  const profileDir = mkdtempSync(join(tmpdir(), 'wsproxy-browser-'));
  const child = spawn(path, [...extraArgs, ...chromiumArgs({ ...options, profileDir })], { stdio: ['ignore', 'ignore', 'pipe'] });
  let tail = '';
  child.stderr?.setEncoding('utf8').on('data', (text: string) => void (tail = (tail + text).slice(-STDERR_TAIL)));
  const exited = new Promise<number | null>((resolve) => {
    const done = (code: number | null): void => {
      rmSync(profileDir, { recursive: true, force: true });
      resolve(code);
    };
    child.once('exit', (code) => done(code));
    child.once('error', () => done(null));
  });
  const lastWords = (): string => tail.trimEnd().split('\n').at(-1)?.trim() ?? '';
  return { child, exited, lastWords, stop: () => void child.kill('SIGTERM') };
}
