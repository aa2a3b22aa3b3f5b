/**
 * Command-line flags → a typed, frozen Options object. Every parse error is a one-line message
 * (OptionError), never a stack trace.
 */
import type { Target } from '../proxy/upstream.js';
import { defaultCaDir } from '../tls/ca.js';
import { ResolveError, parseResolve } from '../tls/resolve.js';

export class OptionError extends Error {
  override readonly name = 'OptionError';
}

export interface Address {
  readonly host: string;
  readonly port: number;
}

/** TLS and forward-mode flags (docs/tls.md). */
export interface TlsOptions {
  /** --tls: the listener speaks TLS. */
  readonly listen: boolean;
  /** --cert/--key: the listener's certificate instead of a leaf from the local CA. */
  readonly cert: string | null;
  readonly key: string | null;
  /** --ca-dir, else $WSPROXY_HOME, else ~/.wsproxy. */
  readonly caDir: string;
  /** --target-ca FILE (repeatable): trusted for the target besides the roots. */
  readonly targetCa: readonly string[];
  readonly insecure: boolean;
  /** --ignore-hosts REGEX (repeatable): CONNECT tunnels to these hosts stay opaque. */
  readonly ignoreHosts: readonly RegExp[];
  /** --resolve HOST:ADDRESS (repeatable). */
  readonly resolve: ReadonlyMap<string, string>;
  /** SSLKEYLOGFILE from the environment. */
  readonly keylogFile: string | null;
}

export interface Options {
  readonly listen: Address;
  /** null: forward-proxy mode (no --target). */
  readonly target: Target | null;
  readonly tls: TlsOptions;
  readonly headless: boolean;
  readonly logFile: string | null;
  /** Bytes of records the log may hold unwritten before the relay waits for it (--log-buffer). */
  readonly logBuffer: number;
  readonly maxPreview: number;
  readonly maxMessage: number;
  readonly history: number;
  readonly uiMemory: number;
  readonly deflate: boolean;
  readonly keepHost: boolean;
  readonly strict: boolean;
  readonly color: boolean;
  readonly script: string | null;
  readonly scriptTimeout: number;
  readonly scriptFail: 'open' | 'closed';
  readonly replace: readonly string[];
  /** --har FILE: sessions as HAR 1.2, rewritten atomically at each close and at exit. */
  readonly har: string | null;
  readonly harControl: boolean;
  /** --pcap FILE, or "-" for stdout. */
  readonly pcap: string | null;
  /** --fault rules as written, --faults file, --fault-seed (null: a random seed, printed). */
  readonly faults: readonly string[];
  readonly faultsFile: string | null;
  readonly faultSeed: string | null;
  /** --control PORT and --control-host (loopback unless given). */
  readonly control: Address | null;
}

/** What commander hands over (all strings, before validation). */
export interface RawOptions {
  readonly listen: string;
  readonly target?: string;
  readonly headless?: boolean;
  readonly logFile?: string;
  readonly logBuffer?: string;
  readonly maxPreview: string;
  readonly maxMessage: string;
  readonly history: string;
  readonly uiMemory?: string;
  readonly deflate: boolean;
  readonly keepHost?: boolean;
  readonly strict?: boolean;
  readonly color: boolean;
  readonly script?: string;
  readonly scriptTimeout: string;
  readonly scriptFail: string;
  readonly replace: readonly string[];
  readonly har?: string;
  readonly harControl?: boolean;
  readonly pcap?: string;
  readonly fault?: readonly string[];
  readonly faults?: string;
  readonly faultSeed?: string;
  readonly control?: string;
  readonly controlHost?: string;
  readonly tls?: boolean;
  readonly cert?: string;
  readonly key?: string;
  readonly caDir?: string;
  readonly targetCa?: readonly string[];
  readonly insecure?: boolean;
  readonly ignoreHosts?: readonly string[];
  readonly resolve?: readonly string[];
}

function port(text: string, flag: string): number {
  if (!/^\d+$/.test(text) || Number(text) > 65535) throw new OptionError(`${flag}: invalid port "${text}"`);
  return Number(text);
}

/** PORT, HOST:PORT or [IPv6]:PORT. */
export function parseListen(text: string): Address {
  if (/^\d+$/.test(text)) return { host: '127.0.0.1', port: port(text, '--listen') };
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(text);
  if (m === null) throw new OptionError(`--listen: expected PORT or HOST:PORT, got "${text}"`);
  return { host: m[1] ?? m[2]!, port: port(m[3]!, '--listen') };
}

