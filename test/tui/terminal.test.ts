import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chooseTerminal } from '../../src/tui/terminal.js';

const FIXTURE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures/crash.ts');
const LEAVE_ALT_SCREEN = '\x1b[?1049l';
const SHOW_CURSOR = '\x1b[?25h';

function run(mode: 'throw' | 'signal'): Promise<{ code: number | null; stdout: string; stderr: string; order: string[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const order: string[] = [];
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString('latin1');
      if (stdout.includes(LEAVE_ALT_SCREEN) && !order.includes('restored')) order.push('restored');
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (stderr.includes('boom') && !order.includes('stack')) order.push('stack');
      if (mode === 'signal' && stderr.includes('ready') && !order.includes('signalled')) {
        order.push('signalled');
        child.kill('SIGTERM');
      }
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, order });
    });
  });
}

describe('terminal restore', () => {
  it('puts the terminal back before the stack trace of a crash is printed', async () => {
    const r = await run('throw');
    assert.notEqual(r.code, 0);
    assert.ok(r.stdout.includes('\x1b[?1049h'), 'it had entered the alternate screen');
    assert.ok(r.stdout.includes(LEAVE_ALT_SCREEN), 'and left it');
    assert.ok(r.stdout.includes(SHOW_CURSOR), 'cursor shown again');
    assert.match(r.stderr, /boom from a test/);
    assert.deepEqual(r.order, ['restored', 'stack']);
  });

  it('quits on SIGTERM when asked to handle signals: proxy closed, terminal restored', async () => {
    const r = await run('signal');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /closed, proxy closed 1 time/);
    assert.ok(r.stdout.includes(LEAVE_ALT_SCREEN));
  });

  it('asks blessed for an xterm it can read', () => {
    assert.equal(chooseTerminal('tmux-256color'), 'xterm-256color');
    assert.equal(chooseTerminal('screen'), 'xterm-256color');
    assert.equal(chooseTerminal(undefined), 'xterm-256color');
    assert.equal(chooseTerminal('linux'), 'linux');
  });
});
