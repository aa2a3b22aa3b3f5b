/**
 * Scripting for the CLI and the TUI: load a --script file (before the proxy listens) in a worker
 * thread, run it as the "script" decider, hot-reload it, and turn --replace rules into the
 * "replace" decider.
 *
 *   const prepared = await prepareScript({ path, timeoutMs, failMode, watch: true }); // throws ScriptLoadError
 *   const proxy = await createProxy(...);
 *   const handle = prepared.start(proxy);
 *   proxy.use(replaceInterceptor(specs), INTERCEPTOR_ORDER.replace);               // throws ReplaceRuleError
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename, resolve as resolvePath } from 'node:path';
import type { ProxyControl } from '../proxy/control.js';
import { watchFiles, type FileWatcher } from './hot-reload.js';
import type { ScriptLoadError } from './loader.js';
import { ScriptHost, toLoadError } from './script-host.js';
import type { FailMode } from './script-interceptor.js';

/** --max-message's default (src/cli/options.ts), for callers that do not say. */
const DEFAULT_MAX_MESSAGE = 16 * 1024 * 1024;

export { defineScript } from './define-script.js';
export type * from './define-script.js';
export { ScriptLoadError, loadScript, describeScriptError, type LoadedScript } from './loader.js';
export { ScriptHost, type ScriptHostOptions } from './script-host.js';
export { ScriptRuntime, SCRIPT_SOURCE, type FailMode, type ScriptRuntimeOptions } from './script-interceptor.js';
export { replaceInterceptor, parseReplaceRule, applyRules, ReplaceRuleError, REPLACE_SOURCE, type ReplaceRule } from './replace-rules.js';
export { watchFiles, type FileWatcher } from './hot-reload.js';

export interface ScriptOptions {
  /** The script file (.ts, .mts, .js, .mjs), relative to `cwd`. */
  readonly path: string;
  /** --script-timeout: how long one hook call may take. */
  readonly timeoutMs: number;
  /** --script-fail: what happens to a message whose hook threw or timed out. */
  readonly failMode: FailMode;
  /** Reload the script when it (or a local file it imports) changes. */
  readonly watch: boolean;
  readonly cwd?: string;
  /** Quiet time after a change before reloading (default 100 ms). */
  readonly debounceMs?: number;
  /** --max-message: a hook's replacement (or ctx.send) larger than this is refused (default 16 MiB). */
  readonly maxMessage?: number;
}

export interface ScriptHandle {
  /** Absolute path of the script. */
  readonly path: string;
  /** One line for a status bar: "rewrite.ts", "rewrite.ts (reloaded 2×)", "rewrite.ts (thread restarted 1×)", or why the last reload failed. */
  state(): string;
  /** Loads the script again now; false (and the previous version keeps running) when that fails. */
  reload(): Promise<boolean>;
  /** Stops watching, leaves the decision chain, calls onUnload. */
  close(): Promise<void>;
}

export interface PreparedScript {
  readonly path: string;
  /** The script file and the local files it imports. */
  readonly files: readonly string[];
  /** Non-fatal remarks of the load, e.g. an unknown hook name (logged when started). */
  readonly warnings: readonly string[];
  /** Attaches the loaded script to a running proxy. Call once. */
  start(proxy: ProxyControl): ScriptHandle;
}

/**
 * Starts the script's thread and loads the script there, without a proxy, so a broken script
 * stops the CLI before it listens. Throws ScriptLoadError.
 */
export async function prepareScript(options: ScriptOptions): Promise<PreparedScript> {
  const cwd = options.cwd ?? process.cwd();
  const path = resolvePath(cwd, options.path);
  const host = new ScriptHost({ path, cwd, timeoutMs: options.timeoutMs, failMode: options.failMode, maxMessage: options.maxMessage ?? DEFAULT_MAX_MESSAGE });
  const loaded = await host.load();
  let started = false;
  return {
    path,
    files: loaded.files,
    warnings: loaded.warnings,
    start(proxy: ProxyControl): ScriptHandle {
      if (started) throw new Error('this script is already started');
      started = true;
      return attach(proxy, host, path, loaded, options);
    },
  };
}

/** prepareScript + start. Throws ScriptLoadError when the script cannot be loaded. */
export async function startScript(proxy: ProxyControl, options: ScriptOptions): Promise<ScriptHandle> {
  return (await prepareScript(options)).start(proxy);
}

function fingerprint(files: readonly string[]): string {
  const hash = createHash('sha1');
  for (const file of files) {
    hash.update(file).update('\0');
    try {
      hash.update(readFileSync(file));
    } catch {
      hash.update('<missing>');
    }
    hash.update('\0');
  }
  return hash.digest('hex');
}

function attach(proxy: ProxyControl, host: ScriptHost, path: string, first: { readonly files: readonly string[]; readonly warnings: readonly string[] }, options: ScriptOptions): ScriptHandle {
  const name = basename(path);
  host.start(proxy);
  host.log(null, 'info', `script ${path} loaded${options.watch ? ', watching for changes' : ''}`);
  for (const w of first.warnings) host.log(null, 'warn', `${name}: ${w}`);

  let files = first.files;
  /** Fingerprint of the files at the last load attempt, good or bad. */
  let attempted = fingerprint(files);
  let failure: ScriptLoadError | null = null;
  let reloads = 0;
  let closed = false;
  let running: Promise<boolean> | null = null;
  let again = false;

  const once = async (force: boolean): Promise<boolean> => {
    const before = fingerprint(files);
    if (!force && before === attempted) return failure === null;
    attempted = before;
    const next = await host.reload();
    if (closed) return false;
    if (!next.ok) {
      failure = toLoadError(next.failure, path);
      host.log(null, 'error', `reload of ${name} failed, the previous version keeps running: ${failure.message}`);
      // Watch the broken file too, if it is a new one, so fixing it reloads.
      if (!files.includes(failure.file)) watcher?.update([...files, failure.file]);
      return false;
    }
    files = next.files;
    attempted = fingerprint(files);
    watcher?.update(files);
    failure = null;
    reloads++;
    host.log(null, 'info', `script ${name} reloaded; open sessions keep their state`);
    for (const w of next.warnings) host.log(null, 'warn', `${name}: ${w}`);
    return true;
  };
  const reload = async (force: boolean): Promise<boolean> => {
    if (closed) return false;
    if (running !== null) {
      again = true;
      return running;
    }
    running = (async (): Promise<boolean> => {
      let ok: boolean;
      do {
        again = false;
        ok = await once(force);
      } while (again && !closed);
      return ok;
    })();
    try {
      return await running;
    } finally {
      running = null;
    }
  };

  const watcher: FileWatcher | null = options.watch
    ? watchFiles(files, () => void reload(false), {
        ...(options.debounceMs === undefined ? {} : { debounceMs: options.debounceMs }),
        onError: (error) => host.log(null, 'warn', `watching ${name}: ${error.message}`),
      })
    : null;

  return {
    path,
    state(): string {
      if (failure !== null) {
        const where = failure.line === null ? basename(failure.file) : `${basename(failure.file)}:${failure.line}`;
        return `${name}: reload failed (${where}: ${failure.reason}), previous version running`;
      }
      const restarted = host.restarts === 0 ? '' : ` (thread restarted ${host.restarts}×)`;
      return (reloads === 0 ? name : `${name} (reloaded ${reloads}×)`) + restarted;
    },
    reload: () => reload(true),
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      watcher?.close();
      await host.close();
    },
  };
}
