/**
 * Terminal set-up concerns kept out of the app: which terminfo to give blessed, and putting the
 * terminal back (normal screen, cursor, no mouse reporting, cooked mode) however the process ends.
 */

/**
 * blessed 0.1.81 cannot read ncurses 6.1+ compiled entries (32-bit numbers) and falls back to a
 * plain 8-colour xterm for tmux-256color and friends. Everything we run on speaks xterm, so ask
 * for blessed's own bundled xterm-256color unless the terminal is clearly something else.
 */
export function chooseTerminal(term: string | undefined): string {
  const t = (term ?? '').toLowerCase();
  if (t === 'linux' || t.startsWith('vt') || t === 'dumb' || t === 'ansi') return t;
  return 'xterm-256color';
}

/**
 * Runs `restore` before Node prints an uncaught exception and exits, so the stack trace lands on
 * the normal screen instead of vanishing with the alternate one. Returns the uninstaller.
 */
export function installCrashRestore(restore: () => void): () => void {
  let done = false;
  const once = (): void => {
    if (done) return;
    done = true;
    try {
      restore();
    } catch {
      // Nothing more can be done for the terminal here.
    }
  };
  // 'uncaughtExceptionMonitor' does not change how the process ends: it only runs first.
  process.on('uncaughtExceptionMonitor', once);
  process.on('exit', once);
  return () => {
    process.off('uncaughtExceptionMonitor', once);
    process.off('exit', once);
  };
}