/** HOST:PORT, ws://HOST[:PORT][/base], wss://HOST[:PORT][/base] (port 443), http://… or https://…. */
export function parseTarget(text: string): Target {
  if (/^[a-z]+:\/\//i.test(text)) {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new OptionError(`--target: invalid URL "${text}"`);
    }
    if (!['ws:', 'wss:', 'http:', 'https:'].includes(url.protocol)) throw new OptionError(`--target: only ws://, wss://, http:// and https:// targets are supported, got ${url.protocol}//`);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const basePath = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
    const tls = url.protocol === 'wss:' || url.protocol === 'https:';
    return { host, port: url.port === '' ? (tls ? 443 : 80) : Number(url.port), basePath, ...(tls ? { tls } : {}) };
  }
  const m = /^(?:\[([^\]]+)\]|([^:/]+)):(\d+)$/.exec(text);
  if (m === null) throw new OptionError(`--target: expected HOST:PORT or ws://HOST:PORT[/path], got "${text}"`);
  return { host: m[1] ?? m[2]!, port: port(m[3]!, '--target'), basePath: '' };
}

/** A byte count: 65536, 64k, 16M, 1G. */
export function parseBytes(text: string, flag: string): number {
  const m = /^(\d+)\s*([kmg]i?b?)?$/i.exec(text.trim());
  if (m === null) throw new OptionError(`${flag}: expected a size like 65536, 64k or 16M, got "${text}"`);
  const unit = (m[2] ?? '').toLowerCase()[0];
  const scale = unit === 'k' ? 1024 : unit === 'm' ? 1024 ** 2 : unit === 'g' ? 1024 ** 3 : 1;
  return Number(m[1]) * scale;
}

function logBuffer(text: string): number {
  const bytes = parseBytes(text, '--log-buffer');
  if (bytes < 1024 * 1024) throw new OptionError(`--log-buffer: at least 1M, got "${text}"`);
  return bytes;
}

function positiveInt(text: string, flag: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new OptionError(`${flag}: expected a positive whole number, got "${text}"`);
  return Number(text);
}

export function toOptions(raw: RawOptions, defaults: { readonly target?: Target } = {}): Options {
  // No --target: forward-proxy mode.
  const target = raw.target === undefined ? (defaults.target ?? null) : parseTarget(raw.target);
  if (raw.controlHost !== undefined && raw.control === undefined) throw new OptionError('--control-host needs --control PORT');
  if (raw.scriptFail !== 'open' && raw.scriptFail !== 'closed') throw new OptionError(`--script-fail: expected "open" or "closed", got "${raw.scriptFail}"`);
  return Object.freeze({
    listen: parseListen(raw.listen),
    target,
    tls: tlsOptions(raw, target),
    headless: raw.headless === true,
    logFile: raw.logFile ?? null,
    logBuffer: logBuffer(raw.logBuffer ?? '64M'),
    maxPreview: parseBytes(raw.maxPreview, '--max-preview'),
    maxMessage: parseBytes(raw.maxMessage, '--max-message'),
    history: positiveInt(raw.history, '--history'),
    uiMemory: parseBytes(raw.uiMemory ?? '64M', '--ui-memory'),
    deflate: raw.deflate,
    keepHost: raw.keepHost === true,
    strict: raw.strict === true,
    // https://no-color.org: any non-empty NO_COLOR disables colour.
    color: raw.color && (process.env['NO_COLOR'] ?? '') === '',
    script: raw.script ?? null,
    scriptTimeout: positiveInt(raw.scriptTimeout, '--script-timeout'),
    scriptFail: raw.scriptFail,
    replace: [...raw.replace],
    har: raw.har ?? null,
    harControl: raw.harControl === true,
    pcap: raw.pcap ?? null,
    faults: [...(raw.fault ?? [])],
    faultsFile: raw.faults ?? null,
    faultSeed: raw.faultSeed ?? null,
    control: raw.control === undefined ? null : { host: raw.controlHost ?? '127.0.0.1', port: port(raw.control, '--control') },
  });
}

function tlsOptions(raw: RawOptions, target: Target | null): TlsOptions {
  if ((raw.cert === undefined) !== (raw.key === undefined)) throw new OptionError('--cert and --key go together');
  if (raw.cert !== undefined && raw.tls !== true) throw new OptionError('--cert and --key are for the --tls listener; add --tls');
  if (raw.tls === true && target === null) throw new OptionError('--tls needs --target (a forward proxy is reached over plain HTTP, its CONNECT tunnels carry the TLS)');
  const ignoreHosts = (raw.ignoreHosts ?? []).map((text) => {
    try {
      return new RegExp(text, 'i');
    } catch (error) {
      throw new OptionError(`--ignore-hosts: invalid regular expression "${text}": ${(error as Error).message}`);
    }
  });
  let resolve: ReadonlyMap<string, string>;
  try {
    resolve = parseResolve(raw.resolve ?? []);
  } catch (error) {
    if (error instanceof ResolveError) throw new OptionError(error.message);
    throw error;
  }
  const keylog = process.env['SSLKEYLOGFILE'];
  return {
    listen: raw.tls === true,
    cert: raw.cert ?? null,
    key: raw.key ?? null,
    caDir: raw.caDir ?? defaultCaDir(),
    targetCa: [...(raw.targetCa ?? [])],
    insecure: raw.insecure === true,
    ignoreHosts,
    resolve,
    keylogFile: keylog !== undefined && keylog !== '' ? keylog : null,
  };
}
