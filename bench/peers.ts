/**
 * The things measured side by side, each started fresh per measurement so one workload's peak RSS
 * or leftovers never leak into the next:
 *   direct       the load generator talks to the echo server itself
 *   raw          bench/raw-relay.ts, a plain TCP pipe (the ceiling for a Node proxy)
 *   wsproxy      the real CLI, --headless, stdout to a file
 *   wsproxy-tui  the same CLI without --headless inside a 120x40 tmux session
 *   wsproxy-log  the headless CLI with --log-file (every event as JSON lines) as well
 * The echo server is a separate child for the whole run.
 */
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import ts from 'typescript';
import { atExit, freePort, ownsListener, stopChild, track, waitForPort, type ReadyMessage } from './children.js';

export type VariantId = 'direct' | 'raw' | 'wsproxy' | 'wsproxy-tui' | 'wsproxy-log';
export const VARIANT_LABEL: Record<VariantId, string> = {
  direct: 'direct',
  raw: 'raw relay',
  wsproxy: 'wsproxy',
  'wsproxy-tui': 'wsproxy+tui',
  'wsproxy-log': 'wsproxy+log',
};

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(here, '..');
export const WSPROXY_BIN = path.join(REPO, 'bin', 'wsproxy.js');
export const WSPROXY_MAIN = path.join(REPO, 'dist', 'cli', 'main.js');

export interface Peer {
  /** Where the load generator connects. */
  port: number;
  /** The proxy process to read RSS from; null for direct. */
  pid: number | null;
  /** The proxy's --log-file, when it writes one (wsproxy-log); removed by stop(). */
  logFile?: string;
  stop(): Promise<void>;
}

const STARTUP_MS = 15_000;

export async function startEchoServer(): Promise<{ port: number; child: ChildProcess }> {
  // fork() inherits --import tsx from execArgv, so the child runs the .ts file directly.
  const child = track(fork(path.join(here, 'echo-server.ts'), [], { cwd: REPO, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  return { port: await readyPort(child, 'echo server'), child };
}

export function wsproxyBuilt(): boolean {
  return existsSync(WSPROXY_MAIN);
}

function exitReason(child: ChildProcess, errFile: string | null): () => string | null {
  return () => {
    if (child.exitCode === null && child.signalCode === null) return null;
    return `exited (${child.exitCode ?? child.signalCode}) before listening${tail(errFile)}`;
  };
}

function tail(file: string | null): string {
  if (!file || !existsSync(file)) return '';
  const text = readFileSync(file, 'utf8').trim();
  return text ? `: ${text.split('\n').slice(-5).join(' | ')}` : '';
}

/** tmux on a private socket, so the user's own tmux server is never touched. */
const TMUX_SOCKET = `wsproxy-bench-${process.pid}`;
let tmuxCleanup = false;
function tmux(args: string[]): string {
  // stderr is captured into the thrown error rather than printed.
  return execFileSync('tmux', ['-L', TMUX_SOCKET, '-f', '/dev/null', ...args], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'pipe'] });
}

export async function startPeer(variant: VariantId, echoPort: number, tmpDir: string, seq: number): Promise<Peer> {
  if (variant === 'direct') return { port: echoPort, pid: null, stop: async () => {} };
  if (variant === 'raw') return startRelay(echoPort, tmpDir);
  // The CLI takes its port up front, and another process may bind it first (tests of other
  // sessions run on the same machine): then the listener is not ours, and we try another port.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    let peer: Peer;
    try {
      peer = variant === 'wsproxy-tui' ? await startTui(port, echoPort, tmpDir, seq) : await startHeadless(port, echoPort, tmpDir, seq, variant === 'wsproxy-log');
    } catch (err) {
      if (attempt < 3 && err instanceof Error && err.message.includes('EADDRINUSE')) continue;
      throw err;
    }
    if (peer.pid !== null && ownsListener(peer.pid, port)) return peer;
    await peer.stop();
    if (attempt === 3) throw new Error(`127.0.0.1:${port} is served by another process, not wsproxy (3 attempts)`);
  }
}

