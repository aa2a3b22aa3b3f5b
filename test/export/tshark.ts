/** Reading a capture back with tshark (Debian's, installed by .ci/run); tests skip loudly without it. */
import { execFileSync, spawnSync } from 'node:child_process';

export const HAVE_TSHARK = spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status === 0;

/** One row per packet matching `filter`, one column per field; repeated fields joined with "|". */
export function tsharkFields(file: string, filter: string, fields: readonly string[], prefs: readonly string[] = []): string[][] {
  const args = ['-r', file, '-Y', filter, '-T', 'fields', '-E', 'aggregator=|', '-E', 'separator=/t', ...prefs.flatMap((p) => ['-o', p]), ...fields.flatMap((f) => ['-e', f])];
  const out = execFileSync('tshark', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 * 1024 * 1024, timeout: 60_000 });
  return out.split('\n').filter((l) => l !== '').map((l) => l.split('\t'));
}
