/**
 * Subcommands that work on recordings: `wsproxy stats`, `wsproxy har`, `wsproxy replay`.
 * Usage errors exit 2, like the proxy's own flags. The writers and readers behind them (and the
 * `ws` client that replays) are imported when a command or flag uses them, not by every proxy.
 */
import type { Command } from 'commander';
import type { RunningProxy } from '../proxy/server.js';
import type { HarWriter } from '../export/har-writer.js';
import type { RecordedSession } from '../export/log-reader.js';
import { reconnectText } from '../output/fault-format.js';
import type { PcapWriter } from '../export/pcap-writer.js';
import fs from 'node:fs';
import { FdWriter } from '../output/fd-writer.js';
import type { ReplaySpeed } from '../export/replay.js';
import type { Options } from './options.js';
import type { SessionStats } from '../export/stats.js';
import { escapeForTerminal, escapeJsonText } from '../output/terminal-text.js';

function out(text: string): void {
  process.stdout.write(text);
}

export interface Exports {
  /** The pcap goes to stdout: the headless printer must write elsewhere. */
  readonly stdoutTaken: boolean;
  close(): Promise<void>;
}

/** Starts the writers the flags ask for (--har, --pcap); throws with the flag named when one cannot start. */
export async function attachExports(proxy: RunningProxy, options: Pick<Options, 'har' | 'harControl' | 'pcap'>, version: string): Promise<Exports> {
  let har: HarWriter | null = null;
  if (options.har !== null) {
    try {
      const { attachHar } = await import('../export/har-writer.js');
      har = await attachHar(proxy.bus, { path: options.har, control: options.harControl, version });
    } catch (error) {
      throw new Error(`--har: ${(error as Error).message}`);
    }
  }
  let pcap: PcapWriter | null = null;
  if (options.pcap !== null) {
    const toStdout = options.pcap === '-';
    // stdout through a writer thread (output/fd-writer.ts): a slow reader fills the writer's
    // bounded queue, and no write to a file or terminal runs on the relay's thread; a reader that
    // leaves (wireshark closed) ends the capture.
    const out = toStdout ? stdoutWriter() : fs.createWriteStream(options.pcap);
    if (!toStdout) {
      await new Promise<void>((resolve, reject) => {
        out.once('open', () => resolve());
        out.once('error', (e: Error) => reject(new Error(`--pcap: ${e.message}`)));
      });
    }
    // A reader that goes away (wireshark closed) ends the capture, not the proxy.
    out.on('error', () => undefined);
    const { attachPcap } = await import('../export/pcap-writer.js');
    pcap = attachPcap(proxy.bus, { out, endStream: !toStdout, proxyAddress: proxy.listening });
  }
  return {
    stdoutTaken: options.pcap === '-',
    async close() {
      await har?.close();
      await pcap?.close();
    },
  };
}

