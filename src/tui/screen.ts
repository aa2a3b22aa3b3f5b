/** The blessed screen and the panes drawn on it: creating them, and taking the screen down once. */
import blessed from 'blessed';
import { Pane } from './panes/pane.js';
import { chooseTerminal } from './terminal.js';

export interface ScreenOptions {
  readonly input?: NodeJS.ReadableStream;
  readonly output?: NodeJS.WritableStream;
  readonly terminal?: string;
}

export interface Panes {
  readonly sessions: Pane;
  readonly frames: Pane;
  readonly held: Pane;
  readonly detail: Pane;
  readonly status: Pane;
  readonly prompt: Pane;
  readonly overlay: Pane;
}

export function createScreen(options: ScreenOptions): blessed.Widgets.Screen {
  const screen = blessed.screen({
    input: options.input ?? process.stdin,
    output: options.output ?? process.stdout,
    terminal: options.terminal ?? chooseTerminal(process.env['TERM']),
    fullUnicode: true,
    forceUnicode: true,
    autoPadding: false,
    warnings: false,
    resizeTimeout: 30,
    title: 'wsproxy',
  } as unknown as blessed.Widgets.IScreenOptions);
  // Draw line characters as UTF-8 rather than through the VT100 alternate character set, which
  // tmux and others show as letters ("x" for "│") in some set-ups.
  (screen as unknown as { tput: { brokenACS: boolean } }).tput.brokenACS = true;
  return screen;
}

export function createPanes(screen: blessed.Widgets.Screen): Panes {
  const pane = (border = false): Pane => new Pane(screen, { border });
  return { sessions: pane(), frames: pane(), held: pane(), detail: pane(), status: pane(), prompt: pane(), overlay: pane(true) };
}

/** Restores the terminal; safe to call again (quit, destroy and the crash hook may all run it). */
export function teardownScreen(screen: blessed.Widgets.Screen): void {
  if (screen.destroyed === true) return;
  try {
    screen.destroy();
  } finally {
    screen.destroyed = true;
  }
}

declare module 'blessed' {
  namespace Widgets {
    interface Screen {
      destroyed?: boolean;
    }
  }
}
