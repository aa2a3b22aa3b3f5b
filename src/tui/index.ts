/**
 * The terminal UI (`wsproxy` on a terminal without --headless). See docs/tui.md.
 */
import type { ProxyControl } from '../proxy/control.js';
import { TuiApp, type TuiHandle, type TuiOptions } from './app.js';

export type { TuiHandle, TuiOptions } from './app.js';

/** Opens the full-screen UI on the terminal (or the given streams) and starts showing traffic. */
export function startTui(proxy: ProxyControl, options: TuiOptions): TuiHandle {
  return new TuiApp(proxy, options).start();
}
