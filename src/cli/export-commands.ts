/**
 * Subcommands that work on recordings: `wsproxy stats`, `wsproxy har`, `wsproxy replay`.
 * Usage errors exit 2, like the proxy's own flags.
 */
import type { Command } from 'commander';
import { readLog, type RecordedSession } from '../export/log-reader.js';
import { statsFromRecords, type SessionStats } from '../export/stats.js';
import { formatStatsTable } from '../export/stats-text.js';

/** The recorded stats of a session when its close carried them, else rebuilt from its frames. */
export function sessionStats(s: RecordedSession): SessionStats {
  if (s.close?.stats != null) return s.close.stats;
  return statsFromRecords(s.time, s.frames, s.messages, s.close);
}

function out(text: string): void {
  process.stdout.write(text);
}

export function addExportCommands(program: Command, fail: (error: unknown) => never): void {
  program
    .command('stats')
    .description('per-session statistics of a JSONL log (--log-file)')
    .argument('<log>', 'a JSONL log written with --log-file')
    .option('--json', 'one JSON object per session instead of the table')
    .option('--session <n>', 'only this session')
    .action(async (log: string, opts: { json?: boolean; session?: string }) => {
      let sessions: RecordedSession[];
      try {
        sessions = await readLog(log);
      } catch (error) {
        fail(error);
      }
      if (opts.session !== undefined) sessions = sessions.filter((s) => String(s.session) === opts.session);
      for (const s of sessions) {
        const stats = sessionStats(s);
        if (opts.json === true) out(`${JSON.stringify({ session: s.session, client: s.client, target: s.target, path: s.path, stats })}\n`);
        else out(`#${s.session} ${s.client} → ${s.target} ${s.path}\n${formatStatsTable(stats).join('\n')}\n\n`);
      }
    });
}