export function addExportCommands(program: Command, fail: (error: unknown) => never, version: string): void {
  program
    .command('stats')
    .description('per-session statistics of a JSONL log (--log-file)')
    .argument('<log>', 'a JSONL log written with --log-file')
    .option('--json', 'one JSON object per session instead of the table')
    .option('--session <n>', 'only this session')
    .action(async (log: string, opts: { json?: boolean; session?: string }) => {
      let sessions: RecordedSession[];
      let reconnects: readonly Record<string, unknown>[];
      const [{ readLogParts }, { statsFromRecords }, { formatStatsTable }] = await Promise.all([import('../export/log-reader.js'), import('../export/stats.js'), import('../export/stats-text.js')]);
      // The recorded stats of a session when its close carried them, else rebuilt from its frames.
      const sessionStats = (s: RecordedSession): SessionStats => s.close?.stats ?? statsFromRecords(s.time, s.frames, s.messages, s.close, s.faults);
      try {
        const parts = await readLogParts(log);
        sessions = [...parts.sessions.values()];
        reconnects = parts.reconnects;
      } catch (error) {
        fail(error);
      }
      if (opts.session !== undefined) sessions = sessions.filter((s) => String(s.session) === opts.session);
      for (const s of sessions) {
        const stats = sessionStats(s);
        // The log gives back exactly what the peers sent: escaped again before it reaches a terminal.
        if (opts.json === true) out(`${escapeJsonText(JSON.stringify({ session: s.session, client: s.client, target: s.target, path: s.path, stats }))}\n`);
        else out(`#${s.session} ${escapeForTerminal(s.client)} → ${escapeForTerminal(s.target)} ${escapeForTerminal(s.path)}\n${formatStatsTable(stats).join('\n')}\n\n`);
      }
      // Reconnect reports after storms (docs/faults.md) belong to no session.
      if (opts.session === undefined && reconnects.length > 0) {
        if (opts.json === true) for (const r of reconnects) out(`${escapeJsonText(JSON.stringify(r))}\n`);
        else out(`reconnects after storms\n${reconnects.map((r) => `  ${reconnectText(r)}`).join('\n')}\n`);
      }
    });

  program
    .command('har')
    .description('convert a JSONL log (--log-file) to HAR 1.2, as --har writes it')
    .argument('<log>', 'a JSONL log written with --log-file')
    .option('-o, --output <file>', 'write here (atomically) instead of stdout')
    .option('--control', 'include ping, pong and close frames')
    .option('--session <n>', 'only this session')
    .action(async (log: string, opts: { output?: string; control?: boolean; session?: string }) => {
      let sessions: RecordedSession[];
      const { readLog } = await import('../export/log-reader.js');
      try {
        sessions = await readLog(log);
      } catch (error) {
        fail(error);
      }
      if (opts.session !== undefined) sessions = sessions.filter((s) => String(s.session) === opts.session);
      const [{ harDocument }, { harEntryFromLog }, { writeAtomic }] = await Promise.all([import('../export/har.js'), import('../export/har-from-log.js'), import('../export/har-writer.js')]);
      const text = JSON.stringify(harDocument(sessions.map((s) => harEntryFromLog(s, { control: opts.control === true })), version), null, 1);
      if (opts.output === undefined) out(`${escapeJsonText(text)}\n`);
      else await writeAtomic(opts.output, text).catch((e: Error) => fail(new Error(`-o: ${e.message}`)));
    });

  program
    .command('replay')
    .description('replay a recorded session against a server and diff its answers (exit 0 same, 1 different, 2 error)')
    .argument('<file>', 'a JSONL log (--log-file) or a HAR (--har, or from Chrome)')
    .requiredOption('--target <url>', 'ws://HOST:PORT of the server (or of a running wsproxy in front of it)')
    .option('--session <n>', 'which session of the recording (default: the first)')
    .option('--speed <mode>', '1: recorded timing; 0: as fast as possible; wait: each after the answers recorded before it', '1')
    .option('--control', 'send the recorded pings, pongs and close too, and compare the server\'s')
    .option('--ignore <path>', 'leave this JSON path out of the comparison, e.g. $.ts or $..id (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--timeout <ms>', 'how long to wait for an answer that does not come', '2000')
    .action(async (file: string, opts: { target: string; session?: string; speed: string; control?: boolean; ignore: string[]; timeout: string }) => {
      const usage = (text: string): void => {
        process.stderr.write(`wsproxy replay: ${escapeForTerminal(text)}\n`);
        process.exitCode = 2;
      };
      if (opts.speed !== '1' && opts.speed !== '0' && opts.speed !== 'wait') return usage(`--speed: expected 1, 0 or wait, got "${opts.speed}"`);
      if (!/^\d+$/.test(opts.timeout)) return usage(`--timeout: expected milliseconds, got "${opts.timeout}"`);
      try {
        const [{ parsePath }, { readRecording }, { replay }] = await Promise.all([import('../export/json-diff.js'), import('../export/recording.js'), import('../export/replay.js')]);
        opts.ignore.forEach(parsePath);
        const sessions = await readRecording(file);
        const rec = opts.session === undefined ? sessions[0] : sessions.find((s) => String(s.session) === opts.session);
        if (rec === undefined) return usage(opts.session === undefined ? `${file}: no WebSocket session in it` : `${file}: no session ${opts.session} (there are: ${sessions.map((s) => s.session).join(', ') || 'none'})`);
        const result = await replay(rec, { target: opts.target, speed: opts.speed as ReplaySpeed, control: opts.control === true, ignore: opts.ignore, timeoutMs: Number(opts.timeout) });
        out(`${result.report.join('\n')}\n`);
        process.exitCode = result.ok ? 0 : 1;
      } catch (error) {
        usage(error instanceof Error ? error.message : String(error));
      }
    });
}

function stdoutWriter(): FdWriter {
  const writer: FdWriter = new FdWriter(1, () => writer.destroy());
  return writer;
}
