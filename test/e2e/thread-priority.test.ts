/**
 * The observers' threads (the printer's, the log's) run below the relay's priority: when they and
 * the relay want the same core, the relay and its peers go first (output/thread-priority.ts).
 * Read from /proc: a thread's nice value is the 19th field of /proc/PID/task/TID/stat.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import net from 'node:net';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { until } from '../helpers/raw-peer.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'bin/wsproxy.js');

/** Each thread's nice value, by thread id (the main thread's id is the pid). */
function niceByThread(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    // "tid (comm) state ppid ...": the fields after the command name, which may hold spaces.
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    out.set(Number(tid), Number(fields[16]));
  }
  return out;
}

/** Whether this machine lets a process lower its own priority (a sandbox may refuse setpriority). */
function canLower(): boolean {
  const probe = spawnSync(process.execPath, ['-e', 'const os = require("node:os"); os.setPriority(process.pid, Math.min(19, os.getPriority() + 1))'], { stdio: 'ignore', timeout: 10_000 });
  return probe.status === 0;
}

// The steps each thread takes down (output/thread-priority.ts): the printer 5, the log 10, from
// wherever the process was started.
for (const [what, log, start, steps] of [
  ['headless: the printer runs', false, 0, [5]],
  ['with --log-file: the printer and the log run', true, 0, [5, 10]],
  ['started 4 steps down: the printer and the log run', true, 4, [5, 10]],
] as const) {
  test(`${what} below the relay's priority`, { timeout: 60_000 }, async (t) => {
    if (process.platform !== 'linux') return t.skip('nice per thread is Linux');
    const base = os.getPriority();
    if (base + start + 10 > 19) return t.skip('this test runs too low for the threads to go 10 steps below it');
    if (!existsSync(path.join(ROOT, 'dist/cli/main.js'))) return t.skip('dist/ is missing: run `npm run build` first');
    if (!canLower()) return t.skip('this machine does not let a process lower its priority');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'wsproxy-priority-'));
    // No session is needed: both threads start with the run. The target only has to be there.
    const target = net.createServer((s) => s.destroy());
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    const port = (target.address() as net.AddressInfo).port;
    const args = [BIN, '--listen', '127.0.0.1:0', '--target', `127.0.0.1:${port}`, '--headless', '--no-color', ...(log ? ['--log-file', path.join(dir, 'log.jsonl')] : [])];
    // nice(1) execs node in its own process: the pid is the proxy's.
    const child = start === 0 ? spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] }) : spawn('nice', ['-n', String(start), process.execPath, ...args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    try {
      await until(() => /listening on/.test(stderr), 20_000, 'the listening line');
      const pid = child.pid!;
      // The threads lower themselves as they start: wait until as many have as expected.
      const nice = await until(() => {
        const n = niceByThread(pid);
        return [...n.values()].filter((v) => v > n.get(pid)!).length >= steps.length ? n : null;
      }, 10_000, `${steps.length} thread(s) below the main thread's priority`);
      const main = nice.get(pid)!;
      assert.equal(main, base + start, 'the relay keeps the priority it was started with');
      const below = [...nice.values()].filter((v) => v > main);
      assert.deepEqual(below.map((v) => v - main).sort((a, b) => a - b), [...steps], `each thread the steps it takes: ${JSON.stringify([...nice])}`);
    } finally {
      child.kill('SIGTERM');
      if (child.exitCode === null) await new Promise((resolve) => child.once('exit', resolve));
      target.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
