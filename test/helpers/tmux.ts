/**
 * The built wsproxy in a real terminal: a tmux server of its own (-L), one session running the
 * CLI, keys sent with `send-keys`, the screen read with `capture-pane`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'bin/wsproxy.js');
const SESSION = 'tui';

/** Why a tmux test of the CLI cannot run here, or null when it can. */
export function tmuxSkipReason(): string | null {
  if (spawnSync('tmux', ['-V'], { stdio: 'ignore' }).status !== 0) return 'tmux not installed';
  if (!existsSync(path.join(ROOT, 'dist/cli/main.js'))) return 'dist/ not built (npm run build)';
  return null;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export interface TmuxOptions {
  /** The tmux server's socket name, unique to the test file and process. */
  readonly socket: string;
  readonly cols: number;
  readonly rows: number;
  /** Keep trailing spaces in captures (-N), so columns can be counted. */
  readonly keepTrailingSpaces?: boolean;
}

export interface TmuxTui {
  /** Runs `node bin/wsproxy.js <args>` in a new session, kept on screen after it exits. */
  start(args: string): void;
  /** Any tmux command against this test's server. */
  tmux(...args: string[]): string;
  /** A format of the pane (#{pane_title}, #{pane_dead}, ...). */
  display(format: string): string;
  /** The screen as text; '' when the session is gone. */
  capture(): string;
  /** Keys by tmux name (Enter, Escape, C-s, BSpace…). */
  keys(...names: string[]): void;
  /** Literal text, typed. */
  type(text: string): void;
  /** Polls until `check` passes; fails with the last screen after `ms`. */
  until<T>(what: string, check: () => T | null | undefined | false, ms?: number): Promise<T>;
  /** Ends the tmux server and everything in it. */
  kill(): void;
}

export function tmuxTui(options: TmuxOptions): TmuxTui {
  const tmux = (...args: string[]): string => execFileSync('tmux', ['-L', options.socket, ...args], { encoding: 'utf8', timeout: 10_000 });
  const capture = (): string => {
    try {
      return tmux('capture-pane', '-p', ...(options.keepTrailingSpaces === true ? ['-N'] : []), '-t', SESSION);
    } catch {
      return '';
    }
  };
  return {
    start(args) {
      const command = `TERM=xterm-256color LANG=C.UTF-8 node ${JSON.stringify(BIN)} ${args}`;
      tmux('-f', '/dev/null', 'new-session', '-d', '-s', SESSION, '-x', String(options.cols), '-y', String(options.rows), command);
      tmux('set-option', '-t', SESSION, 'remain-on-exit', 'on');
    },
    tmux,
    display: (format) => tmux('display-message', '-p', '-t', SESSION, format).trim(),
    capture,
    keys: (...names) => void tmux('send-keys', '-t', SESSION, ...names),
    type: (text) => void tmux('send-keys', '-t', SESSION, '-l', '--', text),
    async until(what, check, ms = 10_000) {
      const end = Date.now() + ms;
      for (;;) {
        const value = check();
        if (value !== null && value !== undefined && value !== false) return value;
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}; screen:\n${capture()}`);
        await sleep(50);
      }
    },
    kill() {
      try {
        tmux('kill-server');
      } catch {
        // already gone
      }
    },
  };
}
