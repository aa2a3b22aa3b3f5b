/**
 * The parts that vary per run: --replace rules and --script (the deciders), and the terminal UI.
 * Deciders are prepared before the proxy listens, so a broken script or rule stops the command
 * with its file and line instead of starting a proxy that does the wrong thing.
 */
import { INTERCEPTOR_ORDER } from '../proxy/control.js';
import type { RunningProxy } from '../proxy/server.js';
import type { ScriptHandle } from '../script/index.js';
import { replaceInterceptor } from '../script/replace-rules.js';
import type { Options } from './options.js';
import type { FaultEngine } from '../fault/engine.js';
import type { ControlServer } from '../fault/control-api.js';

export interface FrontEnds {
  /** Resolves when the user quits from the UI (never in headless mode). */
  readonly quit: Promise<void>;
  close(): Promise<void>;
}

export interface PreparedFrontEnds {
  /**
   * Fault rules (--fault, --faults): attached to the proxy by start(). Null when nothing in this
   * run can make a rule: headless, with no rule, seed, --control or script.
   */
  readonly faults: FaultEngine | null;
  /** Starts --control, if asked for; throws when it cannot listen. */
  startControl(): Promise<ControlServer | null>;
  /** Attaches the deciders and fault rules, and starts the TUI unless this run is headless. */
  start(proxy: RunningProxy): FrontEnds;
}

/** Whether anything in this run can make a fault rule: a rule or seed given, --control, a script or the TUI. */
function usesFaults(options: Options, headless: boolean): boolean {
  return options.faults.length > 0 || options.faultsFile !== null || options.faultSeed !== null || options.control !== null || options.script !== null || !headless;
}

/**
 * Throws ScriptLoadError / ReplaceRuleError / FaultRuleError with a one-line message. The fault
 * engine, the script runtime and the TUI are loaded only when this run uses them: their code
 * would otherwise sit in every headless proxy's heap, and a larger heap sets V8 collecting in
 * full during large transfers (docs/performance.md, rounds 8 and 9).
 */
export async function prepareFrontEnds(options: Options, headless: boolean): Promise<PreparedFrontEnds> {
  const replace = options.replace.length === 0 ? null : replaceInterceptor(options.replace);
  let faults: FaultEngine | null = null;
  let seed = 0;
  if (usesFaults(options, headless)) {
    const [{ FaultEngine }, { loadFaults, parseSeed }, { FaultRandom }] = await Promise.all([import('../fault/engine.js'), import('../fault/load.js'), import('../fault/prng.js')]);
    const loaded = loadFaults(options.faults, options.faultsFile);
    seed = options.faultSeed !== null ? parseSeed(options.faultSeed) : (loaded.seed ?? FaultRandom.randomSeed());
    faults = new FaultEngine(seed);
    for (const r of loaded.rules) faults.add(r.rule, r.source, r.enabled);
  }
  const script = options.script === null ? null : await (await import('../script/index.js')).prepareScript({ path: options.script, timeoutMs: options.scriptTimeout, failMode: options.scriptFail, watch: true, maxMessage: options.maxMessage });
  const startTui = headless ? null : (await import('../tui/index.js')).startTui;
  let control: ControlServer | null = null;
  return {
    faults,
    async startControl() {
      if (options.control === null || faults === null) return null;
      const { startControl } = await import('../fault/control-api.js');
      control = await startControl(faults, options.control.host, options.control.port);
      process.stderr.write(`wsproxy: control API on http://${control.host.includes(':') ? `[${control.host}]` : control.host}:${control.port}/rules\n`);
      return control;
    },
    start(proxy) {
      if (replace !== null) proxy.use(replace, INTERCEPTOR_ORDER.replace);
      faults?.attach(proxy);
      if (faults !== null && (faults.rules().length > 0 || options.faultSeed !== null)) {
        // Printed so that a failing run can be replayed exactly.
        process.stderr.write(`wsproxy: ${faults.rules().length} fault rule(s), seed ${seed} (replay with --fault-seed ${seed})\n`);
      }
      const scriptHandle: ScriptHandle | null = script?.start(proxy) ?? null;
      const tui =
        startTui === null
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
          await control?.close();
          faults?.close();
          tui?.destroy();
          await scriptHandle?.close();
        },
      };
    },
  };
}
