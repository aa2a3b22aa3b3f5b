/**
 * The parts that vary per run: --replace rules and --script (the deciders), and the terminal UI.
 * Deciders are prepared before the proxy listens, so a broken script or rule stops the command
 * with its file and line instead of starting a proxy that does the wrong thing.
 */
import { INTERCEPTOR_ORDER } from '../proxy/control.js';
import type { RunningProxy } from '../proxy/server.js';
import { prepareScript, replaceInterceptor, type ScriptHandle } from '../script/index.js';
import { startTui } from '../tui/index.js';
import type { Options } from './options.js';

export interface FrontEnds {
  /** Resolves when the user quits from the UI (never in headless mode). */
  readonly quit: Promise<void>;
  close(): Promise<void>;
}

export interface PreparedFrontEnds {
  start(proxy: RunningProxy, headless: boolean): FrontEnds;
}

/** Throws ScriptLoadError / ReplaceRuleError with a one-line message. */
export async function prepareFrontEnds(options: Options): Promise<PreparedFrontEnds> {
  const replace = options.replace.length === 0 ? null : replaceInterceptor(options.replace);
  const script = options.script === null ? null : await prepareScript({ path: options.script, timeoutMs: options.scriptTimeout, failMode: options.scriptFail, watch: true });
  return {
    start(proxy, headless) {
      if (replace !== null) proxy.use(replace, INTERCEPTOR_ORDER.replace);
      const scriptHandle: ScriptHandle | null = script?.start(proxy) ?? null;
      const tui = headless
        ? null
        : startTui(proxy, {
            history: options.history,
            maxPreview: options.maxPreview,
            maxPayloadBytes: options.uiMemory,
            ...(scriptHandle === null ? {} : { scriptState: () => scriptHandle.state() }),
          });
      return {
        quit: tui?.closed ?? new Promise(() => undefined),
        async close() {
          tui?.destroy();
          await scriptHandle?.close();
        },
      };
    },
  };
}