async function startRelay(echoPort: number, tmpDir: string): Promise<Peer> {
  // Port 0 and the real port back over IPC: no window for anyone to take it.
  const child = track(fork(relayScript(tmpDir), ['0', String(echoPort)], { cwd: REPO, execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  const port = await readyPort(child, 'raw relay');
  return { port, pid: child.pid ?? null, stop: () => stopChild(child) };
}

/** Node options for the proxy only, from BENCH_PROXY_NODE_ARGS (e.g. `--cpu-prof --cpu-prof-dir=/tmp/p`). */
function proxyNodeArgs(): string[] {
  return (process.env.BENCH_PROXY_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
}

/** `log`: also --log-file, the JSONL log of every event, into a fresh file of the run's temp dir. */
async function startHeadless(port: number, echoPort: number, tmpDir: string, seq: number, log = false): Promise<Peer> {
  const errFile = path.join(tmpDir, `wsproxy-${seq}.err`);
  const outFile = path.join(tmpDir, `wsproxy-${seq}.out`);
  const out = openSync(outFile, 'w');
  const err = openSync(errFile, 'w');
  const logFile = path.join(tmpDir, `wsproxy-${seq}.jsonl`);
  const args = [...proxyNodeArgs(), WSPROXY_BIN, '--listen', `127.0.0.1:${port}`, '--target', `127.0.0.1:${echoPort}`, '--headless', ...(log ? ['--log-file', logFile] : [])];
  const child = track(spawn(process.execPath, args, { cwd: REPO, stdio: ['ignore', out, err] }));
  closeSync(out);
  closeSync(err);
  try {
    await waitForPort(port, STARTUP_MS, exitReason(child, errFile));
  } catch (e) {
    await stopChild(child);
    throw e;
  }
  // A w1 log is hundreds of MiB: gone as soon as the measurement is.
  const stop = async (): Promise<void> => {
    await stopChild(child);
    if (log) rmSync(logFile, { force: true });
    // A printer that dropped lines did less work than one that printed them all: said, not hidden.
    const dropped = droppedLines(outFile);
    if (dropped > 0) console.log(`  (wsproxy #${seq}: its printer dropped ${dropped.toLocaleString('en-US')} line(s), the reader being too slow)`);
    rmSync(outFile, { force: true });
  };
  return { port, pid: child.pid ?? null, ...(log ? { logFile } : {}), stop };
}

/** The lines the printer says it dropped ("… N line(s) dropped: …"), summed. */
function droppedLines(file: string): number {
  let sum = 0;
  for (const m of readFileSync(file, 'utf8').matchAll(/… (\d+) line\(s\) dropped/g)) sum += Number(m[1]);
  return sum;
}

async function startTui(port: number, echoPort: number, tmpDir: string, seq: number): Promise<Peer> {
  if (!tmuxCleanup) {
    tmuxCleanup = true;
    atExit(() => {
      try {
        tmux(['kill-server']);
      } finally {
        // tmux leaves its socket file behind when the server is already gone.
        const dir = path.join(process.env.TMUX_TMPDIR ?? '/tmp', `tmux-${process.getuid?.() ?? 0}`);
        rmSync(path.join(dir, TMUX_SOCKET), { force: true });
      }
    });
  }
  const errFile = path.join(tmpDir, `wsproxy-tui-${seq}.err`);
  const session = `tui${seq}`;
  // `exec` so the pane's pid is the proxy itself (that is whose RSS we read).
  const cmd = `exec ${sh(process.execPath)} ${sh(WSPROXY_BIN)} --listen 127.0.0.1:${port} --target 127.0.0.1:${echoPort} 2>${sh(errFile)}`;
  const pid = Number(tmux(['new-session', '-d', '-s', session, '-x', '120', '-y', '40', '-P', '-F', '#{pane_pid}', cmd]).trim());
  const alive = (): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  const stop = async (): Promise<void> => {
    try {
      tmux(['kill-session', '-t', session]);
    } catch {
      // already gone with its only pane
    }
    for (let i = 0; i < 40 && alive(); i++) await new Promise((r) => setTimeout(r, 50));
    if (alive()) process.kill(pid, 'SIGKILL');
  };
  try {
    await waitForPort(port, STARTUP_MS, () => (alive() ? null : `exited before listening${tail(errFile)}`));
  } catch (err) {
    await stop();
    throw err;
  }
  return { port, pid, stop };
}

/**
 * The relay as plain JavaScript: under the tsx loader it would carry ~30 MiB of loader in its RSS
 * and flatter every proxy compared with it.
 */
let relayJs = '';
function relayScript(tmpDir: string): string {
  if (!relayJs) {
    const src = readFileSync(path.join(here, 'raw-relay.ts'), 'utf8');
    const out = ts.transpileModule(src, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
    relayJs = path.join(tmpDir, 'raw-relay.mjs');
    writeFileSync(relayJs, out.outputText);
  }
  return relayJs;
}

/** The port a forked child reports once it listens (see ReadyMessage). */
async function readyPort(child: ChildProcess, what: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${what} did not start`));
    }, STARTUP_MS);
    child.once('message', (m: ReadyMessage) => {
      clearTimeout(timer);
      resolve(m.port);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${code})`));
    });
  });
}

function sh(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
