/**
 * Drives the TUI on in-memory streams: keys are written to the input stream as a terminal would
 * send them, and what blessed drew is read back from the screen's cell buffer (text and
 * attributes per cell).
 */
import { PassThrough } from 'node:stream';
import { TuiApp, type TuiOptions } from '../../../src/tui/app.js';
import type { TuiHandle } from '../../../src/tui/index.js';
import { FakeProxy } from './fake-proxy.js';

export interface FakeTerminal {
  readonly input: PassThrough;
  readonly output: PassThrough & { columns: number; rows: number; isTTY: boolean };
  resize(cols: number, rows: number): void;
}

export function fakeTerminal(cols = 80, rows = 24): FakeTerminal {
  const input = new PassThrough();
  const output = Object.assign(new PassThrough(), { columns: cols, rows, isTTY: true });
  output.resume(); // nobody reads the escape sequences; keep them from piling up
  return {
    input,
    output,
    resize(c: number, r: number) {
      output.columns = c;
      output.rows = r;
      output.emit('resize');
    },
  };
}

export interface Harness {
  readonly proxy: FakeProxy;
  readonly app: TuiApp;
  readonly handle: TuiHandle;
  readonly term: FakeTerminal;
  /** Sends raw terminal input (key sequences) and lets blessed process it. */
  keys(...sequences: string[]): Promise<void>;
  /** Renders pending changes and returns the screen as text lines. */
  text(): string[];
  /** The screen as one string. */
  dump(): string;
  /** Attributes of the cell at (x, y). */
  cell(x: number, y: number): Cell;
  /** The first line containing `needle`, with its row number. */
  find(needle: string): { line: string; y: number; x: number } | null;
  close(): void;
}

export interface Cell {
  readonly ch: string;
  readonly fg: number;
  readonly bg: number;
  readonly bold: boolean;
  readonly underline: boolean;
  readonly inverse: boolean;
}

/** blessed colour numbers. */
export const COLOR = { default: 0x1ff, black: 0, red: 1, green: 2, yellow: 3, blue: 4, magenta: 5, cyan: 6, white: 7, gray: 8, lightblue: 12 } as const;

/** Named keys as a terminal sends them (xterm). */
export const KEY = {
  up: '\x1b[A',
  down: '\x1b[B',
  right: '\x1b[C',
  left: '\x1b[D',
  pageUp: '\x1b[5~',
  pageDown: '\x1b[6~',
  home: '\x1b[H',
  end: '\x1b[F',
  enter: '\r',
  escape: '\x1b',
  tab: '\t',
  shiftTab: '\x1b[Z',
  backspace: '\x7f',
  ctrlS: '\x13',
  ctrlC: '\x03',
  ctrlU: '\x15',
} as const;

export function start(options: Partial<TuiOptions> & { cols?: number; rows?: number } = {}): Harness {
  const term = fakeTerminal(options.cols ?? 80, options.rows ?? 24);
  const proxy = new FakeProxy();
  const app = new TuiApp(proxy, { history: 10_000, maxPreview: 65536, input: term.input, output: term.output, terminal: 'xterm-256color', ...options });
  const handle = app.start();
  const screen = app.screen;
  const lines = (): string[] => {
    app.renderNow();
    return (screen as unknown as { lines: [number, string][][] }).lines.map((row) => row.map(([, ch]) => ch).join(''));
  };
  const harness: Harness = {
    proxy,
    app,
    handle,
    term,
    async keys(...sequences: string[]) {
      for (const s of sequences) {
        term.input.write(s);
        // Let blessed's keypress parser run (it splits data on 'data' events).
        await new Promise((resolve) => setImmediate(resolve));
      }
    },
    text: lines,
    dump() {
      return lines()
        .map((l) => l.replace(/\s+$/, ''))
        .join('\n');
    },
    cell(x: number, y: number): Cell {
      const [attr, ch] = (screen as unknown as { lines: [number, string][][] }).lines[y]![x]!;
      const flags = attr >> 18;
      return { ch, fg: (attr >> 9) & 0x1ff, bg: attr & 0x1ff, bold: (flags & 1) !== 0, underline: (flags & 2) !== 0, inverse: (flags & 8) !== 0 };
    },
    find(needle: string) {
      const all = lines();
      for (let y = 0; y < all.length; y++) {
        const x = all[y]!.indexOf(needle);
        if (x >= 0) return { line: all[y]!, y, x };
      }
      return null;
    },
    close() {
      handle.destroy();
    },
  };
  return harness;
}
