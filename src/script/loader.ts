/**
 * Loads a script file (.ts, .mts, .tsx, .js, .mjs, .jsx) from anywhere on disk as an ES module.
 *
 * A module hook (registered once per process) does three things for files of a script:
 * - `import … from 'wsproxy'` resolves to this very package, the running proxy, so a script
 *   needs no node_modules of its own;
 * - the script and the local files it imports are loaded as ES modules whatever package.json
 *   is (or is not) next to them, with `./x.js` also finding `./x.ts`;
 * - each load gets a fresh version (a query parameter carried to every local import), which is
 *   how a hot reload sees edited helper files too.
 * TypeScript is compiled by tsx, which this package depends on.
 *
 * Failures become a ScriptLoadError that names the file and line, with a code frame.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { register } from 'node:module';
import { extname, resolve as resolvePath, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { SCRIPT_HOOKS, type Script } from './define-script.js';

/** The query parameter that versions script modules. */
const MARK = 'wsproxy-script';
export const SCRIPT_EXTENSIONS = ['.ts', '.mts', '.tsx', '.js', '.mjs', '.jsx'] as const;

/** The module hooks, as plain JavaScript (they run on the loader thread). */
const HOOKS = String.raw`
import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
const MARK = 'wsproxy-script';
const LOCAL = /^(?:\.\.?\/|\/|file:)/;
const ESM = /\.(?:ts|mts|tsx|js|mjs|jsx)$/;
let index = null;
let port = null;
export async function initialize(data) {
  index = data.index;
  port = data.port;
  port.on('message', (m) => {
    if (m && m.type === 'flush') port.postMessage({ type: 'flushed', id: m.id });
  });
  port.unref();
}
function isFile(url) {
  try { return statSync(fileURLToPath(url)).isFile(); } catch { return false; }
}
function withPath(url, path) { const c = new URL(url.href); c.pathname = path; return c; }
function candidates(url) {
  const out = [url];
  const path = url.pathname;
  const m = /\.(m?)js(x?)$/.exec(path);
  if (m) {
    const stem = path.slice(0, -m[0].length);
    if (m[1]) out.push(withPath(url, stem + '.mts'));
    else out.push(withPath(url, stem + '.ts'), withPath(url, stem + '.tsx'));
  } else if (!/\.[^./]+$/.test(path)) {
    for (const e of ['.ts', '.tsx', '.mts', '.js', '.mjs', '/index.ts', '/index.js', '/index.mjs']) out.push(withPath(url, path.replace(/\/$/, '') + e));
  }
  return out;
}
function versionOf(url) {
  if (typeof url !== 'string' || !url.startsWith('file:')) return null;
  return new URL(url).searchParams.get(MARK);
}
export async function resolve(specifier, context, next) {
  if (specifier === 'wsproxy') return { url: index, format: 'module', shortCircuit: true };
  const own = specifier.startsWith('file:') ? versionOf(specifier) : null;
  const version = own ?? versionOf(context.parentURL);
  if (version !== null && (own !== null || LOCAL.test(specifier))) {
    const base = new URL(specifier, context.parentURL);
    base.search = '';
    base.hash = '';
    for (const c of candidates(base)) {
      if (!isFile(c)) continue;
      if (!ESM.test(c.pathname) || c.pathname.includes('/node_modules/')) break;
      c.searchParams.set(MARK, version);
      if (port) port.postMessage({ type: 'file', version: Number(version), path: fileURLToPath(c) });
      return { url: c.href, format: 'module', shortCircuit: true };
    }
  }
  return next(specifier, context);
}
`;

/** A script that could not be loaded: where, and why. The message has a code frame. */
export class ScriptLoadError extends Error {
  override readonly name = 'ScriptLoadError';
  readonly file: string;
  readonly line: number | null;
  readonly column: number | null;
  /** The reason alone, one line. */
  readonly reason: string;

  constructor(file: string, line: number | null, column: number | null, reason: string, options?: { cause?: unknown }) {
    const where = line === null ? file : `${file}:${line}${column === null ? '' : `:${column}`}`;
    const frame = line === null ? '' : codeFrame(file, line, column);
    super(`${where}: ${reason}${frame === '' ? '' : `\n${frame}`}`, options);
    this.file = file;
    this.line = line;
    this.column = column;
    this.reason = reason;
  }
}

export interface LoadedScript {
  readonly script: Script;
  /** Absolute path of the script file. */
  readonly path: string;
  /** The script file and the local files it imports (what hot reload watches). */
  readonly files: readonly string[];
  /** Non-fatal remarks, e.g. an unknown hook name. */
  readonly warnings: readonly string[];
  readonly version: number;
}

