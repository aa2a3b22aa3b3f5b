/** The built command line (bin/wsproxy.js → dist/) as a child process, output collected, bounded. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';
import { until } from '../helpers/raw-peer.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'bin/wsproxy.js');

export function skipUnlessBuilt(t: TestContext): boolean {
  if (existsSync(path.join(ROOT, 'dist/cli/main.js'))) return false;
  t.skip('dist/ is missing: run `npm run build` first (npm test does)');
  return true;
}

export interface Exit {
  readonly code: number | null;
  readonly stdout: Buffer;
  readonly stderr: string;
}

export class CliProcess {
  readonly child: ChildProcess;
  readonly chunks: Buffer[] = [];
  stderr = '';
  readonly exited: Promise<Exit>;

  constructor(args: readonly string[], limitMs = 30_000) {
    this.child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (b: Buffer) => this.chunks.push(b));
    this.child.stderr!.setEncoding('utf8').on('data', (s: string) => (this.stderr += s));
    const killer = setTimeout(() => this.child.kill('SIGKILL'), limitMs);
    this.exited = new Promise((resolve) => {
      this.child.once('close', (code) => {
        clearTimeout(killer);
        resolve({ code, stdout: Buffer.concat(this.chunks), stderr: this.stderr });
      });
    });
  }

  get stdout(): Buffer {
    return Buffer.concat(this.chunks);
  }

  async port(ms = 10_000): Promise<number> {
    const m = await until(() => /listening on 127\.0\.0\.1:(\d+)/.exec(this.stderr), ms, `the listening line (stderr so far: ${JSON.stringify(this.stderr)})`);
    return Number(m[1]);
  }

  stop(): Promise<Exit> {
    this.child.kill('SIGINT');
    return this.exited;
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

export function wsproxy(args: readonly string[], limitMs?: number): CliProcess {
  return new CliProcess(args, limitMs);
}
