/**
 * Child processes of the benchmark: tracked so every one of them dies with the run, however the
 * run ends, plus the /proc readings (peak RSS) and port helpers the peers need.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';

/** What a forked peer (echo server, raw relay) sends once it listens. */
export interface ReadyMessage {
  type: 'ready';
  port: number;
}

const children = new Set<ChildProcess>();
const cleanups = new Set<() => void>();

export function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Synchronous cleanup steps (tmux servers, temp dirs) run at exit. */
export function atExit(fn: () => void): () => void {
  cleanups.add(fn);
  return () => cleanups.delete(fn);
}

export function killAll(): void {
  for (const c of children) c.kill('SIGKILL');
  children.clear();
  for (const fn of cleanups) {
    try {
      fn();
    } catch {
      // best effort: the process is exiting
    }
  }
  cleanups.clear();
}

let installed = false;
export function installExitHandlers(): void {
  if (installed) return;
  installed = true;
  process.on('exit', killAll);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      console.error(`\nbench: ${sig}, stopping`);
      process.exit(130);
    });
  }
  process.on('uncaughtException', (err) => {
    console.error('bench: uncaught', err);
    process.exit(1);
  });
  process.on('unhandledRejection', (err) => {
    console.error('bench: unhandled rejection', err);
    process.exit(1);
  });
}

/** Stops a child politely, then firmly. */
export async function stopChild(child: ChildProcess, graceMs = 2000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

export interface ProcMemory {
  rssKiB: number;
  hwmKiB: number;
}

export function procMemory(pid: number): ProcMemory | null {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN);
    return { rssKiB: kib('VmRSS'), hwmKiB: kib('VmHWM') };
  } catch {
    return null;
  }
}

/** Resets VmHWM to the current RSS (Linux clear_refs "5"), so the next peak is this workload's own. */
export function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = addr && typeof addr === 'object' ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** Resolves once something accepts on the port; rejects on `gone` or after timeoutMs. */
export async function waitForPort(port: number, timeoutMs: number, gone: () => string | null): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ port, host: '127.0.0.1' });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    const why = gone();
    if (why) throw new Error(why);
    if (Date.now() > deadline) throw new Error(`nothing listening on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function affinity(pid: number): string {
  const out = execFileSync('taskset', ['-p', '-c', String(pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return out.slice(out.lastIndexOf(':') + 1).trim();
}

/**
 * Pins the processes (all their threads) to one CPU and returns the undo, or null if taskset is
 * unavailable. For strictly sequential ping-pong only one process runs at a time anyway; pinned,
 * the figure is the software's latency instead of the lottery of cross-CPU wake-ups, which on a
 * small VM swings the p50 by 2-3x between otherwise identical runs.
 */
export function pinToOneCpu(pids: number[], cpu = 0): (() => void) | null {
  try {
    const before = pids.map((pid) => [pid, affinity(pid)] as const);
    for (const pid of pids) execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' });
    return () => {
      for (const [pid, list] of before) {
        try {
          execFileSync('taskset', ['-a', '-p', '-c', list, String(pid)], { stdio: 'ignore' });
        } catch {
          // the process is gone
        }
      }
    };
  } catch {
    return null;
  }
}

/**
 * Whether `pid` owns the socket listening on 127.0.0.1:port. A port picked free and handed to a
 * CLI can be taken by someone else before the CLI binds it (other test runs share the machine);
 * connecting would then measure a stranger.
 */
export function ownsListener(pid: number, port: number): boolean {
  try {
    const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
    const row = readFileSync('/proc/net/tcp', 'utf8')
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .find((f) => f[1] === local && f[3] === '0A');
    if (!row) return false;
    const socket = `socket:[${row[9]}]`;
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`) === socket;
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}

const TICK = 100; // USER_HZ: /proc reports CPU time in 1/100 s on Linux

/** CPU seconds (user + system) used so far by a process, or 0 once it is gone. */
export function procCpuSeconds(pid: number, thread?: number): number {
  try {
    // A thread's own: /proc/PID/task/TID/stat (the main thread's TID is the PID).
    const stat = readFileSync(thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / TICK;
  } catch {
    return 0;
  }
}

/** Machine-wide CPU seconds: busy and total, summed over all cores. */
export function machineCpuSeconds(): { busy: number; total: number } {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = f.reduce((a, b) => a + b, 0);
    const idle = (f[3] ?? 0) + (f[4] ?? 0);
    return { busy: (total - idle) / TICK, total: total / TICK };
  } catch {
    return { busy: 0, total: 0 };
  }
}

export function hasCommand(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore', timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

/** Soft and hard RLIMIT_NOFILE as this process sees them (Node raises soft to hard at startup). */
export function openFileLimit(): { soft: number; hard: number } | null {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const m = line && /(\d+|unlimited)\s+(\d+|unlimited)/.exec(line);
    if (!m) return null;
    const n = (v: string | undefined): number => (v === 'unlimited' || v === undefined ? Infinity : Number(v));
    return { soft: n(m[1]), hard: n(m[2]) };
  } catch {
    return null;
  }
}