interface Hooks {
  readonly files: Map<number, Set<string>>;
  flush(): Promise<void>;
}

let hooks: Promise<Hooks> | null = null;
let nextVersion = 1;

/** The directory holding this package's own modules (src/ or dist/), left out of script stacks. */
const OWN_DIR = fileURLToPath(new URL('../', import.meta.url));

function ensureHooks(): Promise<Hooks> {
  hooks ??= (async (): Promise<Hooks> => {
    const fromSource = import.meta.url.endsWith('.ts');
    const index = new URL(fromSource ? '../index.ts' : '../index.js', import.meta.url).href;
    // Running from source means a TypeScript loader (tsx) is already in place; the built
    // package brings its own, registered before ours so that ours runs first.
    if (!fromSource) (await import('tsx/esm/api')).register();
    const { port1, port2 } = new MessageChannel();
    const files = new Map<number, Set<string>>();
    const flushes = new Map<number, () => void>();
    let flushId = 0;
    port1.on('message', (m: { type: string; version?: number; path?: string; id?: number }) => {
      if (m.type === 'file' && m.version !== undefined && m.path !== undefined) {
        let set = files.get(m.version);
        if (set === undefined) files.set(m.version, (set = new Set()));
        set.add(m.path);
      } else if (m.type === 'flushed' && m.id !== undefined) flushes.get(m.id)?.();
    });
    port1.unref();
    register(`data:text/javascript,${encodeURIComponent(HOOKS)}`, { parentURL: import.meta.url, data: { index, port: port2 }, transferList: [port2 as MessagePort] });
    return {
      files,
      flush: () =>
        new Promise<void>((resolve) => {
          const id = ++flushId;
          const timer = setTimeout(done, 1000);
          function done(): void {
            clearTimeout(timer);
            flushes.delete(id);
            resolve();
          }
          flushes.set(id, done);
          port1.postMessage({ type: 'flush', id });
        }),
    };
  })();
  return hooks;
}

/**
 * Imports the script at `path` (relative to `cwd`) as a new version and checks its export.
 * Throws ScriptLoadError.
 */
export async function loadScript(path: string, cwd: string = process.cwd()): Promise<LoadedScript> {
  const file = resolvePath(cwd, path);
  let isFile = false;
  try {
    isFile = statSync(file).isFile();
  } catch {
    throw new ScriptLoadError(file, null, null, 'no such file');
  }
  if (!isFile) throw new ScriptLoadError(file, null, null, 'not a file');
  const ext = extname(file);
  if (!(SCRIPT_EXTENSIONS as readonly string[]).includes(ext)) {
    throw new ScriptLoadError(file, null, null, `unsupported file type "${ext}": a script is a .ts, .mts, .js or .mjs file`);
  }
  const registered = await ensureHooks();
  const version = nextVersion++;
  const url = pathToFileURL(file);
  url.searchParams.set(MARK, String(version));
  let mod: Record<string, unknown> | undefined;
  let failure: unknown;
  try {
    mod = (await import(url.href)) as Record<string, unknown>;
  } catch (error) {
    failure = error;
  }
  // Every file the hook resolved for this version has been reported once the flush is answered.
  await registered.flush();
  const files = [...new Set([file, ...(registered.files.get(version) ?? [])])];
  registered.files.delete(version);
  if (mod === undefined) throw toLoadError(failure, file, files.slice(1));
  const { script, warnings } = checkScript(mod, file);
  return { script, path: file, files, warnings, version };
}

const HOOK_SET: ReadonlySet<string> = new Set(SCRIPT_HOOKS);

