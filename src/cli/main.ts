/**
 * The `wsproxy` command: flags → proxy → observers (headless printer, JSONL log, TUI) and
 * deciders (--replace rules, --script), then a clean shutdown on Ctrl-C.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { createProxy, type RunningProxy } from '../proxy/server.js';
import { attachPrinterThread } from '../output/printer-thread.js';
import type { DemoClient } from './demo.js';
import { OptionError, toOptions, type Options, type RawOptions } from './options.js';
import { ReplaceRuleError } from '../script/replace-rules.js';
import { FaultRuleError } from '../fault/rule-error.js';
import { probeTarget } from './probe.js';
import { prepareFrontEnds, type FrontEnds, type PreparedFrontEnds } from './front-ends.js';
import { addExportCommands, attachExports } from './export-commands.js';
import { LogReadError } from '../export/log-read-error.js';
import { prepareTls, type PreparedTls } from '../tls/setup.js';
import { TrustError } from '../tls/trust.js';
import { defaultCaDir } from '../tls/ca.js';
import { escapeForTerminal } from '../output/terminal-text.js';

const EXAMPLES = `
Examples:
  $ wsproxy --listen 9000 --target localhost:12345
      point your page at ws://localhost:9000/… and watch every frame
  $ wsproxy -l 9000 -t ws://localhost:8080/socket --headless --log-file frames.jsonl
      print one line per frame and keep a JSONL log
  $ wsproxy -l 9000 -t localhost:12345 --script ./rewrite.ts
      rewrite, drop or inject messages from a script (hot-reloaded)
  $ wsproxy -l 9000 -t localhost:12345 --replace 'server:/"price":\\d+/"price":0/'
      substitute text in every server message
  $ wsproxy -l 9000 -t localhost:12345 --fault 'server: close 1012 "restart" after 30s'
      test that the client survives a server restart (docs/faults.md)
  $ wsproxy -l 9000 -t wss://echo.example.com
      a local client on ws://localhost:9000 to a remote wss:// server (docs/tls.md)
  $ wsproxy -l 9443 --tls -t wss://api.example.com
      the listener speaks TLS too: the client connects to wss://localhost:9443
  $ wsproxy -l 8080
      no --target: a forward (HTTP CONNECT) proxy for browsers and other clients
  $ wsproxy browser https://app.example.com
      Chromium through the forward proxy, trusting its CA (no install step)
  $ wsproxy ca
      where the local CA is, its fingerprints, and how to trust it
  $ wsproxy demo
      a built-in echo target and client, to see it work at once

Exit status:
  0  stopped normally (Ctrl-C, SIGTERM, q in the UI, the demo's rounds done), --help, --version
  1  a failure at run time: the address is in use, the target is unreachable at start, a script
     does not load
  2  a usage error: an unknown flag, a bad or missing value`;

/** The package's version, from its package.json (two levels up from src/cli and dist/cli alike). */
function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** `tlsListener`: --tls, --cert and --key apply (not to `browser`: its listener is a forward proxy). */
function addProxyOptions(cmd: Command, tlsListener = true): Command {
  cmd
    .option('-l, --listen <addr>', 'where to listen: PORT or HOST:PORT', '127.0.0.1:9000')
    .option('--headless', 'print one line per frame instead of the terminal UI (automatic when stdout is not a terminal)')
    .option('--log-file <path>', 'append every event to a JSONL file (see docs/log-format.md)')
    .option('--log-buffer <bytes>', 'records --log-file may hold unwritten before the relay waits for the disk', '64M')
    .option('--max-preview <bytes>', 'payload bytes kept per frame for the log and UI', '64k')
    .option('--max-message <bytes>', 'largest message held whole for a script or intercept; larger ones stream through', '16M')
    .option('--history <n>', 'frames kept in the UI', '10000')
    .option('--ui-memory <bytes>', 'frame payload bytes the UI keeps in all; older payloads keep their first 1 KiB', '64M')
    .option('--no-deflate', 'strip permessage-deflate from the client offer')
    .option('--keep-host', "keep the client's Host header instead of naming the target")
    .option('--strict', 'close on any protocol violation, like a conforming endpoint')
    .option('--no-color', 'no colours (NO_COLOR is respected too)')
    .option('--script <file>', 'a .ts/.js/.mjs script that may rewrite, drop or inject messages')
    .option('--script-timeout <ms>', 'time a script hook may take before the message goes on unchanged', '5000')
    .addOption(new Option('--script-fail <mode>', 'when a hook throws or times out: forward (open) or drop (closed)').choices(['open', 'closed']).default('open'))
    .option('--replace <rule>', "text substitution '[client:|server:]/regex/replacement/[flags]' (repeatable)", (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--har <file>', 'write the sessions as HAR 1.2 (Chrome DevTools), at each close and at exit')
    .option('--har-control', 'include ping, pong and close frames in the HAR')
    .option('--pcap <file>', 'write both legs of every session as pcapng as it happens ("-": stdout)')
    .option('--fault <rule>', "a fault rule, e.g. 'server: delay 200ms jitter 50ms' (repeatable; see docs/faults.md)", (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--faults <file>', 'fault rules from a JSON file')
    .option('--fault-seed <n>', 'seed for every fault probability and jitter (printed at start when not given)')
    .option('--control <port>', 'JSON HTTP API on 127.0.0.1:PORT to list, add and remove fault rules and trigger kill all')
    .option('--control-host <host>', 'bind the control API to this address instead of 127.0.0.1');
  if (tlsListener) {
    cmd
      .option('--tls', 'the listener speaks TLS (a leaf from the local CA per SNI name, or --cert/--key)')
      .option('--cert <file>', 'PEM certificate (chain) for the --tls listener')
      .option('--key <file>', 'PEM private key for --cert');
  }
  return cmd
    .option('--ca-dir <dir>', 'where the local CA lives (default $WSPROXY_HOME or ~/.wsproxy)')
    .option('--target-ca <file>', 'also trust these PEM CA certificates for the target (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--insecure', "do not verify the target's certificate (said at start and on every session record)")
    .option('--ignore-hosts <regex>', 'forward mode: tunnel matching hosts (CONNECT host or SNI) as opaque bytes (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--resolve <host:address>', 'connect to ADDRESS whenever HOST is asked for, like curl (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[]);
}

export async function main(argv: readonly string[]): Promise<void> {
  quietOnClosedOutput();
  const program = addProxyOptions(new Command('wsproxy'))
    .description('A transparent WebSocket debugging proxy: every frame in both directions, decoded, live.')
    .option('-t, --target <addr>', 'the server to relay to: HOST:PORT, ws://HOST:PORT[/path] or wss://HOST[:PORT][/path]; without it, a forward proxy')
    .version(packageVersion(), '-V, --version', 'print the version and exit')
    .addHelpText('after', EXAMPLES)
    // Options after "demo" belong to demo, not to the proxy command.
    .enablePositionalOptions()
    // One line for a bad flag: commander's message, with where to look.
    .configureOutput({ outputError: (text, write) => write(`wsproxy: ${text.trim().replace(/^error: /, '')} (see wsproxy --help)\n`) })
    .exitOverride()
    .action(async (raw: RawOptions) => run(toOptions(raw), null));
  addProxyOptions(program.command('demo'))
    .description('run against a built-in echo target with a client that sends every kind of frame')
    .option('--rounds <n>', 'stop the demo client after this many rounds (default: until Ctrl-C)')
    .action(async (raw: RawOptions & { readonly rounds?: string }) => {
      // The demo's peers use the `ws` package: loaded for the demo only (see front-ends.ts).
      const { startDemoClient, startEchoTarget } = await import('./demo.js');
      const echo = await startEchoTarget();
      const options = toOptions(raw, { target: { host: '127.0.0.1', port: echo.port, basePath: '' } });
      const rounds = raw.rounds === undefined ? Infinity : Number(raw.rounds);
      await run(options, { rounds, startClient: (url) => startDemoClient(url, rounds), stopTarget: () => echo.close() });
    });
  program
    .command('ca')
    .description("print where the local CA is, its SHA-256 and SPKI fingerprints, and how to trust it (creates it if needed)")
    .option('--ca-dir <dir>', 'where the local CA lives (default $WSPROXY_HOME or ~/.wsproxy)')
    .option('--pem', 'print the CA certificate (PEM) only')
    .action(async (raw: { readonly caDir?: string; readonly pem?: boolean }) => {
      const { describeCa } = await import('../tls/ca-command.js');
      const described = await describeCa(raw.caDir ?? defaultCaDir()).catch((e: unknown) => fail(e));
      process.stdout.write(raw.pem === true ? described.ca.certPem : described.text);
    });
  addProxyOptions(program.command('browser'), false)
    .description('start the forward proxy and open Chromium through it, trusting the local CA (a throwaway profile)')
    .argument('[url]', 'the page to open')
    .option('--chromium <path>', 'the browser to run (default: CHROME_PATH, else chromium, chromium-browser or google-chrome on PATH)')
    .action(async (url: string | undefined, raw: RawOptions & { readonly chromium?: string }) => {
      let chromium: string;
      const { findChromium } = await import('../tls/browser.js');
      try {
        chromium = findChromium(raw.chromium ?? null);
      } catch (error) {
        fail(error);
      }
      await run(toOptions(raw), null, { chromium, url: url ?? null });
    });
  addExportCommands(program, fail, packageVersion());
  try {
    await program.parseAsync(argv as string[]);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit 0; otherwise commander has already printed the one-line usage
      // error, and a usage error exits 2 like the flag checks in toOptions.
      process.exitCode = error.exitCode === 0 ? 0 : 2;
      return;
    }
    fail(error);
  }
}

function fail(error: unknown): never {
  const usage = error instanceof OptionError || error instanceof ReplaceRuleError || error instanceof FaultRuleError || error instanceof LogReadError || error instanceof TrustError;
  const text = usage ? (error as Error).message : describeStartError(error);
  process.stderr.write(`wsproxy: ${text}\n`);
  process.exit(usage ? 2 : 1);
}

function describeStartError(error: unknown): string {
  const e = error as NodeJS.ErrnoException & { address?: string; port?: number };
  if (e?.code === 'EADDRINUSE') return `cannot listen on ${e.address ?? ''}:${e.port ?? ''}: address already in use`;
  if (e?.code === 'EACCES') return `cannot listen on ${e.address ?? ''}:${e.port ?? ''}: permission denied`;
  if (e?.code === 'EADDRNOTAVAIL') return `cannot listen on ${e.address ?? ''}: address not available`;
  return error instanceof Error ? error.message : String(error);
}

interface Demo {
  readonly rounds: number;
  startClient(url: string): DemoClient;
  stopTarget(): Promise<void>;
}

interface BrowserRun {
  readonly chromium: string;
  readonly url: string | null;
}

async function run(options: Options, demo: Demo | null, browser: BrowserRun | null = null): Promise<void> {
  const tty = process.stdout.isTTY === true && process.stdin.isTTY === true;
  const headless = options.headless || !tty;
  let prepared: PreparedFrontEnds;
  let tls: PreparedTls;
  try {
    prepared = await prepareFrontEnds(options, headless);
    tls = await prepareTls(options.tls, options.target);
  } catch (error) {
    fail(error);
  }
  let proxy: RunningProxy;
  try {
    proxy = await createProxy({
      listen: options.listen,
      target: options.target,
      keepHost: options.keepHost,
      deflate: options.deflate,
      strict: options.strict,
      limits: { maxPreview: options.maxPreview, maxMessage: options.maxMessage },
      ...(prepared.faults === null ? {} : { admit: prepared.faults.admit }),
      dial: tls.dial,
      ...(tls.listenTls === undefined ? {} : { listenTls: tls.listenTls }),
      ...(tls.forward === undefined ? {} : { forward: tls.forward }),
    });
  } catch (error) {
    fail(error);
  }
  const target = options.target;
  const unreachable = demo === null && target !== null ? await probeTarget({ ...target, host: tls.resolve(target.host) }) : null;
  if (unreachable !== null) {
    await proxy.close();
    fail(new Error(unreachable));
  }
  const jsonl = options.logFile === null ? null : await (await import('../output/jsonl.js')).attachJsonl(proxy.bus, options.logFile, { bytes: options.logBuffer }).catch((e: Error) => fail(new Error(`--log-file: ${e.message}`)));
  const exports = await attachExports(proxy, options, packageVersion()).catch((e: unknown) => fail(e));
  // Formatted and written by a thread of its own; a reader that goes away ends the program quietly.
  const printer = headless ? attachPrinterThread(proxy.bus, exports.stdoutTaken ? 2 : 1, { color: options.color && process.stdout.isTTY === true }, () => process.exit(0)) : null;
  const frontEnds: FrontEnds = prepared.start(proxy);
  await prepared.startControl().catch((e: Error) => fail(new Error(`--control: ${describeStartError(e)}`)));
  const scheme = options.tls.listen ? 'wss://' : '';
  const mode = target === null ? `, a forward (HTTP CONNECT) proxy${tls.ca === null ? '' : `, CA ${tls.ca.certPath}`}` : `, relaying to ${proxy.target}`;
  // --insecure is said whether or not the UI takes the terminal.
  if (headless || options.tls.insecure) process.stderr.write(`wsproxy: listening on ${scheme}${proxy.listening}${mode}${options.tls.insecure ? ' (--insecure: target certificates NOT verified)' : ''}\n`);
  if (headless) for (const note of tls.notes) process.stderr.write(`wsproxy: ${note}\n`);

  let stopping = false;
  const shutdown = async (code: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    client?.stop();
    await frontEnds.close();
    await proxy.close();
    await demo?.stopTarget();
    // The writers' last words (what they had to leave out) still reach the printer and the log.
    await exports.close();
    await printer?.close();
    await jsonl?.close();
    await tls.close();
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));
  const client = demo === null ? null : demo.startClient(`ws://${proxy.listening}/demo`);
  if (client !== null && Number.isFinite(demo!.rounds)) void client.finished.then(() => setTimeout(() => void shutdown(0), 200));
  void frontEnds.quit.then(() => shutdown(0));
  if (browser !== null) {
    const listen = proxy.listening.replace(/^0\.0\.0\.0:/, '127.0.0.1:').replace(/^\[::\]:/, '[::1]:');
    const { launchChromium } = await import('../tls/browser.js');
    const launched = launchChromium(browser.chromium, { proxy: listen, spki: tls.ca!.spkiSha256, url: browser.url });
    if (headless) process.stderr.write(`wsproxy: opened ${browser.chromium}${browser.url === null ? '' : ` at ${browser.url}`}; closing it stops wsproxy\n`);
    // Closing the browser stops the proxy; Ctrl-C stops both. A browser that failed says why.
    const started = Date.now();
    void launched.exited.then((code) => {
      if (code !== null && code !== 0) {
        const why = launched.lastWords();
        process.stderr.write(`wsproxy: ${browser.chromium} exited with code ${code} after ${((Date.now() - started) / 1000).toFixed(1)} s${why === '' ? '' : `: ${escapeForTerminal(why)}`}\n`);
      }
      return shutdown(code !== null && code !== 0 ? 1 : 0);
    });
    process.once('exit', () => launched.stop());
  }
}

/**
 * A reader that goes away (`wsproxy --help | head`, a closed `--pcap -` pipe) ends the program as
 * it ends other command-line tools: quietly, not with a stack trace.
 */
function quietOnClosedOutput(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
      process.exit(0);
    });
  }
}
