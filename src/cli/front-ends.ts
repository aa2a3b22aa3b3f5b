/**
 * The parts that are optional per run: the terminal UI, --replace rules and --script. Kept apart
 * from main.ts so each can be started, and fail to start, with a clear message.
 */
import type { RunningProxy } from '../proxy/server.js';
import type { Options } from './options.js';

export interface FrontEnds {
  /** Resolves when the user asks to quit from the UI. */
  readonly quit: Promise<void>;
  close(): Promise<void>;
}

export async function startFrontEnds(_proxy: RunningProxy, _options: Options, _headless: boolean): Promise<FrontEnds> {
  return { quit: new Promise(() => undefined), close: async () => undefined };
}