/** The default export (or, without one, the named hook exports) → a Script. */
function checkScript(mod: Record<string, unknown>, file: string): { script: Script; warnings: string[] } {
  let candidate: unknown = mod['default'];
  if (candidate === undefined && Object.keys(mod).some((k) => HOOK_SET.has(k))) candidate = { ...mod };
  if (candidate === undefined) {
    throw new ScriptLoadError(file, null, null, 'no default export: export default defineScript({ onMessage(msg, ctx) { … } }) (or a plain object with hooks)');
  }
  if (candidate === null || typeof candidate !== 'object' || Array.isArray(candidate)) {
    const got = candidate === null ? 'null' : Array.isArray(candidate) ? 'an array' : typeof candidate;
    throw new ScriptLoadError(file, null, null, `the default export must be an object with hooks (${SCRIPT_HOOKS.join(', ')}), got ${got}`);
  }
  const script = candidate as Record<string, unknown>;
  const warnings: string[] = [];
  const keys = new Set<string>();
  for (let o: object | null = script; o !== null && o !== Object.prototype; o = Object.getPrototypeOf(o) as object | null) {
    for (const k of Object.getOwnPropertyNames(o)) if (k !== 'constructor') keys.add(k);
  }
  for (const key of keys) {
    if (HOOK_SET.has(key)) {
      if (script[key] !== undefined && typeof script[key] !== 'function') {
        throw new ScriptLoadError(file, null, null, `${key} must be a function, got ${script[key] === null ? 'null' : typeof script[key]}`);
      }
    } else if (/^on[A-Za-z]/.test(key) || key.toLowerCase() === 'initstate') {
      const near = SCRIPT_HOOKS.find((h) => h.toLowerCase() === key.toLowerCase());
      warnings.push(`unknown hook "${key}"${near === undefined ? '' : ` (did you mean ${near}?)`}; hooks are ${SCRIPT_HOOKS.join(', ')}`);
    }
  }
  if (!SCRIPT_HOOKS.some((h) => typeof script[h] === 'function')) warnings.push(`the script defines no hooks (${SCRIPT_HOOKS.join(', ')}); it does nothing`);
  return { script: script as Script, warnings };
}

/** Stack or message text with script URLs turned back into plain paths. */
export function cleanPaths(text: string): string {
  return text.replace(/file:\/\/(\/[^\s)?:'"]+)(\?[^\s):'"]*)?/g, (_m, path: string) => decodeURIComponent(path)).replace(new RegExp(`[?&]${MARK}=\\d+`, 'g'), '');
}

/**
 * An exception from a script → text for the log: the stack with plain paths, without the
 * frames of Node's internals and of the proxy that called the hook.
 */
export function describeScriptError(error: unknown): string {
  if (!(error instanceof Error)) return `non-Error value thrown: ${typeof error === 'string' ? JSON.stringify(error) : String(error)}`;
  const stack = cleanPaths(error.stack ?? `${error.name}: ${error.message}`);
  const lines = stack.split('\n');
  const kept = lines.filter((line, i) => {
    if (i === 0 || !/^\s+at /.test(line)) return true;
    return !line.includes(OWN_DIR) && !/\(node:|at node:|at new Promise \(<anonymous>\)/.test(line);
  });
  return kept.join('\n');
}

interface Location {
  readonly file: string;
  readonly line: number | null;
  readonly column: number | null;
  readonly reason: string;
}

function firstLine(text: string): string {
  return text.split('\n').find((l) => l.trim() !== '')?.trim() ?? text;
}

function isScriptFile(path: string): boolean {
  return !path.includes(`${sep}node_modules${sep}`) && !path.startsWith(OWN_DIR) && !path.startsWith('node:');
}

/** Finds where a load failed. `files` are the script's local files resolved so far. */
function toLoadError(error: unknown, entry: string, files: readonly string[]): ScriptLoadError {
  const loc = locate(error, entry, files);
  return new ScriptLoadError(loc.file, loc.line, loc.column, loc.reason, { cause: error });
}

function locate(error: unknown, entry: string, files: readonly string[]): Location {
  if (!(error instanceof Error)) return { file: entry, line: null, column: null, reason: `threw ${String(error)}` };
  const message = cleanPaths(error.message);
  const code = (error as NodeJS.ErrnoException).code;

  // esbuild (TypeScript, JSX): "Transform failed with 1 error:\n/path/file.ts:3:18: ERROR: Unexpected ";""
  const esbuild = /^(.+?):(\d+):(\d+): ERROR: (.+)$/m.exec(message);
  if (esbuild !== null) return { file: esbuild[1]!, line: Number(esbuild[2]), column: Number(esbuild[3]) + 1, reason: esbuild[4]! };

  // "Cannot find module '/abs/helper.js' imported from /abs/script.ts"
  const missing = /Cannot find (module|package) '([^']+)' imported from (.+)$/m.exec(message);
  if (missing !== null && (code === 'ERR_MODULE_NOT_FOUND' || code === undefined)) {
    const importer = missing[3]!.trim();
    const wanted = missing[1] === 'package' ? missing[2]! : (missing[2]!.split(/[\\/]/).pop() ?? missing[2]!).replace(/\.[^.]+$/, '');
    const at = findImportLine(importer, wanted);
    const reason = missing[1] === 'package' ? `cannot find package '${missing[2]}' (install it next to the script, or import a path)` : `cannot find module ${missing[2]}`;
    return { file: importer, line: at?.line ?? null, column: at?.column ?? null, reason };
  }

  // "The requested module 'x' does not provide an export named 'y'"
  const noExport = /The requested module '([^']+)' does not provide an export named '([^']+)'/.exec(message);
  if (noExport !== null) {
    for (const file of [entry, ...files]) {
      const at = findImportLine(file, noExport[1]!, noExport[2]!);
      if (at !== null) return { file, line: at.line, column: at.column, reason: firstLine(message) };
    }
    return { file: entry, line: null, column: null, reason: firstLine(message) };
  }

  // A JavaScript syntax error: V8 keeps the position out of the stack; `node --check` prints it.
  if (error instanceof SyntaxError && !frameIn(error.stack ?? '')) {
    const candidates = [...new Set([...files.slice().reverse(), entry])].filter((f) => /\.(?:m?js|jsx)$/.test(f));
    for (const file of candidates) {
      const found = checkSyntax(file);
      if (found !== null) return found;
    }
    return { file: entry, line: null, column: null, reason: `SyntaxError: ${firstLine(message)}` };
  }

  // Thrown while the module ran: the first stack frame in a script file.
  const frame = frameIn(error.stack ?? '');
  const reason = `${error.name}: ${firstLine(message)}`;
  if (frame !== null) return { ...frame, reason };
  return { file: entry, line: null, column: null, reason };
}

/** The first "at … (/path:line:col)" of a script file in a stack. */
function frameIn(stack: string): { file: string; line: number; column: number } | null {
  for (const line of cleanPaths(stack).split('\n')) {
    const m = /^\s+at (?:.*?\()?(\/[^():]+|[A-Za-z]:\\[^():]+):(\d+):(\d+)\)?\s*$/.exec(line);
    if (m !== null && isScriptFile(m[1]!)) return { file: m[1]!, line: Number(m[2]), column: Number(m[3]) };
  }
  return null;
}

/** The line of an import that mentions `specifier` (and `name`, when given). */
function findImportLine(file: string, specifier: string, name?: string): { line: number; column: number } | null {
  let source: string;
  try {
    source = readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  const lines = source.split(/\r?\n/);
  // './dir/helper.js' for a module named helper, 'pkg/sub' for a package pkg.
  const quoted = new RegExp(`['"](?:[^'"]*/)?${escapeRegExp(specifier)}(?:\\.[a-z]+)?(?:/[^'"]*)?['"]`);
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (quoted.test(l) && (name === undefined || l.includes(name) || (i > 0 && lines[i - 1]!.includes(name)))) {
      const col = name !== undefined && l.includes(name) ? l.indexOf(name) : l.search(quoted);
      return { line: i + 1, column: col + 1 };
    }
  }
  if (name !== undefined) {
    // A multi-line import list: the line naming it.
    const word = new RegExp(`\\b${escapeRegExp(name)}\\b`);
    const i = lines.findIndex((l) => word.test(l));
    if (i !== -1) return { line: i + 1, column: lines[i]!.search(word) + 1 };
  }
  return null;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Runs `node --check` on a JavaScript file to learn where its syntax error is. */
function checkSyntax(file: string): Location | null {
  const result = spawnSync(process.execPath, ['--no-warnings', '--experimental-default-type=module', '--check', file], { encoding: 'utf8', timeout: 10_000 });
  if (result.status === 0 || typeof result.stderr !== 'string') return null;
  const head = /^(.+?):(\d+)\n(.*)\n(\s*)\^/m.exec(result.stderr);
  const reason = /^(SyntaxError: .+)$/m.exec(result.stderr)?.[1];
  if (head === null || reason === undefined) return null;
  return { file: head[1]!, line: Number(head[2]), column: head[4]!.length + 1, reason };
}

/** Three lines around `line` with a caret under `column`. */
function codeFrame(file: string, line: number, column: number | null): string {
  let source: string;
  try {
    source = readFileSync(file, 'utf8');
  } catch {
    return '';
  }
  const lines = source.split(/\r?\n/);
  if (line < 1 || line > lines.length) return '';
  const first = Math.max(1, line - 1);
  const last = Math.min(lines.length, line + 1);
  const width = String(last).length;
  const out: string[] = [];
  for (let n = first; n <= last; n++) {
    const text = lines[n - 1]!.replace(/\t/g, '  ');
    out.push(`${n === line ? '>' : ' '} ${String(n).padStart(width)} | ${text}`);
    if (n === line && column !== null) {
      const before = lines[n - 1]!.slice(0, column - 1).replace(/\t/g, '  ');
      out.push(`  ${' '.repeat(width)} | ${' '.repeat(before.length)}^`);
    }
  }
  return out.join('\n');
}
